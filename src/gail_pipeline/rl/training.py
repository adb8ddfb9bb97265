"""The learners of the training loop, and TRPO (or PPO) on the environment's own reward.

:class:`TRPOLearner` owns a policy, a value function and a sampler, and exposes the steps of one
iteration separately — ``collect``, ``advantages``, ``policy_step``, ``update_normalizer``,
``fit_value`` — which :func:`gail_pipeline.rl.loop.iteration` runs in order with a reward
model's steps in between. :class:`PPOLearner` swaps TRPO's policy step for PPO's and keeps
everything else. :func:`train_trpo` trains a policy on the environment's true reward (the expert
stage), resumably.

A learner's ``state_dict()`` holds everything needed to continue (networks, normalisers,
iteration, env-step count, RNG states); :func:`gail_pipeline.rl.loop.train` checkpoints it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from gail_pipeline.rl import loop
from gail_pipeline.rl.batch import Batch, EnvironmentReward
from gail_pipeline.rl.checkpoint import Checkpoint, held
from gail_pipeline.rl.device import auto_update_threads
from gail_pipeline.rl.gae import compute_gae_batch
from gail_pipeline.rl.policies import Policy, ValueFunction, make_policy
from gail_pipeline.rl.ppo import SCHEDULED_SETTINGS, PPOConfig, ppo_step
from gail_pipeline.rl.sampler import RolloutSampler
from gail_pipeline.rl.seeding import seed_everything
from gail_pipeline.rl.trpo import TRPOConfig, fit_value_function, trpo_step
from gail_pipeline.trajectories import Trajectory

__all__ = ["PPOLearner", "TRPOLearner", "TrainingResult", "train_trpo"]

logger = logging.getLogger(__name__)


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

    def reached(curve: list[dict[str, float]]) -> bool:
        if stop_at_return is None or len(curve) < stop_window:
            return False
        return float(np.mean([r["return_mean"] for r in curve[-stop_window:]])) >= stop_at_return

    def shaped(trajectory: Trajectory) -> np.ndarray:
        # Potential-based shaping keeps the optimal policy only under the learner's own discount.
        return reward_shaping(trajectory, gamma=learner.discount()[0])

    reward = EnvironmentReward(shaped if reward_shaping else None)
    try:
        # held for this process while it trains: a second run of the same training stops at once
        with held(checkpoint):
            result = loop.train(
                learner,
                reward,
                iterations=iterations,
                batch_size=batch_size,
                checkpoint=checkpoint,
                on_iteration=on_iteration,
                stop=reached,
            )
    finally:
        sampler.close()
    return TrainingResult(policy.cpu(), result.curve, result.resumed_from_iteration)
