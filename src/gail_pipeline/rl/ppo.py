"""Proximal Policy Optimization (Schulman et al., 2017): the second trainer of the expert stage.

One policy step runs ``epochs`` passes of minibatch Adam over the batch on the clipped surrogate

    L(θ) = E[min(r_θ Â, clip(r_θ, 1 − ε, 1 + ε) Â)],   r_θ = π_θ(a|s) / π_old(a|s),

with the advantages standardised per minibatch and the gradient norm clipped. With ``target_kl``
set, the passes stop early once the mean KL(π_old ‖ π_θ) over the batch exceeds 1.5 × target.

TRPO (:mod:`gail_pipeline.rl.trpo`) stays the paper's trainer and the default; PPO takes many
more, smaller steps per batch and so learns from fewer environment steps where that matters
(Humanoid). Both share the rest of the iteration: sampling, GAE and the value fit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from gail_pipeline.config import ConfigError
from gail_pipeline.rl.policies import Policy

__all__ = ["SCHEDULED_SETTINGS", "PPOConfig", "ppo_step"]

SCHEDULED_SETTINGS = ("learning_rate", "target_kl", "gamma", "gae_lambda")
"""The settings a ``schedule`` may change during a run: the step size and the discount."""


@dataclass(frozen=True)
class PPOConfig:
    """PPO's policy-step hyperparameters (defaults: the common MuJoCo settings)."""

    clip: float = 0.2
    """ε of the clipped ratio (> 0)."""
    epochs: int = 10
    """Passes over the batch per iteration."""
    minibatch_size: int = 2048
    """Samples per Adam step."""
    learning_rate: float = 3e-4
    """Adam's step size."""
    max_grad_norm: float = 0.5
    """Gradient norm clip per Adam step (> 0)."""
    target_kl: float | None = None
    """Stop the passes once the batch's mean KL exceeds 1.5 × this (None: run them all)."""
    entropy_coef: float = 0.0
    """Weight of the policy entropy added to the surrogate."""
    gamma: float | None = None
    """Discount of the advantages and value targets (None: the shared ``trpo.gamma``); meant
    for the schedule: a long run may look further ahead once it has learnt to move."""
    gae_lambda: float | None = None
    """GAE's λ (None: the shared ``trpo.gae_lambda``); like ``gamma``, meant for the schedule."""
    schedule: Mapping[int, Mapping[str, Any]] | None = field(
        default=None, metadata={"parse": lambda value, where: _checked_schedule(value, where)}
    )
    """Changes late in a long run: ``{iteration: {setting: value}}`` sets ``learning_rate``,
    ``target_kl``, ``gamma`` or ``gae_lambda`` from that iteration on (iterations count from 1),
    e.g. ``{821: {target_kl: 0.03}, 921: {learning_rate: 1.0e-4}, 5011: {gamma: 0.995}}``. A run
    from scratch so takes the same steps as a run that was stopped and resumed with new ones."""

    def at(self, iteration: int) -> PPOConfig:
        """The settings of the given iteration (counted from 1): the schedule's entries up to it
        applied in order; the result has no schedule."""
        changes: dict[str, Any] = {}
        for start, values in sorted((self.schedule or {}).items()):
            if start <= iteration:
                changes.update(values)
        return dataclasses.replace(self, schedule=None, **changes)

    def checks(self) -> dict[str, bool]:
        """Which values are possible (:func:`gail_pipeline.config.parse_settings` refuses others)."""
        return {
            "clip": self.clip > 0,
            "epochs": self.epochs >= 1,
            "minibatch_size": self.minibatch_size >= 1,
            "learning_rate": self.learning_rate > 0,
            "max_grad_norm": self.max_grad_norm > 0,
            "target_kl": self.target_kl is None or self.target_kl > 0,
            "entropy_coef": self.entropy_coef >= 0,
            "gamma": self.gamma is None or 0 <= self.gamma <= 1,
            "gae_lambda": self.gae_lambda is None or 0 <= self.gae_lambda <= 1,
        }

    def nested_settings(self) -> dict[str, PPOConfig]:
        """The settings each schedule entry leads to, checked as ``schedule.<iteration>``."""
        return {f"schedule.{start}": self.at(start) for start in self.schedule or {}}


def _checked_schedule(schedule: Any, where: str) -> dict[int, dict[str, Any]]:
    """The schedule with int iterations in order, after refusing anything else with its key."""
    if not isinstance(schedule, Mapping):
        raise ConfigError(f"{where}: expected {{iteration: {{setting: value}}}}, got {schedule!r}")
    checked: dict[int, dict[str, Any]] = {}
    for start, values in schedule.items():
        try:
            iteration = int(start)
        except (TypeError, ValueError):
            iteration = 0
        if iteration < 1 or str(iteration) != str(start).strip():
            raise ConfigError(f"{where}.{start}: an iteration must be an integer >= 1")
        if not isinstance(values, Mapping) or not values:
            raise ConfigError(f"{where}.{start}: expected {{setting: value}}, got {values!r}")
        for key, value in values.items():
            if key not in SCHEDULED_SETTINGS:
                raise ConfigError(
                    f"{where}.{start}.{key}: a schedule may set only {', '.join(SCHEDULED_SETTINGS)}"
                )
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not number and not (value is None and getattr(PPOConfig, key) is None):
                raise ConfigError(f"{where}.{start}.{key}: expected a number, got {value!r}")
        checked[iteration] = dict(values)
    return dict(sorted(checked.items()))


def ppo_step(
    policy: Policy,
    optimizer: torch.optim.Optimizer,
    observations: torch.Tensor,
    actions: torch.Tensor,
    advantages: torch.Tensor,
    config: PPOConfig,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """PPO's passes over one batch; returns diagnostics (KL and entropy over the whole batch
    after the step, the fraction of clipped ratios, passes run)."""
    n = len(observations)
    with torch.no_grad():
        old_params = policy.dist_params(observations)
        old_log_prob = policy.log_prob(old_params, actions)
    parameters = [p for p in policy.parameters() if p.requires_grad]
    clipped, steps, epochs_run = 0.0, 0, 0
    for _ in range(config.epochs):
        order = torch.randperm(n, generator=generator).to(observations.device)
        for start in range(0, n, config.minibatch_size):
            idx = order[start : start + config.minibatch_size]
            adv = advantages[idx]
            adv = (adv - adv.mean()) / (adv.std() + 1e-8) if len(idx) > 1 else adv * 0
            dist = policy.dist_params(observations[idx])
            ratio = torch.exp(policy.log_prob(dist, actions[idx]) - old_log_prob[idx])
            surrogate = torch.min(ratio * adv, ratio.clamp(1 - config.clip, 1 + config.clip) * adv)
            loss = -surrogate.mean()
            if config.entropy_coef:
                loss = loss - config.entropy_coef * policy.entropy(dist).mean()
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, config.max_grad_norm)
            optimizer.step()
            clipped += float(((ratio - 1).abs() > config.clip).float().mean())
            steps += 1
        epochs_run += 1
        if config.target_kl is not None:
            with torch.no_grad():
                kl = float(policy.kl(old_params, policy.dist_params(observations)).mean())
            if kl > 1.5 * config.target_kl:
                break
    with torch.no_grad():
        dist = policy.dist_params(observations)
        kl = float(policy.kl(old_params, dist).mean())
        entropy = float(policy.entropy(dist).mean())
    return {
        "policy_kl": kl,
        "entropy": entropy,
        "clip_fraction": clipped / max(steps, 1),
        "ppo_epochs": float(epochs_run),
    }
