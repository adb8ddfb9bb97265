"""Apprenticeship learning with linear costs, trained by TRPO (Ho, Gupta & Ermon 2016).

Features of a standardised pair (s̃, ã) — the standardiser is fitted on the expert data and then
fixed — are, as in the paper's code,

* Box actions:      φ(s, a) = [s̃, ã, (0.01 s̃)², (0.01 ã)², 1]
* Discrete actions: φ(s, a) = [onehot(a) ⊗ [s̃, (0.01 s̃)²], 1]

μ_E is the mean feature vector of the expert pairs, μ_π that of the current policy batch.

* **FEM** (feature expectation matching, Abbeel & Ng's cost class ‖w‖₂ ≤ 1): the best response is
  w = (μ_E − μ_π) / ‖μ_E − μ_π‖₂, recomputed every iteration.
* **GTAL** (game-theoretic AL, Syed & Schapire's cost class, the simplex over [φ, −φ]): the best
  response is the vertex w = e_i of the doubled features ψ = [φ, −φ] with i = argmin_j (μ_π − μ_E)_j,
  the coordinate where the policy falls furthest short of the expert.

The policy's reward is w·φ / dim(φ) (w·ψ / dim(ψ) for GTAL), shifted by a constant bound B so that
its sign matches the task's GAIL reward: r + B ≥ 0 (``positive``) or r − B ≤ 0 (``negative``).
Standardised inputs are clipped to [−10, 10], so every feature is bounded by C = 10 and
|w·φ| ≤ C·√dim for FEM (‖w‖₂ = 1), |w·ψ| ≤ C for GTAL (a vertex): B = C·√dim / dim or C / dim.
The weights used for a batch's rewards are those fitted before it was sampled, as GAIL's
discriminator is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gail_pipeline.rl.batch import Batch
from gail_pipeline.rl.normalizer import RunningNormalizer
from gail_pipeline.trajectories import Demonstrations

__all__ = ["LinearCostReward", "features", "fem_weights", "gtal_weights"]

ALGORITHMS = ("fem", "gtal")


def features(observations: np.ndarray, actions: np.ndarray, discrete: bool, num_actions: int) -> np.ndarray:
    """φ(s, a) of already standardised observations (and, for Box, actions): ``(n, dim)``."""
    s = np.asarray(observations, dtype=np.float64)
    n = len(s)
    if discrete:
        block = np.concatenate([s, (0.01 * s) ** 2], axis=1)
        onehot = np.zeros((n, num_actions))
        onehot[np.arange(n), np.asarray(actions, dtype=np.int64)] = 1.0
        per_action = (onehot[:, :, None] * block[:, None, :]).reshape(n, -1)
        return np.concatenate([per_action, np.ones((n, 1))], axis=1)
    a = np.asarray(actions, dtype=np.float64).reshape(n, -1)
    return np.concatenate([s, a, (0.01 * s) ** 2, (0.01 * a) ** 2, np.ones((n, 1))], axis=1)


def fem_weights(mu_expert: np.ndarray, mu_policy: np.ndarray) -> np.ndarray:
    """w = (μ_E − μ_π) / ‖μ_E − μ_π‖₂ (zero if the expectations already match)."""
    diff = mu_expert - mu_policy
    norm = np.linalg.norm(diff)
    return diff / norm if norm > 0 else np.zeros_like(diff)


def gtal_weights(mu_expert: np.ndarray, mu_policy: np.ndarray) -> np.ndarray:
    """The vertex e_i of the simplex over ψ = [φ, −φ], i = argmin (μ_π − μ_E) over ψ's means."""
    psi_gap = np.concatenate([mu_policy - mu_expert, -(mu_policy - mu_expert)])
    weights = np.zeros_like(psi_gap)
    weights[int(np.argmin(psi_gap))] = 1.0
    return weights


class LinearCostReward:
    """FEM or GTAL as a reward model for the training loop (:func:`gail_pipeline.rl.loop.train`)."""

    def __init__(
        self, demonstrations: Demonstrations, algorithm: str, reward_sign: str, num_actions: int
    ) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
        if reward_sign not in ("positive", "negative"):
            raise ValueError(f"reward_sign must be 'positive' or 'negative', got {reward_sign!r}")
        self.algorithm = algorithm
        self.reward_sign = reward_sign
        self.discrete = demonstrations.discrete
        self.num_actions = num_actions
        obs, actions = demonstrations.observations(), demonstrations.actions()
        self.obs_normalizer = RunningNormalizer(demonstrations.observation_dim)
        self.obs_normalizer.update(obs)
        self.action_normalizer = None
        if not self.discrete:
            self.action_normalizer = RunningNormalizer(demonstrations.action_dim)
            self.action_normalizer.update(actions)
        self.expert_features = self.features(torch.as_tensor(obs), torch.as_tensor(actions))
        self.mu_expert = self.expert_features.mean(axis=0)
        dim = self.mu_expert.size * (2 if algorithm == "gtal" else 1)
        # Start from the uniform-cost point: no preference until the first policy batch is seen.
        self.weights = np.zeros(dim)

    static = False  # the reward changes with every update

    def features(self, observations: torch.Tensor, actions: torch.Tensor) -> np.ndarray:
        observations, actions = observations.detach().cpu(), actions.detach().cpu()
        with torch.no_grad():
            s = self.obs_normalizer(observations.double()).numpy()
            if self.discrete:
                a = actions.numpy()
            else:
                assert self.action_normalizer is not None
                a = self.action_normalizer(actions.double()).numpy()
        return features(s, a, self.discrete, self.num_actions)

    def _linear(self, phi: np.ndarray) -> np.ndarray:
        if self.algorithm == "gtal":
            phi = np.concatenate([phi, -phi], axis=1)
        return phi @ self.weights / len(self.weights)

    def rewards(self, batch: Batch) -> list[np.ndarray]:
        phi = self.features(batch.observations, batch.executed_actions)
        raw = self._linear(phi)
        dim = len(self.weights)
        clip = self.obs_normalizer.clip
        bound = clip * np.sqrt(dim) / dim if self.algorithm == "fem" else clip / dim
        shifted = raw + bound if self.reward_sign == "positive" else raw - bound
        return np.split(shifted, np.cumsum([len(t) for t in batch.trajectories])[:-1])

    def state_dict(self) -> dict[str, Any]:
        return {"weights": self.weights.copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.weights = np.array(state["weights"], dtype=np.float64)

    def update(self, batch: Batch) -> dict[str, float]:
        mu_policy = self.features(batch.observations, batch.executed_actions).mean(axis=0)
        if self.algorithm == "fem":
            self.weights = fem_weights(self.mu_expert, mu_policy)
        else:
            self.weights = gtal_weights(self.mu_expert, mu_policy)
        return {"feature_expectation_gap": float(np.linalg.norm(self.mu_expert - mu_policy))}
