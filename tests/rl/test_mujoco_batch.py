"""The batched MuJoCo stepper gives the bits each env's own ``step`` gives."""

from __future__ import annotations

import functools

import gymnasium as gym
import numpy as np
import pytest
import torch

from gail_pipeline.rl.mujoco_batch import batched_stepper
from gail_pipeline.rl.vector import InProcessEnvs

CASES = [  # env id, kwargs, whether episodes terminate in the run
    ("Hopper-v5", {}, True),
    (
        "Hopper-v5",
        {
            "exclude_current_positions_from_observation": False,
            "terminate_when_unhealthy": False,
            "healthy_reward": 0.5,
            "healthy_z_range": (1.2, float("inf")),
            "max_episode_steps": 40,
        },
        False,
    ),
    ("Walker2d-v5", {}, True),
    ("Walker2d-v5", {"ctrl_cost_weight": 0.1, "healthy_z_range": (1.2, 1.8), "max_episode_steps": 12}, True),
    ("HalfCheetah-v5", {"max_episode_steps": 50}, False),
    (
        "HalfCheetah-v5",
        {
            "exclude_current_positions_from_observation": False,
            "forward_reward_weight": 2.0,
            "max_episode_steps": 30,
        },
        False,
    ),
    ("Reacher-v5", {}, False),
    ("Reacher-v5", {"reward_dist_weight": 0.5, "reward_control_weight": 3.0, "max_episode_steps": 20}, False),
    ("Ant-v5", {"healthy_z_range": (0.5, 0.9), "max_episode_steps": 60}, True),
    (
        "Ant-v5",
        {
            "exclude_current_positions_from_observation": False,
            "include_cfrc_ext_in_observation": False,
            "contact_force_range": (-0.5, 0.5),
            "terminate_when_unhealthy": False,
            "healthy_z_range": (0.5, 0.9),
            "max_episode_steps": 40,
        },
        False,
    ),
    ("Humanoid-v5", {"max_episode_steps": 25}, True),
    (
        "Humanoid-v5",
        {
            "exclude_current_positions_from_observation": False,
            "include_cinert_in_observation": False,
            "include_cvel_in_observation": False,
            "contact_cost_range": (0.0, 1e-3),
            "terminate_when_unhealthy": False,
            "max_episode_steps": 30,
        },
        False,
    ),
]


def _run(env_id: str, kwargs: dict, batched: bool, steps: int = 150, num_envs: int = 6):
    envs = InProcessEnvs(
        functools.partial(gym.make, env_id, **kwargs), list(range(num_envs)), batched_physics=batched
    )
    assert envs.batched_physics is batched
    rng = np.random.default_rng(0)
    low, high = envs.action_space.low, envs.action_space.high
    results = [envs.reset()]
    for _ in range(steps):
        # large actions make Hopper and Walker2d fall (terminations); some envs sit a step out
        actions = rng.normal(0, 1.5, (num_envs, *envs.action_space.shape)).astype(np.float32)
        mask = rng.random(num_envs) < 0.8
        results.append(envs.step(np.clip(actions, low, high), mask))
    envs.close()
    return results


@pytest.mark.parametrize(("env_id", "kwargs", "terminates"), CASES)
def test_batched_steps_equal_each_envs_own_step_bit_for_bit(env_id, kwargs, terminates):
    batched = _run(env_id, kwargs, batched=True)
    own = _run(env_id, kwargs, batched=False)
    np.testing.assert_array_equal(batched[0], own[0])
    ended = {"terminated": 0, "truncated": 0}
    for step, (a, b) in enumerate(zip(batched[1:], own[1:], strict=True)):
        for field in ("obs", "rewards", "terminated", "truncated", "final_obs", "valid"):
            np.testing.assert_array_equal(
                getattr(a, field), getattr(b, field), err_msg=f"{env_id} step {step}: {field}"
            )
        ended["terminated"] += int(a.terminated.sum())
        ended["truncated"] += int(a.truncated.sum())
    # the comparison covered episode ends of the kinds this configuration has
    assert (ended["terminated"] > 0) == terminates
    if "max_episode_steps" in kwargs or env_id.startswith("Reacher"):  # (Reacher: 50 steps)
        assert ended["truncated"] > 0


def test_envs_whose_step_may_differ_are_stepped_by_their_own_step():
    def rescaled():
        return gym.wrappers.TransformReward(gym.make("Hopper-v5"), lambda r: 2 * r)

    assert batched_stepper([rescaled(), rescaled()]) is None  # a wrapper that changes step
    assert batched_stepper([gym.make("Hopper-v5", render_mode="rgb_array")]) is None
    assert batched_stepper([gym.make("Swimmer-v5")]) is None  # a class it does not cover
    # envs of one class with different settings are not stepped as one batch
    assert batched_stepper([gym.make("Hopper-v5"), gym.make("Hopper-v5", healthy_reward=2.0)]) is None
    assert batched_stepper([gym.make("Hopper-v5"), gym.make("Hopper-v5")]) is not None

    envs = InProcessEnvs(rescaled, [0, 1])
    assert not envs.batched_physics
    envs.reset()
    result = envs.step(np.zeros((2, 3), dtype=np.float32), np.ones(2, dtype=bool))
    plain = InProcessEnvs(functools.partial(gym.make, "Hopper-v5"), [0, 1])
    plain.reset()
    np.testing.assert_array_equal(
        result.rewards, 2 * plain.step(np.zeros((2, 3), dtype=np.float32), np.ones(2, bool)).rewards
    )


def test_sampler_trajectories_are_the_same_with_and_without_batched_physics():
    from gail_pipeline.rl.policies import make_policy
    from gail_pipeline.rl.sampler import RolloutSampler

    make = functools.partial(gym.make, "Hopper-v5", max_episode_steps=30)
    batches = []
    for batched in (True, False):
        sampler = RolloutSampler(make, 5, seed=3, backend="workers", num_workers=2, batched_physics=batched)
        assert sampler.envs._local.batched_physics is batched
        torch.manual_seed(0)
        policy = make_policy(sampler.observation_space, sampler.action_space, (16, 16))
        batches.append(sampler.sample(policy, min_steps=300))
        sampler.close()
    assert len(batches[0]) == len(batches[1]) > 10
    for a, b in zip(*batches, strict=True):
        for field in ("observations", "actions", "rewards", "final_observation"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
        assert (a.terminated, a.truncated) == (b.terminated, b.truncated)
    assert any(t.terminated for t in batches[0]) and any(t.truncated for t in batches[0])
