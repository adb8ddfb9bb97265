"""Generalised advantage estimation (Schulman et al., 2016).

For one trajectory of length T with rewards r_t and values V_t = V(s_t):

    δ_t = r_t + γ V_{t+1} − V_t,          Â_t = Σ_{l≥0} (γλ)^l δ_{t+l},

where V_T is the value *after* the last step: 0 if the episode **terminated** (there is no
future), V(s_T) if it was **truncated** by the time limit (the future was only cut off), the
distinction Pardo et al. (2018) showed matters. The value targets are R̂_t = Â_t + V_t.
"""

from __future__ import annotations

import numpy as np

__all__ = ["compute_gae", "compute_gae_batch", "discount_cumsum"]


def discount_cumsum(x: np.ndarray, discount: float) -> np.ndarray:
    """``y_t = Σ_{l≥0} discount^l x_{t+l}`` along the first axis."""
    out = np.empty(len(x), dtype=np.float64)
    running = 0.0
    for t in range(len(x) - 1, -1, -1):
        running = x[t] + discount * running
        out[t] = running
    return out


def compute_gae(
    rewards: np.ndarray,
    values: np.ndarray,
    bootstrap_value: float,
    gamma: float,
    lam: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Advantages and value targets of one trajectory.

    Args:
        rewards: ``(T,)`` rewards r_0 … r_{T−1}.
        values: ``(T,)`` V(s_0) … V(s_{T−1}).
        bootstrap_value: V(s_T) if the trajectory was truncated, 0 if it terminated.
        gamma: discount γ ∈ [0, 1].
        lam: GAE λ ∈ [0, 1].

    Returns:
        ``(advantages, returns)``, both ``(T,)`` float64, with ``returns = advantages + values``.
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    next_values = np.append(values[1:], bootstrap_value)
    deltas = rewards + gamma * next_values - values
    advantages = discount_cumsum(deltas, gamma * lam)
    return advantages, advantages + values


def compute_gae_batch(
    rewards: np.ndarray,
    values: np.ndarray,
    lengths: np.ndarray,
    bootstrap_values: np.ndarray,
    gamma: float,
    lam: float,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`compute_gae` for many trajectories at once, laid end to end.

    ``rewards`` and ``values`` are ``(N,)`` with the trajectories' steps one after the other,
    ``lengths`` their lengths (summing to N) and ``bootstrap_values`` their V(s_T) (0 where the
    episode terminated). The trajectories are padded into one ``(T_max, count)`` matrix and
    scanned backwards once: ``T_max`` vector operations instead of N scalar ones.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    rewards = np.asarray(rewards, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    count, horizon = len(lengths), int(lengths.max()) if len(lengths) else 0
    if lengths.sum() != len(rewards) or len(values) != len(rewards):
        raise ValueError("rewards, values and the trajectory lengths disagree")
    # Time-major, so that each step of the backward scan reads and writes one contiguous row.
    steps = np.arange(len(rewards)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    trajectory = np.repeat(np.arange(count), lengths)
    padded_values = np.zeros((horizon + 1, count))
    padded_values[steps, trajectory] = values
    padded_values[lengths, np.arange(count)] = bootstrap_values
    deltas = np.zeros((horizon, count))  # past a trajectory's end nothing flows back
    deltas[steps, trajectory] = rewards + gamma * padded_values[steps + 1, trajectory] - values
    advantages = np.empty((horizon, count))
    running = np.zeros(count)
    decay = gamma * lam
    for t in range(horizon - 1, -1, -1):
        running *= decay
        running += deltas[t]
        advantages[t] = running
    flat = advantages[steps, trajectory]
    return flat, flat + values
