"""The TRPO training loop, in pieces the imitation learners reuse.

:class:`TRPOLearner` owns a policy, a value function and a sampler, and exposes the steps of one
iteration separately — ``collect``, ``advantages``, ``policy_step``, ``update_normalizer``,
``fit_value`` — because GAIL interleaves its discriminator between them (the paper's order:
sample → reward → GAE → TRPO step → normaliser → discriminator → value fit).
:func:`train_trpo` runs the plain loop on the environment's true reward (the expert stage);
:class:`PPOLearner` swaps TRPO's policy step for PPO's and keeps everything else.

Long runs checkpoint: ``state_dict()`` holds everything needed to continue (networks, normalisers,
iteration, env-step count, curve, RNG state), and :func:`train_trpo` resumes from a checkpoint
file when one is given and present.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
import torch

from gail_pipeline.rl.device import (
    auto_update_threads,
    keep_freed_memory,
    torch_threads,
)
from gail_pipeline.rl.gae import compute_gae_batch
from gail_pipeline.rl.policies import Policy, ValueFunction, make_policy
from gail_pipeline.rl.ppo import SCHEDULED_SETTINGS, PPOConfig, ppo_step
from gail_pipeline.rl.sampler import RolloutSampler
from gail_pipeline.rl.seeding import seed_everything
from gail_pipeline.rl.trpo import TRPOConfig, fit_value_function, trpo_step
from gail_pipeline.trajectories import Trajectory

__all__ = [
    "Batch",
    "Checkpoint",
    "EnvironmentReward",
    "PPOLearner",
    "RewardModel",
    "TRPOLearner",
    "TrainingResult",
    "run_iterations",
    "train_trpo",
]

logger = logging.getLogger(__name__)


@dataclass
class Batch:
    """Trajectories flattened into tensors (row order: trajectory by trajectory)."""

    trajectories: list[Trajectory]
    observations: torch.Tensor  # (N, obs_dim) float32
    actions: torch.Tensor  # (N, act_dim) float32 or (N,) int64: the policy's samples
    timesteps: torch.Tensor  # (N,) int64, step index within the episode
    executed_actions: torch.Tensor  # the actions as the environment executed them (clipped to
    # a Box's bounds): what a learned cost compares with the expert's recorded actions
    values: np.ndarray | None = None  # V(s_t) under the value function that sampled the batch
    bootstrap_values: np.ndarray | None = None  # per trajectory: V(s_T) if truncated, else 0

    @classmethod
    def from_trajectories(
        cls,
        trajectories: Sequence[Trajectory],
        action_bounds: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Batch:
        trajectories = list(trajectories)
        actions = torch.as_tensor(np.concatenate([t.actions for t in trajectories]))
        executed = actions
        if action_bounds is not None:
            low, high = (torch.as_tensor(b, dtype=actions.dtype) for b in action_bounds)
            executed = torch.clamp(actions, low, high)
        return cls(
            trajectories=trajectories,
            observations=torch.as_tensor(np.concatenate([t.observations for t in trajectories])),
            actions=actions,
            timesteps=torch.as_tensor(np.concatenate([t.steps for t in trajectories])),
            executed_actions=executed,
        )

    def __len__(self) -> int:
        return len(self.observations)

    def to(self, device: torch.device) -> Batch:
        """The batch with its tensors on ``device`` (itself if they are there already)."""
        if self.observations.device == device:
            return self
        return dataclasses.replace(
            self,
            observations=self.observations.to(device),
            actions=self.actions.to(device),
            timesteps=self.timesteps.to(device),
            executed_actions=self.executed_actions.to(device),
        )


class TRPOLearner:
    """A policy and value function trained by TRPO on trajectories from ``sampler``."""

    def __init__(
        self,
        policy: Policy,
        value_fn: ValueFunction,
        sampler: RolloutSampler,
        config: TRPOConfig,
        seed: int,
        update_threads: int | None = None,
    ) -> None:
        self.policy = policy
        self.value_fn = value_fn
        self.sampler = sampler
        self.config = config
        self._update_threads = update_threads
        self.seed = int(seed)
        self.generator = torch.Generator().manual_seed(int(seed))
        self.iteration = 0
        self.env_steps = 0

    @property
    def device(self) -> torch.device:
        """Where the networks live and update (the batches follow them)."""
        return next(self.policy.parameters()).device

    @property
    def update_threads(self) -> int:
        """Torch threads for the updates: as set, else 1 when they run on a GPU and
        :func:`~gail_pipeline.rl.device.auto_update_threads` on the CPU."""
        if self._update_threads is not None:
            return self._update_threads
        if self.device.type != "cpu":
            return 1
        return auto_update_threads(self.sampler.num_processes)

    # -- the pieces of one iteration ---------------------------------------------------------
    def collect(self, min_steps: int) -> Batch:
        """One batch of whole trajectories; the envs restart from resets seeded by (seed,
        iteration), so that a resumed run samples what the uninterrupted one would have."""
        self.sampler.restart_envs((self.seed, self.iteration))
        trajectories = self.sampler.sample(self.policy, min_steps=min_steps)
        self.env_steps += sum(len(t) for t in trajectories)
        return Batch.from_trajectories(trajectories, self.sampler.action_bounds).to(self.device)

    @torch.no_grad()
    def advantages(self, batch: Batch, rewards: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """GAE advantages and value targets of the batch under the given per-step rewards.

        The value predictions are computed once per batch and reused (GAIL asks twice: before
        and after its reward update, with the same value function).
        """
        if batch.values is None:
            values = self.value_fn(batch.observations, batch.timesteps).cpu().numpy()
            bootstrap = np.zeros(len(batch.trajectories))
            truncated = [
                k for k, t in enumerate(batch.trajectories) if t.truncated and t.final_observation is not None
            ]
            if truncated:
                finals = [batch.trajectories[k] for k in truncated]
                final_obs = torch.as_tensor(np.stack([t.final_observation for t in finals]))
                final_t = torch.as_tensor([int(t.steps[-1]) + 1 for t in finals])
                final_v = self.value_fn(final_obs.to(self.device), final_t.to(self.device))
                bootstrap[truncated] = final_v.cpu().numpy()
            batch.values, batch.bootstrap_values = values, bootstrap
        advantages, returns = compute_gae_batch(
            np.concatenate(rewards),
            batch.values,
            [len(t) for t in batch.trajectories],
            batch.bootstrap_values,
            *self.discount(),
        )
        return (
            torch.as_tensor(advantages, dtype=torch.float32, device=self.device),
            torch.as_tensor(returns, dtype=torch.float32, device=self.device),
        )

    def discount(self) -> tuple[float, float]:
        """γ and GAE's λ of the iteration being run."""
        return self.config.gamma, self.config.gae_lambda

    def policy_step(self, batch: Batch, advantages: torch.Tensor) -> dict[str, float]:
        return trpo_step(
            self.policy, batch.observations, batch.actions, advantages, self.config, self.generator
        )

    def update_normalizer(self, batch: Batch) -> None:
        self.policy.obs_normalizer.update(batch.observations)
        self.value_fn.obs_normalizer.update(batch.observations)

    def fit_value(self, batch: Batch, value_targets: torch.Tensor) -> dict[str, float]:
        return fit_value_function(
            self.value_fn,
            batch.observations,
            batch.timesteps,
            value_targets,
            self.config,
            self.generator,
        )

    # -- checkpoints ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy.state_dict(),
            "value_fn": self.value_fn.state_dict(),
            "iteration": self.iteration,
            "env_steps": self.env_steps,
            "generator": self.generator.get_state(),
            "sampler_rng": self.sampler.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.policy.load_state_dict(state["policy"])
        self.value_fn.load_state_dict(state["value_fn"])
        self.iteration = int(state["iteration"])
        self.env_steps = int(state["env_steps"])
        self.generator.set_state(state["generator"])
        if "sampler_rng" in state:  # (checkpoints of earlier versions have none)
            self.sampler.rng.bit_generator.state = state["sampler_rng"]


