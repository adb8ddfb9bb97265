"""Collect whole trajectories from several environments stepped side by side.

The policy's forward pass is batched over the environments that are still running, so the
per-step cost is one small matrix product for all of them plus each environment's own ``step``.

Batches follow the paper: whole trajectories totalling *at least* ``min_steps`` environment
steps. An environment starts a new episode only while the steps collected so far (finished and
in-flight) are below ``min_steps``; the episodes already under way always run to their end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import gymnasium as gym
import numpy as np
import torch

from gail_pipeline.trajectories import Trajectory

__all__ = ["Actor", "RolloutSampler", "episode_returns"]


class Actor(Protocol):
    """Anything that maps a batch of observations to a batch of actions."""

    discrete: bool

    def act(
        self, obs: np.ndarray, deterministic: bool = False, generator: torch.Generator | None = None
    ) -> np.ndarray: ...


class RolloutSampler:
    """Steps ``num_envs`` copies of an environment in this process with a batched policy.

    Args:
        make_env: builds one environment (called ``num_envs`` times).
        num_envs: environments stepped side by side.
        seed: seeds the environments' first resets and the action noise; the same seed and the
            same sequence of calls give the same trajectories.
    """

    def __init__(self, make_env: Callable[[], gym.Env], num_envs: int, seed: int) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        self.envs = [make_env() for _ in range(num_envs)]
        self.num_envs = num_envs
        space = self.envs[0].action_space
        self.discrete = isinstance(space, gym.spaces.Discrete)
        self._low = None if self.discrete else np.asarray(space.low, dtype=np.float32)
        self._high = None if self.discrete else np.asarray(space.high, dtype=np.float32)
        seeds = np.random.SeedSequence(seed).generate_state(num_envs + 1)
        self._reset_seeds: list[int | None] = [int(s) for s in seeds[:num_envs]]
        for env, s in zip(self.envs, seeds[:num_envs], strict=True):
            env.action_space.seed(int(s))
        self.generator = torch.Generator().manual_seed(int(seeds[-1]))

    @property
    def observation_space(self) -> gym.Space:
        return self.envs[0].observation_space

    @property
    def action_space(self) -> gym.Space:
        return self.envs[0].action_space

    @property
    def action_bounds(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(low, high) of a Box action space, None for Discrete."""
        return None if self.discrete else (self._low, self._high)

    def close(self) -> None:
        for env in self.envs:
            env.close()

    def _reset(self, i: int) -> np.ndarray:
        # Each env is seeded once, at its first reset; later resets continue its own RNG stream.
        obs, _ = self.envs[i].reset(seed=self._reset_seeds[i])
        self._reset_seeds[i] = None
        return obs

    def _env_action(self, action: np.ndarray) -> np.ndarray | int:
        if self.discrete:
            return int(action)
        return np.clip(action, self._low, self._high)

    def sample(
        self,
        actor: Actor,
        min_steps: int | None = None,
        num_episodes: int | None = None,
        deterministic: bool = False,
    ) -> list[Trajectory]:
        """Run episodes until ``min_steps`` steps (whole episodes) or ``num_episodes`` episodes.

        Exactly one of ``min_steps`` and ``num_episodes`` must be given. Trajectories are
        returned in the order they finished. Their ``actions`` are the actor's outputs before
        clipping to the action space (what the policy's log-likelihood needs).
        """
        if (min_steps is None) == (num_episodes is None):
            raise ValueError("give exactly one of min_steps and num_episodes")
        budget_steps = min_steps if min_steps is not None else None
        episodes_left = num_episodes if num_episodes is not None else None

        obs_buf: list[list[np.ndarray]] = [[] for _ in self.envs]
        act_buf: list[list[np.ndarray]] = [[] for _ in self.envs]
        rew_buf: list[list[float]] = [[] for _ in self.envs]
        current = np.zeros((self.num_envs, self.observation_space.shape[0]), dtype=np.float32)
        active: list[int] = []
        steps_started = 0  # steps collected so far, finished episodes and in-flight ones

        def may_start() -> bool:
            if episodes_left is not None:
                return episodes_left > 0
            return steps_started < budget_steps

        for i in range(self.num_envs):
            if not may_start():
                break
            current[i] = self._reset(i)
            active.append(i)
            if episodes_left is not None:
                episodes_left -= 1

        finished: list[Trajectory] = []
        while active:
            actions = actor.act(current[active], deterministic, self.generator)
            still_active: list[int] = []
            for j, i in enumerate(active):
                action = actions[j]
                next_obs, reward, terminated, truncated, _ = self.envs[i].step(
                    self._env_action(action)
                )
                obs_buf[i].append(current[i].copy())
                act_buf[i].append(action)
                rew_buf[i].append(float(reward))
                steps_started += 1
                if terminated or truncated:
                    finished.append(
                        Trajectory(
                            observations=np.asarray(obs_buf[i], dtype=np.float32),
                            actions=np.asarray(
                                act_buf[i], dtype=np.int64 if self.discrete else np.float32
                            ),
                            rewards=np.asarray(rew_buf[i], dtype=np.float64),
                            terminated=bool(terminated),
                            truncated=bool(truncated and not terminated),
                            final_observation=np.asarray(next_obs, dtype=np.float32),
                        )
                    )
                    obs_buf[i], act_buf[i], rew_buf[i] = [], [], []
                    if may_start():
                        current[i] = self._reset(i)
                        still_active.append(i)
                        if episodes_left is not None:
                            episodes_left -= 1
                else:
                    current[i] = next_obs
                    still_active.append(i)
            active = still_active
        return finished


def episode_returns(trajectories: Sequence[Trajectory]) -> np.ndarray:
    """Undiscounted return of each trajectory."""
    return np.array([float(t.rewards.sum()) for t in trajectories], dtype=np.float64)
