"""The training loop: Algorithm 1 of Ho & Ermon (2016) on one page, and plain TRPO as its case
of a fixed reward.

One iteration (:func:`iteration`), for a learner (policy π_θ, value function, sampler) and a
reward model (GAIL's discriminator D_w, FEM's or GTAL's linear cost, or the environment's own
reward for an expert):

====  ==============================================  ============================================
step  here                                            the paper's Algorithm 1
====  ==============================================  ============================================
1     sample trajectories τ_i ~ π_θi                  line 3: "Sample trajectories τ_i ~ π_θi"
2     rewards from the *current* model                (the cost log D_w of line 5, before D moves)
3     GAE advantages under those rewards              line 5: Q(s̄, ā) = Ê_τi[log D(s, a)]
4     TRPO step on θ (max KL δ)                       line 5: "Take a policy step from θ_i"
5     policy observation standardiser update          (not in the paper: the authors' code)
6     one reward-model step (Adam on D's log-loss)    line 4: "Update the discriminator"
7     value-function fit on rewards from the *new* D  (the authors' code; the paper's TRPO baseline)
====  ==============================================  ============================================

**The order is the authors' released code's, not the listing's.** Algorithm 1 updates D (line 4)
before the policy step (line 5); the code that produced the paper's results (the authors'
``openai/imitation`` repository) computes the rewards and takes the TRPO step first, then one
Adam step on D, then refits the value function on the rewards of the updated D. We follow the
code, because its numbers are the paper's: the policy step of iteration i uses the D trained on
iteration i−1's batch, D never sees the batch it is about to score before scoring it, and the
value targets track the D the next iteration will use.

:func:`train` runs iterations until a budget, resumably: with a :class:`~gail_pipeline.rl.
checkpoint.Checkpoint` it continues a run of the same settings from its last saved state (networks,
optimisers, normalisers, RNG states, curve) and saves every ``checkpoint.every`` iterations, so
that an interrupted run ends exactly as an uninterrupted one. The expert stage and every
learner (FEM, GTAL, GAIL) train through it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gail_pipeline.rl.batch import RewardModel
from gail_pipeline.rl.checkpoint import Checkpoint
from gail_pipeline.rl.device import keep_freed_memory, torch_threads

__all__ = ["LoopResult", "iteration", "train"]

logger = logging.getLogger(__name__)


def iteration(
    learner: Any, reward_model: RewardModel, batch_size: int, policy_step: bool = True
) -> dict[str, float]:
    """One iteration (the table above) on ``learner`` (a :class:`~gail_pipeline.rl.training.
    TRPOLearner`: ``collect``, ``advantages``, ``policy_step``, ``update_normalizer``,
    ``fit_value``); returns its diagnostics, including the wall time of each phase.
    ``policy_step=False`` skips step 4 (the reward model and value function still learn)."""
    clock = _PhaseClock()
    # 1. Sample whole trajectories, at least `batch_size` env steps, from the current policy.
    batch = learner.collect(batch_size)
    if learner.policy.obs_normalizer.count == 0:
        # The first policy's output layer is zero, so its actions did not depend on the
        # normaliser: initialising it from this batch changes nothing already sampled.
        learner.update_normalizer(batch)
    clock.lap("sample")
    # 2. Per-step rewards from the reward model as it is now (GAIL: −log(1 − D) or log D).
    rewards = reward_model.rewards(batch)
    clock.lap("reward")
    # 3. GAE(γ, λ) advantages under those rewards, with the value function that sampled the batch.
    advantages, value_targets = learner.advantages(batch, rewards)
    clock.lap("advantages")
    # 4. The policy step: TRPO (or PPO) on the standardised advantages; the causal-entropy
    #    bonus λ enters its surrogate (TRPOConfig.entropy_coef).
    stats = learner.policy_step(batch, advantages) if policy_step else {}
    # 5. The policy's observation standardiser takes in this batch (the authors' code).
    learner.update_normalizer(batch)
    clock.lap("policy_step")
    # 6. One reward-model step on this batch: GAIL's full-batch Adam step on D against as many
    #    expert pairs; FEM/GTAL's new cost weights; nothing for the environment's reward.
    stats.update(reward_model.update(batch))
    clock.lap("reward_update")
    if not reward_model.static:
        # 7a. The value function is fitted to the rewards of the *updated* model.
        _, value_targets = learner.advantages(batch, reward_model.rewards(batch))
        clock.lap("advantages")
    # 7. Value-function fit on those targets (a trust-region step, or Adam epochs).
    stats.update(learner.fit_value(batch, value_targets))
    clock.lap("value_fit")
    learner.iteration += 1
    true_returns = np.array([t.episode_return for t in batch.trajectories])
    return {
        "iteration": learner.iteration,
        "env_steps": learner.env_steps,
        "episodes": len(batch.trajectories),
        "return_mean": float(true_returns.mean()),
        "return_std": float(true_returns.std()),
        "return_min": float(true_returns.min()),
        "return_max": float(true_returns.max()),
        "learned_reward_mean": float(np.mean(np.concatenate(rewards))),
        "learned_reward_std": float(np.std(np.concatenate(rewards))),
        "episode_length_mean": float(np.mean([len(t) for t in batch.trajectories])),
        **stats,
        **clock.times,
    }


@dataclass
class LoopResult:
    curve: list[dict[str, float]]
    """One row per iteration (a resumed run's earlier rows included): iteration, env_steps, true
    returns of the training rollouts, learned reward, policy / value / reward-model diagnostics,
    ``wall_time`` and the wall time of each phase (``time_sample``, ``time_reward``, …)."""
    resumed_from_iteration: int = 0
    """The iteration the run continued from (0: from scratch)."""
    extra_state: dict[str, Any] = field(default_factory=dict)
    """What the caller asked to keep in the checkpoint (as saved by the run that started it)."""


def train(
    learner: Any,
    reward_model: RewardModel,
    *,
    iterations: int,
    batch_size: int,
    checkpoint: Checkpoint | None = None,
    extra_state: dict[str, Any] | None = None,
    on_iteration: Callable[[dict[str, float]], None] | None = None,
    stop: Callable[[list[dict[str, float]]], bool] | None = None,
    frozen_policy_iterations: int = 0,
) -> LoopResult:
    """Iterations until ``learner.iteration == iterations`` (or ``stop(curve)`` says so before
    an iteration), continuing ``checkpoint`` when it holds a run of the same settings.

    ``extra_state`` (JSON-able) is saved with every checkpoint and, on a resumed run, replaced by
    the saved one. ``on_iteration(row)`` is called after each iteration (logging, progress); the
    first ``frozen_policy_iterations`` iterations take no policy step (a reward model's warm-up). Torch
    runs on ``learner.update_threads`` threads meanwhile, and the process keeps the memory its
    updates free for the next ones (:func:`~gail_pipeline.rl.device.keep_freed_memory`).
    """
    result = LoopResult(curve=[], extra_state=dict(extra_state or {}))
    state = checkpoint.load() if checkpoint is not None else None
    if state is not None:
        learner.load_state_dict(state["learner"])
        reward_model.load_state_dict(state.get("reward_model", {}))
        result.curve = list(state["curve"])
        result.extra_state = dict(state.get("extra_state", {}))
        result.resumed_from_iteration = learner.iteration
        logger.info("resumed from %s at iteration %d", checkpoint.path, learner.iteration)

    def save() -> None:
        checkpoint.save(
            {
                "learner": learner.state_dict(),
                "reward_model": reward_model.state_dict(),
                "curve": result.curve,
                "extra_state": result.extra_state,
            }
        )

    keep_freed_memory()
    saved_at = None
    with torch_threads(learner.update_threads):
        start = time.perf_counter() - (result.curve[-1]["wall_time"] if result.curve else 0.0)
        while learner.iteration < iterations:
            if stop is not None and result.curve and stop(result.curve):
                break
            update_policy = learner.iteration >= frozen_policy_iterations
            row = iteration(learner, reward_model, batch_size, policy_step=update_policy)
            row["wall_time"] = time.perf_counter() - start
            result.curve.append(row)
            if on_iteration is not None:
                on_iteration(row)
            if checkpoint is not None and checkpoint.due(learner.iteration, iterations):
                save()
                saved_at = learner.iteration
    if checkpoint is not None and result.curve and saved_at != learner.iteration:
        save()
    return result


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