PPO_SCHEDULED_SETTINGS = tuple(f"ppo.{key}" for key in (*SCHEDULED_SETTINGS, "schedule"))
"""Settings a resumed PPO run may change (smaller steps or a longer horizon late in a long run);
every other setting must match the checkpoint's."""


class PPOLearner(TRPOLearner):
    """A :class:`TRPOLearner` whose policy step is PPO's (:func:`~gail_pipeline.rl.ppo.ppo_step`);
    ``config`` still gives the value-function settings, and the discount and GAE's λ unless
    ``ppo`` (or its schedule) sets them."""

    def __init__(
        self,
        policy: Policy,
        value_fn: ValueFunction,
        sampler: RolloutSampler,
        config: TRPOConfig,
        seed: int,
        update_threads: int | None = None,
        ppo: PPOConfig | None = None,
    ) -> None:
        super().__init__(policy, value_fn, sampler, config, seed, update_threads)
        self.ppo = ppo or PPOConfig()
        self.optimizer = torch.optim.Adam(policy.parameters(), lr=self.ppo.learning_rate)

    def discount(self) -> tuple[float, float]:
        config = self.ppo.at(self.iteration + 1)
        gamma = self.config.gamma if config.gamma is None else config.gamma
        gae_lambda = self.config.gae_lambda if config.gae_lambda is None else config.gae_lambda
        return gamma, gae_lambda

    def policy_step(self, batch: Batch, advantages: torch.Tensor) -> dict[str, float]:
        # Each iteration's step size, from the settings of this run (a resumed run may change them).
        config = self.ppo.at(self.iteration + 1)
        for group in self.optimizer.param_groups:
            group["lr"] = config.learning_rate
        stats = ppo_step(
            self.policy,
            self.optimizer,
            batch.observations,
            batch.actions,
            advantages,
            config,
            self.generator,
        )
        return {**stats, "learning_rate": config.learning_rate, "gamma": self.discount()[0]}

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "policy_optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.optimizer.load_state_dict(state["policy_optimizer"])


