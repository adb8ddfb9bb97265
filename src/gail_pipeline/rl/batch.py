"""What one training iteration works on: a :class:`Batch` of policy trajectories, and the
:class:`RewardModel` that scores it (GAIL's discriminator, FEM's and GTAL's linear costs, or the
environment's own reward for the expert)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from gail_pipeline.trajectories import Trajectory

__all__ = ["Batch", "EnvironmentReward", "RewardModel"]


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
