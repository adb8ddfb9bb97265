import numpy as np
import pytest

from gail_pipeline.rl.gae import compute_gae, compute_gae_batch, discount_cumsum


def test_discount_cumsum_known_answer():
    np.testing.assert_allclose(discount_cumsum(np.array([1.0, 2.0, 3.0]), 0.5), [2.75, 3.5, 3.0])


def test_gae_terminated_hand_computed():
    # T = 2, γ = 0.9, λ = 0.5, terminated: V after the last step is 0.
    rewards, values = np.array([1.0, 2.0]), np.array([0.5, 1.0])
    adv, ret = compute_gae(rewards, values, bootstrap_value=0.0, gamma=0.9, lam=0.5)
    d0 = 1.0 + 0.9 * 1.0 - 0.5  # 1.4
    d1 = 2.0 + 0.9 * 0.0 - 1.0  # 1.0
    np.testing.assert_allclose(adv, [d0 + 0.45 * d1, d1])
    np.testing.assert_allclose(ret, adv + values)


def test_gae_truncated_bootstraps_on_final_value():
    rewards, values = np.array([1.0, 2.0]), np.array([0.5, 1.0])
    adv, _ = compute_gae(rewards, values, bootstrap_value=3.0, gamma=0.9, lam=0.5)
    d1 = 2.0 + 0.9 * 3.0 - 1.0  # 3.7
    d0 = 1.0 + 0.9 * 1.0 - 0.5
    np.testing.assert_allclose(adv, [d0 + 0.45 * d1, d1])


@pytest.mark.parametrize("gamma", [0.9, 0.995])
def test_gae_lambda_one_with_zero_values_is_discounted_return(gamma):
    rewards = np.arange(1.0, 6.0)
    adv, ret = compute_gae(rewards, np.zeros(5), 0.0, gamma, lam=1.0)
    expected = [sum(gamma**k * r for k, r in enumerate(rewards[t:])) for t in range(5)]
    np.testing.assert_allclose(ret, expected)
    np.testing.assert_allclose(adv, expected)


def test_gae_constant_value_function_lambda_zero_is_td_error():
    rewards, values = np.ones(4), np.full(4, 2.0)
    adv, _ = compute_gae(rewards, values, 2.0, gamma=0.5, lam=0.0)
    np.testing.assert_allclose(adv, 1.0 + 0.5 * 2.0 - 2.0)


def test_batched_gae_equals_one_trajectory_at_a_time():
    rng = np.random.default_rng(0)
    lengths = np.array([5, 1, 12, 3])
    rewards, values = rng.normal(size=lengths.sum()), rng.normal(size=lengths.sum())
    bootstrap = np.array([0.0, 2.5, -1.0, 0.0])
    adv, ret = compute_gae_batch(rewards, values, lengths, bootstrap, gamma=0.99, lam=0.95)
    start = 0
    for length, b in zip(lengths, bootstrap):
        end = start + length
        one_adv, one_ret = compute_gae(rewards[start:end], values[start:end], b, 0.99, 0.95)
        np.testing.assert_allclose(adv[start:end], one_adv, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ret[start:end], one_ret, rtol=1e-12, atol=1e-12)
        start = end
    with pytest.raises(ValueError, match="disagree"):
        compute_gae_batch(rewards[:-1], values[:-1], lengths, bootstrap, 0.99, 0.95)
