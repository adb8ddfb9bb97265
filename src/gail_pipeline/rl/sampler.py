"""Collect whole trajectories from a batch of environments stepped together.

The policy's forward pass is batched over the environments, and the batch steps through one of
the classes of :mod:`gail_pipeline.rl.vector` (in-process, the env's native vectorised
implementation, or worker processes). Each stepping process runs the whole stepping loop on its
own share of the envs, with its own copy of the policy's weights (fixed during a batch), and
sends its trajectories back once at the end: no message per step. Per step the loop does a fixed
amount of array work whatever the number of environments; Python runs per environment only when
an episode ends.

Batches follow the paper: whole trajectories totalling *at least* ``min_steps`` environment
steps. The budget is split evenly over the envs: an env starts a new episode only while its own
steps are below its part, and the episodes under way always run to their end. Neither the
budget's split nor the action noise depends on how many processes step the envs, so the
trajectories do not either.
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
        batched_physics: compute the MuJoCo locomotion envs' results for a whole share at once
            (:mod:`gail_pipeline.rl.mujoco_batch`; the same bits); False: each env's own ``step``.
    """

    def __init__(
        self,
        make_env: Callable[[], gym.Env],
        num_envs: int,
        seed: int,
        backend: str = "auto",
        num_workers: int | None = None,
        batched_physics: bool = True,
    ) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        seeds = np.random.SeedSequence(seed).generate_state(num_envs + 1)
        self.envs: EnvBatch = make_env_batch(
            make_env, seeds[:num_envs], backend, num_workers, batched_physics
        )
        self.num_envs = num_envs
        space = self.envs.action_space
        self.discrete = isinstance(space, gym.spaces.Discrete)
        self._low = None if self.discrete else np.asarray(space.low, dtype=np.float32)
        self._high = None if self.discrete else np.asarray(space.high, dtype=np.float32)
        self.rng = np.random.default_rng(int(seeds[-1]))  # seeds each call's action noise

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
        self.envs.reset(seeds)

    def sample(
        self,
        actor: Actor,
        min_steps: int | None = None,
        num_episodes: int | None = None,
        deterministic: bool = False,
    ) -> list[Trajectory]:
        """Run episodes until ``min_steps`` steps (whole episodes) or ``num_episodes`` episodes.

        Exactly one of ``min_steps`` and ``num_episodes`` must be given; it is split evenly over
        the envs (env ``i`` starts episodes while its own steps are below its part of
        ``min_steps``, or runs its part of ``num_episodes``), so each process runs its share of
        the envs on its own, without a message per step. Trajectories are returned in the order
        they finished (ties: by env index). Their ``actions`` are the actor's outputs before
        clipping to the action space (what the policy's log-likelihood needs).

        The trajectories do not depend on how the envs are split over processes: every process
        acts on a batch of all ``num_envs`` rows (its own filled in; matrix products may round
        differently for other shapes) and draws the same per-step noise, seeded from
        :attr:`rng` once per call.

        The policy acts with single-threaded BLAS: a multi-threaded product (Humanoid's 348-wide
        observations make OpenBLAS go parallel) spins a thread on the core a worker process needs
        — measured on Humanoid, 2 stepping processes went from 0.91× to 1.77× one process's speed
        (1.98× since the processes exchange one message per batch instead of one per step).
        """
        if (min_steps is None) == (num_episodes is None):
            raise ValueError("give exactly one of min_steps and num_episodes")
        if hasattr(actor, "snapshot"):
            actor = actor.snapshot()  # the weights stay fixed while sampling: act in numpy
        total = min_steps if min_steps is not None else num_episodes
        quotas = np.full(self.num_envs, total // self.num_envs, dtype=np.int64)
        quotas[: total % self.num_envs] += 1
        noise_seed = int(self.rng.integers(2**63))
        args = [
            (actor, quotas[share], min_steps is None, deterministic, noise_seed, share.start, self.num_envs)
            for share in self.envs.shares
        ]
        ended = [e for share_ended in self.envs.run_shares(_run_share, args) for e in share_ended]
        ended.sort(key=lambda e: (e[0], e[1]))
        return [trajectory for _, _, trajectory in ended]


def _run_share(
    envs: EnvBatch,
    actor: Actor,
    quotas: np.ndarray,
    by_episodes: bool,
    deterministic: bool,
    noise_seed: int,
    offset: int,
    total_envs: int,
) -> list[tuple[int, int, Trajectory]]:
    """The stepping loop of :meth:`RolloutSampler.sample` on one share of the envs (rows
    ``offset …`` of the batch), in the process that holds it → ``(end step, env index,
    trajectory)`` for every episode run. Env ``i`` of the share may start an episode while its
    steps taken (``by_episodes``: episodes started) are below ``quotas[i]``."""
    with threadpool_limits(limits=1, user_api="blas"):
        return _stepping_loop(envs, actor, quotas, by_episodes, deterministic, noise_seed, offset, total_envs)


def _stepping_loop(
    envs, actor, quotas, by_episodes, deterministic, noise_seed, offset, total_envs
) -> list[tuple[int, int, Trajectory]]:
    n = envs.num_envs
    if not envs.fresh:
        envs.reset()  # first use, or next-step resets: the envs may be mid-episode
    obs = envs.obs
    rows = slice(offset, offset + n)
    whole = n == total_envs  # one share: act on the observations as they are, no copy
    full_obs = None if whole else np.zeros((total_envs, obs.shape[1]), dtype=np.float32)
    noise = np.random.default_rng(noise_seed)
    discrete = isinstance(envs.action_space, gym.spaces.Discrete)
    if not discrete:
        low = np.asarray(envs.action_space.low, dtype=np.float32)
        high = np.asarray(envs.action_space.high, dtype=np.float32)
    used = np.zeros(n, dtype=np.int64)  # steps taken (by_episodes: episodes started) per env

    episode_start = np.full(n, -1, dtype=np.int64)  # step index of a counted episode, or -1
    can_start = used < quotas
    episode_start[can_start] = 0
    if by_episodes:
        used += can_start

    obs_steps: list[np.ndarray] = []
    action_steps: list[np.ndarray] = []
    reward_steps: list[np.ndarray] = []
    ended: list[tuple[int, int, int, bool, bool, np.ndarray]] = []
    k = 0
    while True:
        active = episode_start >= 0
        if not active.any() and (envs.same_step_reset or not (used < quotas).any()):
            break  # (next-step resets: envs that just ended may still start after a reset)
        if whole:
            actions = actor.act(obs, deterministic, noise)
        else:
            full_obs[rows] = obs
            actions = actor.act(full_obs, deterministic, noise)[rows]
        env_actions = actions if discrete else np.clip(actions, low, high)
        result = envs.step(env_actions, active)
        obs_steps.append(obs)
        action_steps.append(actions)
        reward_steps.append(result.rewards)
        stepped = active & result.valid
        if not by_episodes:
            used += stepped
        done = stepped & (result.terminated | result.truncated)
        for i in np.flatnonzero(done).tolist():
            ended.append(
                (
                    i,
                    int(episode_start[i]),
                    k,
                    bool(result.terminated[i]),
                    bool(result.truncated[i]),
                    result.final_obs[i].copy(),
                )
            )
            episode_start[i] = -1
        # Envs that now sit at the start of a fresh episode may begin a counted one.
        fresh = done if envs.same_step_reset else ~result.valid
        starting = fresh & (episode_start < 0) & (used < quotas)
        episode_start[starting] = k + 1
        if by_episodes:
            used += starting
        obs = result.obs
        k += 1
    envs.fresh = envs.same_step_reset  # (all counted episodes ran to their end)

    if not ended:
        return []
    all_obs = np.stack(obs_steps)
    all_actions = np.stack(action_steps)
    all_rewards = np.stack(reward_steps)
    action_dtype = np.int64 if discrete else np.float32
    return [
        (
            end,
            offset + i,
            Trajectory(
                observations=np.ascontiguousarray(all_obs[start : end + 1, i], dtype=np.float32),
                actions=np.ascontiguousarray(all_actions[start : end + 1, i], dtype=action_dtype),
                rewards=np.ascontiguousarray(all_rewards[start : end + 1, i], dtype=np.float64),
                terminated=terminated,
                truncated=truncated,
                final_observation=final_obs,
            ),
        )
        for i, start, end, terminated, truncated, final_obs in ended
    ]


def episode_returns(trajectories: Sequence[Trajectory]) -> np.ndarray:
    """Undiscounted return of each trajectory."""
    return np.array([float(t.rewards.sum()) for t in trajectories], dtype=np.float64)
