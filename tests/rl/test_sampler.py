from functools import partial

import gymnasium as gym
import numpy as np
import pytest

from gail_pipeline.rl.policies import RandomPolicy, make_policy
from gail_pipeline.rl.sampler import RolloutSampler
from gail_pipeline.tasks import TaskSpec, make_env

CARTPOLE_20 = TaskSpec(name="cartpole", env_id="CartPole-v1", max_episode_steps=20)


def _policy(sampler):
    return make_policy(sampler.observation_space, sampler.action_space, (8,))


def test_whole_trajectories_totalling_at_least_min_steps():
    sampler = RolloutSampler(partial(make_env, CARTPOLE_20), num_envs=3, seed=0)
    trajs = sampler.sample(_policy(sampler), min_steps=100)
    total = sum(len(t) for t in trajs)
    assert total >= 100
    assert total < 100 + 3 * 20  # at most one in-flight episode per env past the budget
    for t in trajs:
        assert t.terminated or t.truncated
        assert len(t) <= 20
        np.testing.assert_array_equal(t.steps, np.arange(len(t)))


def test_truncation_and_termination_are_told_apart():
    sampler = RolloutSampler(partial(make_env, CARTPOLE_20), num_envs=2, seed=0)
    trajs = sampler.sample(_policy(sampler), num_episodes=30)
    assert len(trajs) == 30
    for t in trajs:
        assert t.truncated == (len(t) == 20 and not t.terminated)
        assert t.final_observation is not None
    assert any(t.truncated for t in trajs) and any(t.terminated for t in trajs)


def test_same_seed_same_trajectories():
    def run(seed):
        sampler = RolloutSampler(partial(make_env, CARTPOLE_20), num_envs=4, seed=seed)
        import torch

        torch.manual_seed(0)
        policy = _policy(sampler)
        return sampler.sample(policy, min_steps=200)

    a, b, c = run(1), run(1), run(2)
    assert [len(t) for t in a] == [len(t) for t in b]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.observations, y.observations)
        np.testing.assert_array_equal(x.actions, y.actions)
    assert any(not np.array_equal(x.observations, y.observations) for x, y in zip(a, c))


def test_box_actions_are_clipped_for_the_env_but_recorded_raw():
    task = TaskSpec(name="pendulum", env_id="Pendulum-v1", max_episode_steps=10)
    sampler = RolloutSampler(partial(make_env, task), num_envs=2, seed=0)
    policy = _policy(sampler)
    import torch

    with torch.no_grad():
        policy.log_std.fill_(3.0)  # σ ≈ 20: most samples fall outside [-2, 2]
    trajs = sampler.sample(policy, num_episodes=2)
    actions = np.concatenate([t.actions for t in trajs])
    assert np.abs(actions).max() > 2.0  # raw samples kept for the log-likelihood


def test_random_policy_reference():
    sampler = RolloutSampler(partial(make_env, CARTPOLE_20), num_envs=2, seed=0)
    env = make_env(CARTPOLE_20)
    trajs = sampler.sample(RandomPolicy(env.action_space, 0), num_episodes=5)
    assert len(trajs) == 5
    assert all(t.actions.dtype == np.int64 for t in trajs)


def test_rejects_bad_arguments():
    sampler = RolloutSampler(partial(make_env, CARTPOLE_20), num_envs=1, seed=0)
    with pytest.raises(ValueError, match="exactly one"):
        sampler.sample(_policy(sampler))
    with pytest.raises(ValueError, match="num_envs"):
        RolloutSampler(partial(make_env, CARTPOLE_20), num_envs=0, seed=0)
    assert isinstance(sampler.action_space, gym.spaces.Discrete)
