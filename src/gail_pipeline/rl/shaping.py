"""Potential-based reward shaping for training experts on sparse-reward tasks.

F(s, s') = γ Φ(s') − Φ(s) added to the reward leaves the optimal policies unchanged
(Ng, Harada & Russell, 1999); Φ of a terminal state is taken as 0. Shaping is used only to train
an expert (the paper allows any expert); the curves and the demonstrations keep the true reward.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gail_pipeline.trajectories import Trajectory

__all__ = ["POTENTIALS", "shaped_rewards"]


def mountain_car_energy(obs: np.ndarray) -> np.ndarray:
    """Mechanical energy of MountainCar (height ∝ sin 3x, speed v), scaled to about [0, 100]."""
    position, velocity = obs[:, 0], obs[:, 1]
    return 100.0 * (0.0025 * (np.sin(3 * position) + 1) + 0.5 * velocity**2) / 0.00745


POTENTIALS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mountain_car_energy": mountain_car_energy,
}


def shaped_rewards(trajectory: Trajectory, gamma: float, potential: str) -> np.ndarray:
    """r_t + γ Φ(s_{t+1}) − Φ(s_t) along one trajectory."""
    if potential not in POTENTIALS:
        raise ValueError(f"unknown reward shaping {potential!r}; known: {sorted(POTENTIALS)}")
    phi = POTENTIALS[potential]
    values = phi(trajectory.observations.astype(np.float64))
    if trajectory.terminated or trajectory.final_observation is None:
        last = 0.0
    else:
        last = float(phi(trajectory.final_observation[None].astype(np.float64))[0])
    next_values = np.append(values[1:], last)
    return trajectory.rewards + gamma * next_values - values
