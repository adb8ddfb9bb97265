"""Collect whole trajectories from a batch of environments stepped together.

The policy's forward pass is batched over all the environments of the batch, and the batch steps
through one of the classes of :mod:`gail_pipeline.rl.vector` (in-process, the env's native
vectorised implementation, or worker processes). Per step the sampler does a fixed amount of
array work whatever the number of environments; Python runs per environment only when an
episode ends.

Batches follow the paper: whole trajectories totalling *at least* ``min_steps`` environment
steps. An environment starts a new episode only while the steps collected so far (finished and
in-flight) are below ``min_steps``; the episodes already under way always run to their end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import gymnasium as gym
import numpy as np
from threadpoolctl import threadpool_limits

from gail_pipeline.rl.vector import EnvBatch, make_env_batch
from gail_pipeline.trajectories import Trajectory

__all__ = ["Actor", "RolloutSampler", "episode_returns"]


class Actor(Protocol):
    """Anything that maps a batch of observations to a batch of actions."""

    discrete: bool

    def act(
        self, obs: np.ndarray, deterministic: bool = False, rng: np.random.Generator | None = None
    ) -> np.ndarray: ...


class RolloutSampler:
    """Steps ``num_envs`` copies of an environment together with a batched policy.

    Args:
        make_env: builds one environment (picklable if ``backend`` is ``workers``).
        num_envs: environments stepped side by side.
        seed: seeds the environments' first resets and the action noise; the same seed and the
            same sequence of calls give the same trajectories.
        backend: ``auto`` | ``inprocess`` | ``native`` | ``workers`` (see
            :func:`gail_pipeline.rl.vector.make_env_batch`).
        num_workers: worker processes for the ``workers`` backend (and for ``auto`` on MuJoCo);
            default: the CPU count.
    """

    def __init__(
        self,
        make_env: Callable[[], gym.Env],
        num_envs: int,
        seed: int,
        backend: str = "auto",
        num_workers: int | None = None,
    ) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        seeds = np.random.SeedSequence(seed).generate_state(num_envs + 1)
        self.envs: EnvBatch = make_env_batch(make_env, seeds[:num_envs], backend, num_workers)
        self.num_envs = num_envs
        space = self.envs.action_space
        self.discrete = isinstance(space, gym.spaces.Discrete)
        self._low = None if self.discrete else np.asarray(space.low, dtype=np.float32)
        self._high = None if self.discrete else np.asarray(space.high, dtype=np.float32)
        self.rng = np.random.default_rng(int(seeds[-1]))  # action noise
        self._obs: np.ndarray | None = None  # every env sits at the start of a fresh episode
        self._restarted = False  # envs were just reset by restart_envs

    @property
    def backend(self) -> str:
        return type(self.envs).__name__

    @property
    def num_processes(self) -> int:
        """Processes stepping the environments, this one included (they idle during updates)."""
        return self.envs.num_processes

    @property
    def observation_space(self) -> gym.Space:
        return self.envs.observation_space

    @property
    def action_space(self) -> gym.Space:
        return self.envs.action_space

    @property
    def action_bounds(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(low, high) of a Box action space, None for Discrete."""
        return None if self.discrete else (self._low, self._high)

    def close(self) -> None:
        self.envs.close()

    def restart_envs(self, entropy: Sequence[int]) -> None:
        """Reset every env, seeded from ``entropy`` (e.g. ``(seed, iteration)``).

        The training loop calls this before each batch, so a batch depends only on the policy,
        :attr:`rng` and ``entropy`` — never on where the envs were left — and a run resumed from
        a checkpoint samples exactly what the uninterrupted run would have.
        """
        seeds = np.random.SeedSequence([int(e) for e in entropy]).generate_state(self.num_envs)
        self._obs = self.envs.reset(seeds)
        self._restarted = True

    def sample(
        self,
        actor: Actor,
        min_steps: int | None = None,
        num_episodes: int | None = None,
        deterministic: bool = False,
    ) -> list[Trajectory]:
        """Run episodes until ``min_steps`` steps (whole episodes) or ``num_episodes`` episodes.

        Exactly one of ``min_steps`` and ``num_episodes`` must be given. Trajectories are
        returned in the order they finished (ties: by env index). Their ``actions`` are the
        actor's outputs before clipping to the action space (what the policy's log-likelihood
        needs).

        The policy acts with single-threaded BLAS: a multi-threaded product (Humanoid's 348-wide
        observations make OpenBLAS go parallel) spins a thread on the core a worker process needs
        — measured on Humanoid, 2 stepping processes went from 0.91× to 1.77× one process's speed.
        """
        with threadpool_limits(limits=1, user_api="blas"):
            return self._run_episodes(actor, min_steps, num_episodes, deterministic)

    def _run_episodes(self, actor, min_steps, num_episodes, deterministic) -> list[Trajectory]:
        """The stepping loop of :meth:`sample` (same arguments)."""
        if (min_steps is None) == (num_episodes is None):
            raise ValueError("give exactly one of min_steps and num_episodes")
        n = self.num_envs
        if self._obs is None or not (self.envs.same_step_reset or self._restarted):
            # Envs with next-step resets may be mid-episode after the last call: start afresh.
            self._obs = self.envs.reset()
        self._restarted = False
        obs = self._obs
        if hasattr(actor, "snapshot"):
            actor = actor.snapshot()  # the weights stay fixed while sampling: act in numpy
        steps_started, episodes_left = 0, num_episodes  # steps taken so far; episodes yet to start

        def may_start() -> bool:
            if num_episodes is not None:
                return episodes_left > 0
            return steps_started < min_steps

        episode_start = np.full(n, -1, dtype=np.int64)  # step index of a counted episode, or -1
        for i in range(n):
            if not may_start():
                break
            episode_start[i] = 0
            if num_episodes is not None:
                episodes_left -= 1

        obs_steps: list[np.ndarray] = []
        action_steps: list[np.ndarray] = []
        reward_steps: list[np.ndarray] = []
        ended: list[tuple[int, int, int, bool, bool, np.ndarray]] = []
        k = 0
        while True:
            active = episode_start >= 0
            if not active.any() and (self.envs.same_step_reset or not may_start()):
                break  # (next-step resets: envs that just ended may still start after a reset)
            actions = actor.act(obs, deterministic, self.rng)
            env_actions = actions if self.discrete else np.clip(actions, self._low, self._high)
            result = self.envs.step(env_actions, active)
            obs_steps.append(obs)
            action_steps.append(actions)
            reward_steps.append(result.rewards)
            stepped = active & result.valid
            steps_started += int(stepped.sum())
            done = stepped & (result.terminated | result.truncated)
            for i in np.flatnonzero(done).tolist():
                ended.append((
                    i, int(episode_start[i]), k, bool(result.terminated[i]),
                    bool(result.truncated[i]), result.final_obs[i].copy(),
                ))
                episode_start[i] = -1
            # Envs that now sit at the start of a fresh episode may begin a counted one.
            fresh = done if self.envs.same_step_reset else ~result.valid
            for i in np.flatnonzero(fresh & (episode_start < 0)).tolist():
                if not may_start():
                    break
                episode_start[i] = k + 1
                if num_episodes is not None:
                    episodes_left -= 1
            obs = result.obs
            k += 1
        self._obs = obs

        if not ended:
            return []
        all_obs = np.stack(obs_steps)
        all_actions = np.stack(action_steps)
        all_rewards = np.stack(reward_steps)
        action_dtype = np.int64 if self.discrete else np.float32
        return [
            Trajectory(
                observations=np.ascontiguousarray(all_obs[start : end + 1, i], dtype=np.float32),
                actions=np.ascontiguousarray(all_actions[start : end + 1, i], dtype=action_dtype),
                rewards=np.ascontiguousarray(all_rewards[start : end + 1, i], dtype=np.float64),
                terminated=terminated,
                truncated=truncated,
                final_observation=final_obs,
            )
            for i, start, end, terminated, truncated, final_obs in ended
        ]


def episode_returns(trajectories: Sequence[Trajectory]) -> np.ndarray:
    """Undiscounted return of each trajectory."""
    return np.array([float(t.rewards.sum()) for t in trajectories], dtype=np.float64)
