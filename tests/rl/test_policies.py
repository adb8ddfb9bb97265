import gymnasium as gym
import numpy as np
import pytest
import torch

from gail_pipeline.rl.policies import (
    CategoricalPolicy,
    GaussianPolicy,
    ValueFunction,
    load_policy,
    make_policy,
    save_policy,
)


def _perturb(module):
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.3 * torch.randn_like(p))


def test_gaussian_matches_torch_distributions():
    torch.manual_seed(0)
    policy = GaussianPolicy(3, 2, (8,))
    _perturb(policy)
    obs, actions = torch.randn(5, 3), torch.randn(5, 2)
    params = policy.dist_params(obs)
    mean, log_std = params[:, :2], params[:, 2:]
    ref = torch.distributions.Normal(mean, log_std.exp())
    torch.testing.assert_close(policy.log_prob(params, actions), ref.log_prob(actions).sum(-1))
    torch.testing.assert_close(policy.entropy(params), ref.entropy().sum(-1))
    other = GaussianPolicy(3, 2, (8,))
    _perturb(other)
    new = other.dist_params(obs)
    ref_new = torch.distributions.Normal(new[:, :2], new[:, 2:].exp())
    torch.testing.assert_close(
        policy.kl(params, new), torch.distributions.kl_divergence(ref, ref_new).sum(-1)
    )


def test_categorical_matches_torch_distributions():
    torch.manual_seed(0)
    policy = CategoricalPolicy(3, 4, (8,))
    _perturb(policy)
    obs = torch.randn(6, 3)
    params = policy.dist_params(obs)
    ref = torch.distributions.Categorical(logits=params)
    actions = torch.tensor([0, 1, 2, 3, 0, 1])
    torch.testing.assert_close(policy.log_prob(params, actions), ref.log_prob(actions))
    torch.testing.assert_close(policy.entropy(params), ref.entropy())
    assert torch.allclose(policy.kl(params, params), torch.zeros(6), atol=1e-7)


def test_output_layer_starts_at_zero():
    policy = make_policy(gym.spaces.Box(-1, 1, (3,)), gym.spaces.Discrete(3), (16, 16))
    probs = torch.exp(policy.dist_params(torch.randn(4, 3)))
    torch.testing.assert_close(probs, torch.full((4, 3), 1 / 3))


def test_deterministic_actions_are_mean_and_argmax():
    torch.manual_seed(1)
    policy = GaussianPolicy(2, 1, (4,))
    _perturb(policy)
    obs = np.random.default_rng(0).normal(size=(3, 2)).astype(np.float32)
    np.testing.assert_allclose(
        policy.act(obs, deterministic=True),
        policy.dist_params(torch.as_tensor(obs))[:, :1].detach(),
        rtol=1e-5,
        atol=1e-6,  # numpy and torch round float32 products differently
    )
    discrete = make_policy(gym.spaces.Box(-1, 1, (2,)), gym.spaces.Discrete(4), (8,))
    _perturb(discrete)
    np.testing.assert_array_equal(
        discrete.act(obs, deterministic=True),
        discrete.dist_params(torch.as_tensor(obs)).argmax(-1).numpy(),
    )


def test_numpy_sampling_follows_the_policys_distribution():
    # The sampler acts through a numpy snapshot; its samples must follow the torch distribution
    # whose log-likelihood TRPO differentiates.
    torch.manual_seed(2)
    obs = np.random.default_rng(1).normal(size=(1, 3)).astype(np.float32)
    many = np.repeat(obs, 40_000, axis=0)
    rng = np.random.default_rng(0)

    discrete = make_policy(gym.spaces.Box(-1, 1, (3,)), gym.spaces.Discrete(3), (8,))
    _perturb(discrete)
    probs = torch.exp(discrete.dist_params(torch.as_tensor(obs)))[0].detach().numpy()
    counts = np.bincount(discrete.snapshot().act(many, rng=rng), minlength=3) / len(many)
    np.testing.assert_allclose(counts, probs, atol=0.01)

    gaussian = GaussianPolicy(3, 2, (8,))
    _perturb(gaussian)
    with torch.no_grad():
        gaussian.log_std.copy_(torch.tensor([-1.0, 0.5]))
    params = gaussian.dist_params(torch.as_tensor(obs))[0].detach().numpy()
    samples = gaussian.snapshot().act(many, rng=rng)
    np.testing.assert_allclose(samples.mean(0), params[:2], atol=0.03)
    np.testing.assert_allclose(samples.std(0), np.exp(params[2:]), rtol=0.02)


@pytest.mark.parametrize("action_space", [gym.spaces.Discrete(3), gym.spaces.Box(-1, 1, (2,))])
def test_save_load_round_trip(tmp_path, action_space):
    torch.manual_seed(0)
    policy = make_policy(gym.spaces.Box(-1, 1, (5,)), action_space, (7, 7))
    _perturb(policy)
    policy.obs_normalizer.update(np.random.default_rng(0).normal(size=(20, 5)))
    path = tmp_path / "policy.pt"
    save_policy(policy, path, {"env_id": "X-v0", "seed": 3})
    loaded = load_policy(path)
    obs = torch.randn(4, 5)
    torch.testing.assert_close(loaded.dist_params(obs), policy.dist_params(obs))
    assert loaded.metadata == {"env_id": "X-v0", "seed": 3}
    assert type(loaded) is type(policy)


def test_load_policy_rejects_other_files(tmp_path):
    path = tmp_path / "junk.pt"
    path.write_bytes(b"not a policy")
    with pytest.raises(ValueError, match="junk.pt"):
        load_policy(path)


def test_value_target_rescaling_preserves_predictions():
    torch.manual_seed(0)
    vf = ValueFunction(3, (8,), max_episode_steps=100)
    _perturb(vf.net)
    obs, t = torch.randn(10, 3), torch.arange(10)
    before = vf(obs, t)
    vf.set_target_stats(50.0, 7.0)
    torch.testing.assert_close(vf(obs, t), before, rtol=1e-5, atol=1e-4)