class RewardModel(Protocol):
    """Per-step rewards for a batch of policy trajectories, and how they learn from it."""

    static: bool
    """True if ``update`` never changes the rewards (the value targets need no recomputing)."""

    def rewards(self, batch: Batch) -> list[np.ndarray]:
        """Per-step rewards, one array per trajectory of the batch."""
        ...

    def update(self, batch: Batch) -> dict[str, float]:
        """Fit the reward to this policy batch (one step); returns diagnostics."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint needs to continue exactly (weights, optimiser, RNG)."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class EnvironmentReward:
    """The environment's own reward, optionally shaped: ``shaping(trajectory) → rewards``."""

    static = True

    def __init__(self, shaping: Callable[[Trajectory], np.ndarray] | None = None) -> None:
        self.shaping = shaping

    def rewards(self, batch: Batch) -> list[np.ndarray]:
        return [self.shaping(t) if self.shaping else t.rewards for t in batch.trajectories]

    def update(self, batch: Batch) -> dict[str, float]:
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


def run_iterations(
    learner: TRPOLearner,
    reward_model: RewardModel,
    *,
    iterations: int,
    batch_size: int,
    curve: list[dict[str, float]],
    on_iteration: Callable[[dict[str, float]], None] | None = None,
    stop: Callable[[dict[str, float]], bool] | None = None,
) -> list[dict[str, float]]:
    """TRPO iterations until ``learner.iteration == iterations`` (or ``stop(last row)``), in the
    paper's order:

        sample → reward → GAE → TRPO step → policy normaliser update → reward-model update
               → value fit on the updated model's rewards.

    Appends one row per iteration to ``curve`` (and returns it): iteration, env_steps, true
    returns of the training rollouts, mean learned reward, TRPO / value / reward diagnostics, and
    the wall time of each phase (``time_sample``, ``time_reward``, ``time_advantages``,
    ``time_policy_step``, ``time_reward_update``, ``time_value_fit``). Torch runs on
    ``learner.update_threads`` threads meanwhile, and the process keeps the memory its updates
    free for the next ones (:func:`~gail_pipeline.rl.device.keep_freed_memory`).
    """
    keep_freed_memory()
    with torch_threads(learner.update_threads):
        return _run_iterations(learner, reward_model, iterations, batch_size, curve, on_iteration, stop)


def _run_iterations(
    learner: TRPOLearner,
    reward_model: RewardModel,
    iterations: int,
    batch_size: int,
    curve: list[dict[str, float]],
    on_iteration: Callable[[dict[str, float]], None] | None,
    stop: Callable[[dict[str, float]], bool] | None,
) -> list[dict[str, float]]:
    start = time.perf_counter() - (curve[-1]["wall_time"] if curve else 0.0)
    while learner.iteration < iterations:
        if stop is not None and curve and stop(curve[-1]):
            break
        clock = _PhaseClock()
        batch = learner.collect(batch_size)
        if learner.policy.obs_normalizer.count == 0:
            # The first policy's output layer is zero, so its actions did not depend on the
            # normaliser: initialising it from this batch changes nothing already sampled.
            learner.update_normalizer(batch)
        clock.lap("sample")
        rewards = reward_model.rewards(batch)
        clock.lap("reward")
        advantages, value_targets = learner.advantages(batch, rewards)
        clock.lap("advantages")
        stats = learner.policy_step(batch, advantages)
        learner.update_normalizer(batch)
        clock.lap("policy_step")
        stats.update(reward_model.update(batch))
        clock.lap("reward_update")
        if not reward_model.static:
            _, value_targets = learner.advantages(batch, reward_model.rewards(batch))
            clock.lap("advantages")
        stats.update(learner.fit_value(batch, value_targets))
        clock.lap("value_fit")
        stats.update(clock.times)
        learner.iteration += 1
        true_returns = np.array([t.episode_return for t in batch.trajectories])
        row = {
            "iteration": learner.iteration,
            "env_steps": learner.env_steps,
            "episodes": len(batch.trajectories),
            "return_mean": float(true_returns.mean()),
            "return_std": float(true_returns.std()),
            "return_min": float(true_returns.min()),
            "return_max": float(true_returns.max()),
            "learned_reward_mean": float(np.mean(np.concatenate(rewards))),
            "episode_length_mean": float(np.mean([len(t) for t in batch.trajectories])),
            "wall_time": time.perf_counter() - start,
            **stats,
        }
        curve.append(row)
        if on_iteration is not None:
            on_iteration(row)
    return curve


