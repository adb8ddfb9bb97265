import numpy as np
import pytest
import torch
from torch.nn.utils import parameters_to_vector

from gail_pipeline.config import parse_settings
from gail_pipeline.rl.policies import CategoricalPolicy, ValueFunction
from gail_pipeline.rl.trpo import (
    TRPOConfig,
    conjugate_gradient,
    conjugate_gradient_with_product,
    fisher_vector_product,
    fit_value_function,
    flat_grad,
    line_search,
    trpo_step,
)
from tests.rl.problems import policy_step_problem


def test_conjugate_gradient_solves_spd_system():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(6, 6))
    a = m @ m.T + 6 * np.eye(6)
    b = rng.normal(size=6)
    A, B = torch.tensor(a), torch.tensor(b)
    x = conjugate_gradient(lambda v: A @ v, B, iterations=6)
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a, b), rtol=1e-8, atol=1e-10)


def test_conjugate_gradient_returns_the_product_of_its_solution():
    # Stopped before convergence (3 of 12 iterations), so A x is far from b: the accumulated product
    # must still be A applied to the x returned, which TRPO's step length uses.
    rng = np.random.default_rng(1)
    m = rng.normal(size=(12, 12))
    a = torch.tensor(m @ m.T + 0.1 * np.eye(12))
    b = torch.tensor(rng.normal(size=12))
    x, ax = conjugate_gradient_with_product(lambda v: a @ v, b, iterations=3)
    assert torch.linalg.norm(a @ x - b) > 0.1 * torch.linalg.norm(b)
    np.testing.assert_allclose(ax.numpy(), (a @ x).numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(x.numpy(), conjugate_gradient(lambda v: a @ v, b, iterations=3).numpy())


def test_fisher_vector_product_matches_explicit_hessian():
    torch.manual_seed(0)
    policy = CategoricalPolicy(2, 3, (3,))
    with torch.no_grad():
        for p in policy.parameters():
            p.add_(0.5 * torch.randn_like(p))
    params = list(policy.parameters())
    obs = torch.randn(7, 2)
    old = policy.dist_params(obs).detach()

    names = [name for name, _ in policy.named_parameters()]
    shapes = [p.shape for p in params]

    def kl_of(flat):
        chunks = torch.split(flat, [s.numel() for s in shapes])
        weights = {n: c.view(s) for n, c, s in zip(names, chunks, shapes)}
        new = torch.func.functional_call(policy, weights, (obs,), strict=False)
        return policy.kl(old, new).mean()

    # functional_call runs forward(); make forward the distribution parameters.
    policy.forward = policy.dist_params
    theta = parameters_to_vector(params).detach().clone()
    hessian = torch.autograd.functional.hessian(kl_of, theta)
    kl_grad = flat_grad(policy.kl(old, policy.dist_params(obs)).mean(), params, create_graph=True)
    v = torch.randn_like(theta)
    fvp = fisher_vector_product(kl_grad, params, v, damping=0.1)
    torch.testing.assert_close(fvp, hessian @ v + 0.1 * v, rtol=1e-4, atol=1e-5)


def test_line_search_rejects_steps_over_the_kl_limit():
    # The objective keeps improving along the step, but KL = 0.05 · fraction²:
    # fractions 1 and 0.5 break max_kl = 0.01; 0.25 (KL 0.003) is the first allowed.
    def evaluate(params):
        fraction = float(params[0])
        return fraction, 0.05 * fraction**2

    result = line_search(evaluate, torch.zeros(1), torch.ones(1), expected_improvement=1.0, max_kl=0.01)
    assert result.accepted
    assert result.step_fraction == pytest.approx(0.5**2)
    assert result.kl <= 0.01


def test_line_search_keeps_old_parameters_when_nothing_improves():
    result = line_search(lambda p: (-1.0, 0.0), torch.zeros(2), torch.ones(2), 1.0, max_kl=0.01)
    assert not result.accepted
    assert torch.equal(result.params, torch.zeros(2))


def test_line_search_requires_fraction_of_expected_improvement():
    # Improvement 0.05·f against an expectation of 1·f: below accept_ratio 0.1 at every f.
    result = line_search(lambda p: (0.05 * float(p[0]), 0.0), torch.zeros(1), torch.ones(1), 1.0, 0.01)
    assert not result.accepted


@pytest.mark.parametrize("discrete", [True, False])
def test_trpo_step_improves_surrogate_within_kl(discrete):
    policy, obs, actions, advantages = policy_step_problem(discrete)
    config = TRPOConfig(max_kl=0.01)
    with torch.no_grad():
        old = policy.dist_params(obs)
    stats = trpo_step(policy, obs, actions, advantages, config, torch.Generator().manual_seed(0))
    with torch.no_grad():
        new = policy.dist_params(obs)
        kl = float(policy.kl(old, new).mean())
    assert stats["step_accepted"] == 1.0
    assert stats["surrogate_improvement"] > 0
    assert 0 < kl <= config.max_kl * 1.0001
    assert kl == pytest.approx(stats["policy_kl"], rel=1e-5)


@pytest.mark.parametrize(
    ("key", "value"), [("max_kl", 0.0), ("damping", -1.0), ("cg_iters", 0), ("value_fit", "sgd")]
)
def test_config_rejects_impossible_values(key, value):
    with pytest.raises(ValueError, match=f"trpo.{key}"):
        parse_settings(TRPOConfig, {key: value}, "trpo")


def test_config_rejects_unknown_keys():
    with pytest.raises(ValueError, match="trpo.max_kll"):
        parse_settings(TRPOConfig, {"max_kll": 0.01}, "trpo")


def test_the_adam_value_fit_takes_each_minibatch_from_the_batch_standardised_once():
    # The fit standardises the whole batch once and indexes it; the same fit computing each
    # minibatch's inputs from its own rows (the network's usual forward) must end at the same weights.
    torch.manual_seed(0)
    obs, steps = torch.randn(700, 4) * 3 + 1, torch.randint(0, 200, (700,))
    targets = obs[:, 0] * 5 + steps / 20
    config = TRPOConfig(value_fit="adam", value_adam_epochs=3, value_adam_minibatch=64)

    def value_function() -> ValueFunction:
        torch.manual_seed(1)
        value_fn = ValueFunction(4, (16, 16), max_episode_steps=200)
        value_fn.obs_normalizer.update(obs)
        return value_fn

    fitted = value_function()
    stats = fit_value_function(fitted, obs, steps, targets, config, torch.Generator().manual_seed(2))
    assert stats["value_explained_variance"] > stats["value_explained_variance_before"] + 0.1

    reference = value_function()
    reference.set_target_stats(float(targets.mean()), float(targets.std()))
    normalized = (targets - reference.target_mean) / reference.target_std
    optimizer = torch.optim.Adam(reference.net.parameters(), lr=config.value_adam_lr)
    generator = torch.Generator().manual_seed(2)
    for _ in range(config.value_adam_epochs):
        order = torch.randperm(len(obs), generator=generator)
        for start in range(0, len(obs), config.value_adam_minibatch):
            idx = order[start : start + config.value_adam_minibatch]
            loss = (reference.normalized(obs[idx], steps[idx]) - normalized[idx]).pow(2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    for a, b in zip(fitted.state_dict().values(), reference.state_dict().values()):
        assert torch.equal(a, b)
