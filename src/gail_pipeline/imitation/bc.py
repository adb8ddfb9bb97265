"""Behavioral cloning: maximum likelihood of the expert's actions, as in the paper.

The (s, a) pairs are split 70/30 into training and validation sets; Adam (lr 1e-3) takes
``steps`` minibatch steps (128 pairs) on the negative log-likelihood −log π(a|s); every
``validate_every`` steps the validation NLL is measured and the best iterate is kept.
The observation standardiser is fitted on the training pairs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from gail_pipeline.config import check_settings
from gail_pipeline.rl.policies import Policy
from gail_pipeline.trajectories import Demonstrations

__all__ = ["BCConfig", "BCResult", "train_bc"]


@dataclass(frozen=True)
class BCConfig:
    """Behavioral-cloning hyperparameters (defaults: the paper's classic-control setting)."""

    steps: int = 1001
    """Adam steps (paper: 1,001 classic, 10,001 Reacher, 20,001 other MuJoCo). In the pipeline, the
    task's ``bc_steps`` (tasks.yml)."""
    validate_every: int = 100
    """Validation interval in steps (paper: 100 / 500 / 1,000). In the pipeline, the task's
    ``bc_validate_every``."""
    learning_rate: float = 1e-3
    """Adam's step size."""
    minibatch_size: int = 128
    """(s, a) pairs per Adam step."""
    train_fraction: float = 0.7
    """Share of the pairs used for training; the rest validates, (0, 1)."""

    def checks(self) -> dict[str, bool]:
        """Which values are possible (:func:`gail_pipeline.config.parse_settings` refuses others)."""
        return {
            "steps": self.steps >= 1,
            "validate_every": self.validate_every >= 1,
            "learning_rate": self.learning_rate > 0,
            "minibatch_size": self.minibatch_size >= 1,
            "train_fraction": 0 < self.train_fraction < 1,
        }


@dataclass
class BCResult:
    policy: Policy
    """The iterate with the lowest validation NLL."""
    curve: list[dict[str, float]]
    """One row per validation: step, train_nll (mean since last row), validation_nll."""
    best_step: int


def train_bc(policy: Policy, demonstrations: Demonstrations, config: BCConfig, seed: int) -> BCResult:
    """Fit ``policy`` (modified in place, then set to its best iterate) to the expert pairs, on
    the device the policy's parameters are on."""
    check_settings(config, "bc")
    device = next(policy.parameters()).device
    observations = torch.as_tensor(demonstrations.observations()).to(device)
    actions = torch.as_tensor(demonstrations.actions()).to(device)
    n = len(observations)
    if n < 2:
        raise ValueError(f"behavioral cloning needs at least 2 (s, a) pairs, the dataset has {n}")
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=generator).to(device)
    n_train = min(max(1, round(config.train_fraction * n)), n - 1)
    train_idx, valid_idx = order[:n_train], order[n_train:]
    policy.obs_normalizer.update(observations[train_idx])

    optimizer = torch.optim.Adam(policy.parameters(), lr=config.learning_rate)
    best_state: dict[str, Any] = copy.deepcopy(policy.state_dict())
    best_nll, best_step = float("inf"), 0
    curve: list[dict[str, float]] = []
    running: list[float] = []
    for step in range(config.steps):
        batch = train_idx[torch.randint(n_train, (config.minibatch_size,), generator=generator).to(device)]
        params = policy.dist_params(observations[batch])
        loss = -policy.log_prob(params, actions[batch]).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        running.append(loss.item())
        if step % config.validate_every == 0 or step == config.steps - 1:
            with torch.no_grad():
                valid_params = policy.dist_params(observations[valid_idx])
                valid_nll = float(-policy.log_prob(valid_params, actions[valid_idx]).mean())
            curve.append({"step": step, "train_nll": float(np.mean(running)), "validation_nll": valid_nll})
            running = []
            if valid_nll < best_nll:
                best_nll, best_step = valid_nll, step
                best_state = copy.deepcopy(policy.state_dict())
    policy.load_state_dict(best_state)
    return BCResult(policy, curve, best_step)
