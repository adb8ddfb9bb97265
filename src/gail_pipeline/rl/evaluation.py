"""Measuring a policy's true return."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np

from gail_pipeline.rl.sampler import Actor, RolloutSampler, episode_returns

__all__ = ["evaluate"]


def evaluate(
    make_env: Callable[[], gym.Env],
    actor: Actor,
    episodes: int,
    seed: int,
    deterministic: bool = True,
    num_envs: int = 10,
    num_workers: int | None = None,
) -> np.ndarray:
    """Undiscounted returns of ``episodes`` episodes (deterministic actions by default: the
    Gaussian's mean, the softmax's argmax), seeded. ``num_workers``: the processes that step the
    MuJoCo environments (:func:`gail_pipeline.rl.vector.make_env_batch`; default: the CPU count;
    1: this process alone); the returns are the same whatever their number."""
    sampler = RolloutSampler(make_env, min(num_envs, episodes), seed, num_workers=num_workers)
    try:
        trajectories = sampler.sample(actor, num_episodes=episodes, deterministic=deterministic)
    finally:
        sampler.close()
    return episode_returns(trajectories)