class _PhaseClock:
    """Wall time of each phase of an iteration, as ``time_<phase>`` seconds."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        key = f"time_{phase}"
        self.times[key] = self.times.get(key, 0.0) + now - self._last
        self._last = now


@dataclass
class TrainingResult:
    policy: Policy
    curve: list[dict[str, float]]
    """One row per iteration: iteration, env_steps, return_mean/std/min/max, episodes, diagnostics."""
    resumed_from_iteration: int


def train_trpo(
    make_env: Callable[[], gym.Env],
    *,
    iterations: int,
    batch_size: int,
    seed: int,
    config: TRPOConfig | None = None,
    hidden_sizes: Sequence[int] = (64, 64),
    num_envs: int = 8,
    sampler_backend: str = "auto",
    num_workers: int | None = None,
    device: str | torch.device = "cpu",
    update_threads: int | None = None,
    max_episode_steps: int = 1000,
    stop_at_return: float | None = None,
    stop_window: int = 1,
    reward_shaping: Callable[[Trajectory, float], np.ndarray] | None = None,
    checkpoint_path: str | Path | None = None,
    checkpoint_every: int = 10,
    checkpoint_key: str = "",
    on_iteration: Callable[[dict[str, float]], None] | None = None,
    ppo: PPOConfig | None = None,
) -> TrainingResult:
    """Train a policy by TRPO (or PPO) on the environment's own reward.

    Args:
        make_env: builds one environment (episode limit included).
        iterations: TRPO iterations.
        batch_size: environment steps per iteration (whole trajectories, at least this many).
        seed: seeds networks, sampler and environments.
        config: TRPO hyperparameters (paper defaults if None).
        hidden_sizes: policy MLP widths (tanh).
        num_envs: environments stepped side by side.
        sampler_backend, num_workers: how they are stepped (:class:`RolloutSampler`).
        device: where the networks update (``torch.device`` or a name); acting stays on the CPU.
        update_threads: torch threads for the updates (None: see ``TRPOLearner.update_threads``).
        max_episode_steps: T_max of the value function's time feature.
        stop_at_return: stop once an iteration's mean (unshaped) return reaches this — with
            ``stop_window`` > 1, the mean of the last ``stop_window`` iterations' (a few lucky
            episodes in one batch do not stop a long run).
        reward_shaping: ``f(trajectory, gamma) → shaped rewards`` used for learning only, under the
            discount the learner runs at; the curve always reports true returns.
        checkpoint_path: if given, the state is saved there every ``checkpoint_every`` iterations
            and at the end, and a run finds and continues it — but only if it was written by a
            run of the same settings (everything above but ``iterations``, ``stop_at_return`` and
            ``stop_window``, plus ``checkpoint_key``, e.g. the env id; PPO's ``learning_rate``,
            ``target_kl``, ``gamma``, ``gae_lambda`` and ``schedule`` may change too); otherwise it
            is ignored and overwritten.
        on_iteration: called with each curve row (progress display, metric logging).
        ppo: if given, the policy steps are PPO's with these settings instead of TRPO's
            (``config`` still gives the value-function settings, and the discount and GAE's λ
            unless ``ppo`` or its schedule sets them).
    """
    config = config or TRPOConfig()
    seed_everything(seed)
    sampler = RolloutSampler(make_env, num_envs, seed, sampler_backend, num_workers)
    policy = make_policy(sampler.observation_space, sampler.action_space, hidden_sizes)
    value_fn = ValueFunction(
        int(sampler.observation_space.shape[0]),
        config.value_hidden_sizes,
        max_episode_steps=max_episode_steps,
    )
    device = torch.device(device)
    policy, value_fn = policy.to(device), value_fn.to(device)
    if ppo is None:
        learner = TRPOLearner(policy, value_fn, sampler, config, seed, update_threads)
    else:
        learner = PPOLearner(policy, value_fn, sampler, config, seed, update_threads, ppo)
    curve: list[dict[str, float]] = []
    resumed_from = 0
    checkpoint = None
    if checkpoint_path is not None:
        checkpoint = Checkpoint(
            checkpoint_path,
            {
                "config": dataclasses.asdict(config),
                "batch_size": batch_size,
                "seed": seed,
                "hidden_sizes": list(hidden_sizes),
                "num_envs": num_envs,
                "max_episode_steps": max_episode_steps,
                "shaping": reward_shaping is not None,
                "key": checkpoint_key,
                **({"ppo": dataclasses.asdict(ppo)} if ppo is not None else {}),
            },
            every=checkpoint_every,
            may_change=PPO_SCHEDULED_SETTINGS,
        )
        state = checkpoint.load()
        if state is not None:
            learner.load_state_dict(state["learner"])
            curve = list(state["curve"])
            resumed_from = learner.iteration
            logger.info("resumed training from %s at iteration %d", checkpoint_path, resumed_from)

    def after_iteration(row: dict[str, float]) -> None:
        if on_iteration is not None:
            on_iteration(row)
        if checkpoint is not None and checkpoint.due(learner.iteration, iterations):
            checkpoint.save({"learner": learner.state_dict(), "curve": curve})

    def reached(row: dict[str, float]) -> bool:
        if stop_at_return is None or len(curve) < stop_window:
            return False
        return float(np.mean([r["return_mean"] for r in curve[-stop_window:]])) >= stop_at_return

    def shaped(trajectory: Trajectory) -> np.ndarray:
        # Potential-based shaping keeps the optimal policy only under the learner's own discount.
        return reward_shaping(trajectory, gamma=learner.discount()[0])

    reward = EnvironmentReward(shaped if reward_shaping else None)
    run_iterations(
        learner,
        reward,
        iterations=iterations,
        batch_size=batch_size,
        curve=curve,
        on_iteration=after_iteration,
        stop=reached,
    )
    if checkpoint is not None and curve:
        checkpoint.save({"learner": learner.state_dict(), "curve": curve})
    sampler.close()
    return TrainingResult(policy.cpu(), curve, resumed_from)


class Checkpoint:
    """A training run's state in one file, found again only by a run of the same settings.

    ``settings`` (anything JSON-able) fingerprint the run: a file written under other settings is
    ignored with a warning (and overwritten at the next save), as is an unreadable one. Saves are
    atomic (written beside, then renamed), so a run killed while saving leaves the previous
    checkpoint intact.
    """

    def __init__(
        self, path: str | Path, settings: Any, every: int = 10, may_change: Sequence[str] = ()
    ) -> None:
        if every < 1:
            raise ValueError(f"checkpoint_every must be >= 1, got {every}")
        self.path = Path(path)
        self.fingerprint = json.dumps(settings, sort_keys=True, default=str)
        self.every = int(every)
        self.may_change = tuple(may_change)

    def _fixed_part(self, fingerprint: Any) -> Any:
        """The settings a resumed run must share: the fingerprint without the ``may_change``
        keys (dotted paths into nested settings, e.g. ``ppo.learning_rate``)."""
        if not isinstance(fingerprint, str):
            return None
        settings = json.loads(fingerprint)
        for dotted in self.may_change:
            *parents, key = dotted.split(".")
            node = settings
            for parent in parents:
                node = node.get(parent, {}) if isinstance(node, dict) else {}
            if isinstance(node, dict):
                node.pop(key, None)
        return settings

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None (no file, other settings, unreadable)."""
        if not self.path.exists():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=False)
        except Exception as exc:  # noqa: BLE001 - any unreadable file means: start over
            logger.warning("checkpoint %s is unreadable (%s); training from scratch", self.path, exc)
            return None
        if not isinstance(state, dict) or (
            self._fixed_part(state.get("fingerprint")) != self._fixed_part(self.fingerprint)
        ):
            logger.warning("checkpoint %s was written with other settings; training from scratch", self.path)
            return None
        return state

    def due(self, iteration: int, last_iteration: int) -> bool:
        return iteration % self.every == 0 or iteration == last_iteration

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

    def save(self, state: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        torch.save({**state, "fingerprint": self.fingerprint}, tmp)
        os.replace(tmp, self.path)
