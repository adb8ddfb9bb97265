import numpy as np
import pytest

from gail_pipeline.rl.gae import compute_gae, discount_cumsum


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
