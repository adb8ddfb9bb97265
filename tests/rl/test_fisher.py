"""The closed-form Fisher-vector products against the KL's explicit Hessian, and TRPO with them."""

import pytest
import torch
from torch import nn
from torch.nn.utils import parameters_to_vector

from gail_pipeline.config import parse_settings
from gail_pipeline.imitation.gail import Discriminator
from gail_pipeline.rl import policies
from gail_pipeline.rl.fisher import (
    MLPLinearization,
    policy_fisher_product,
    value_fisher_product,
)
from gail_pipeline.rl.normalizer import RunningNormalizer
from gail_pipeline.rl.policies import (
    CategoricalPolicy,
    GaussianPolicy,
    Tanh,
    ValueFunction,
)
from gail_pipeline.rl.trpo import TRPOConfig, fit_value_function, trpo_step
from tests.rl.problems import policy_step_problem


def _perturbed(module: nn.Module, scale: float = 0.5) -> nn.Module:
    torch.manual_seed(0)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn_like(p))
    return module


def _hessian_of(module: nn.Module, loss_of_output, inputs: tuple) -> torch.Tensor:
    """The explicit Hessian of ``loss_of_output(module(*inputs))`` in the trainable parameters."""
    names = [n for n, p in module.named_parameters() if p.requires_grad]
    params = [p for p in module.parameters() if p.requires_grad]
    shapes = [p.shape for p in params]

    def loss_of(flat: torch.Tensor) -> torch.Tensor:
        chunks = torch.split(flat, [s.numel() for s in shapes])
        weights = {n: c.view(s) for n, c, s in zip(names, chunks, shapes)}
        return loss_of_output(torch.func.functional_call(module, weights, inputs, strict=False))

    theta = parameters_to_vector(params).detach().clone()
    return torch.autograd.functional.hessian(loss_of, theta)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("policy_class", [GaussianPolicy, CategoricalPolicy])
def test_policy_fisher_product_is_the_hessian_of_the_mean_kl(policy_class, activation):
    policy = _perturbed(policy_class(3, 2, (5, 4), activation=activation)).double()
    obs = torch.randn(11, 3, dtype=torch.float64)
    policy.obs_normalizer.update(obs)
    old = policy.dist_params(obs).detach()
    policy.forward = policy.dist_params  # functional_call runs forward()
    hessian = _hessian_of(policy, lambda new: policy.kl(old, new).mean(), (obs,))
    v = torch.randn(len(hessian), dtype=torch.float64)
    fisher = policy_fisher_product(policy, obs)
    assert fisher is not None
    torch.testing.assert_close(fisher(v), hessian @ v, rtol=1e-9, atol=1e-11)


def test_value_fisher_product_is_the_hessian_of_the_value_trust_region():
    value_fn = _perturbed(ValueFunction(3, (5, 4))).double()
    obs = torch.randn(9, 3, dtype=torch.float64)
    steps = torch.arange(9)
    value_fn.obs_normalizer.update(obs)
    old = value_fn.normalized(obs, steps).detach()
    value_fn.forward = value_fn.normalized
    hessian = _hessian_of(value_fn, lambda new: 0.5 * (new - old).pow(2).mean(), (obs, steps))
    v = torch.randn(len(hessian), dtype=torch.float64)
    fisher = value_fisher_product(value_fn, obs, steps)
    assert fisher is not None
    torch.testing.assert_close(fisher(v), hessian @ v, rtol=1e-9, atol=1e-11)


def test_the_closed_form_declines_what_it_does_not_cover():
    policy = GaussianPolicy(3, 2, (4,))
    obs = torch.randn(5, 3)
    policy.log_std.requires_grad_(False)  # the parameter order TRPO uses no longer matches
    assert policy_fisher_product(policy, obs) is None
    assert not MLPLinearization.supports(nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 1)))
    assert not MLPLinearization.supports(nn.Sequential(nn.Linear(3, 4), Tanh()))
    with pytest.raises(TypeError, match="not an MLP"):
        MLPLinearization(nn.Sequential(nn.Linear(3, 4), nn.ELU(), nn.Linear(4, 1)), obs)


@pytest.mark.parametrize("discrete", [True, False])
def test_trpo_takes_the_same_step_with_either_fisher_product(discrete):
    steps = {}
    for method in ("analytic", "autograd"):
        policy, obs, actions, advantages = policy_step_problem(discrete)
        config = TRPOConfig(fvp_method=method)
        stats = trpo_step(policy, obs, actions, advantages, config, torch.Generator().manual_seed(0))
        assert stats["step_accepted"] == 1.0
        steps[method] = parameters_to_vector(policy.parameters()).detach()
    torch.testing.assert_close(steps["analytic"], steps["autograd"], rtol=1e-4, atol=1e-6)


def test_value_fit_takes_the_same_step_with_either_fisher_product():
    torch.manual_seed(3)
    obs, steps = torch.randn(400, 4), torch.randint(0, 100, (400,))
    targets = obs[:, 0] * 3 + steps / 50
    fitted = {}
    for method in ("analytic", "autograd"):
        torch.manual_seed(1)
        value_fn = ValueFunction(4, (16, 16), max_episode_steps=100)
        value_fn.obs_normalizer.update(obs)
        stats = fit_value_function(
            value_fn, obs, steps, targets, TRPOConfig(fvp_method=method), torch.Generator().manual_seed(0)
        )
        assert stats["value_explained_variance"] > stats["value_explained_variance_before"]
        fitted[method] = parameters_to_vector(value_fn.parameters()).detach()
    torch.testing.assert_close(fitted["analytic"], fitted["autograd"], rtol=1e-4, atol=1e-6)


def test_tanh_is_tanh_to_every_order():
    x = torch.linspace(-30, 30, 100_001)
    torch.testing.assert_close(Tanh()(x), torch.tanh(x), rtol=0, atol=3e-7)
    x64 = torch.randn(40, 3, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(Tanh()(x64), torch.tanh(x64), rtol=0, atol=1e-15)
    assert torch.autograd.gradcheck(Tanh(), (x64,))
    assert torch.autograd.gradgradcheck(Tanh(), (x64,))
    assert torch.isnan(Tanh()(torch.tensor([float("nan")]))).all()


def test_config_names_an_unknown_fisher_product():
    with pytest.raises(ValueError, match="trpo.fvp_method"):
        parse_settings(TRPOConfig, {"fvp_method": "exact"}, "trpo")


def test_an_mlp_in_chunks_is_the_same_function_to_second_order():
    torch.manual_seed(0)
    chunked = _perturbed(GaussianPolicy(3, 2, (8, 8))).double()
    chunked.net.chunk_rows = 16  # 100 rows: 7 chunks (the policy's own chunks hold 4,096 rows)
    whole = GaussianPolicy(3, 2, (8, 8)).double()
    whole.load_state_dict(chunked.state_dict())
    whole.net.chunk_rows = 10**9
    obs = torch.randn(100, 3, dtype=torch.float64)
    v = torch.randn(sum(p.numel() for p in whole.parameters()), dtype=torch.float64)
    results = []
    for policy in (chunked, whole):
        out = policy.dist_params(obs)
        params = list(policy.parameters())
        grad = torch.autograd.grad(out.pow(2).sum(), params, create_graph=True)
        flat = torch.cat([g.reshape(-1) for g in grad])
        hvp = torch.cat([g.reshape(-1) for g in torch.autograd.grad(flat @ v, params)])
        results.append((out.detach(), flat.detach(), hvp))
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_networks_in_row_chunks_compute_what_they_compute_whole(monkeypatch):
    torch.manual_seed(0)
    obs, steps = torch.randn(100, 3, dtype=torch.float64), torch.arange(100)
    actions = torch.randn(100, 2, dtype=torch.float64)
    policy = _perturbed(GaussianPolicy(3, 2, (8,))).double()
    value_fn = _perturbed(ValueFunction(3, (8,))).double()
    discriminator = _perturbed(Discriminator(3, 2, False, (8,))).double()
    for module in (policy, value_fn, discriminator):
        for buffer_name in ("mean", "var"):  # standardisers that clip some inputs
            for normalizer in [m for m in module.modules() if isinstance(m, RunningNormalizer)]:
                getattr(normalizer, buffer_name).copy_(
                    torch.rand_like(getattr(normalizer, buffer_name)) * 0.3
                )
    outputs = {}
    for rows in (10**9, 16):
        monkeypatch.setattr(policies, "CHUNK_ROWS", rows)
        results = []
        for module, out in (
            (policy, lambda: policy.dist_params(obs)),
            (value_fn, lambda: value_fn.normalized(obs, steps)),
            (discriminator, lambda: discriminator(obs, actions)),
        ):
            y = out()
            grads = torch.autograd.grad(y.pow(2).sum(), list(module.parameters()))
            results.append((y.detach(), *grads))
        outputs[rows] = results
    for whole, chunked in zip(outputs[10**9], outputs[16]):
        for a, b in zip(whole, chunked):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
