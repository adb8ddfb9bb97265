"""Trajectories in memory and on disk (Parquet), validated when built and when read.

In memory a :class:`Trajectory` holds one episode (or, after subsampling, every k-th step of one).
On disk a set of trajectories is one Parquet file with **one row per step**:

============== ================================== =================================================
column         Arrow type                         meaning
============== ================================== =================================================
``trajectory`` int64                              index of the trajectory in the file (0, 1, ...)
``step``       int64                              time step of the row in its episode (0-based)
``observation`` fixed_size_list<float32>[obs_dim] observation before the action
``action``     fixed_size_list<float32>[act_dim]  action taken (Box action spaces)
               *or* int64                         action taken (Discrete action spaces)
``reward``     float64                            true reward of the step
``terminated`` bool                               the episode ended in a terminal state at this step
``truncated``  bool                               the episode was cut by the time limit at this step
============== ================================== =================================================

The schema metadata holds ``env_id``, ``observation_dim``, ``action_kind`` (``box`` or
``discrete``), ``action_dim`` and free-form provenance (expert version, seed, subsampling ...).
:func:`read_trajectories` checks all of it and raises one :class:`TrajectoryFileError` naming the
file and the field at fault (and the row, for a bad value). Each trajectory is a whole episode: its
last row, and no other, has ``terminated`` or ``truncated`` set (a subsampled trajectory carries
its episode's end on its last kept row; files subsampled by earlier versions, provenance
``subsample_interval`` above 1, may lack it and are read without that check).
:func:`check_against_spaces` checks the data against an environment's spaces, discrete actions
included (``0 <= action < num_actions``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "COLUMNS",
    "Demonstrations",
    "Trajectory",
    "TrajectoryFileError",
    "from_table",
    "read_trajectories",
    "subsample",
    "to_table",
    "write_trajectories",
]

COLUMNS = ("trajectory", "step", "observation", "action", "reward", "terminated", "truncated")
_REQUIRED_METADATA = ("env_id", "observation_dim", "action_kind", "action_dim")


class TrajectoryFileError(ValueError):
    """A trajectory file (or table) does not follow the schema. The message names file and field."""


@dataclass
class Trajectory:
    """One episode, or a subsample of one.

    Attributes:
        observations: ``(T, obs_dim)`` float32, the observation before each action.
        actions: ``(T, act_dim)`` float32 for Box actions, ``(T,)`` int64 for Discrete ones.
        rewards: ``(T,)`` float64 true rewards.
        terminated: the episode ended in a terminal state after its last step.
        truncated: the episode was cut by the time limit after its last step.
        final_observation: ``(obs_dim,)`` the observation after the last step, when known
            (needed to bootstrap the value of a truncated episode; not stored in Parquet).
        steps: ``(T,)`` int64 time step of each row in its episode (``0..T-1`` unless subsampled).
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminated: bool = False
    truncated: bool = False
    final_observation: np.ndarray | None = None
    steps: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        n = len(self.observations)
        if self.steps is None:
            self.steps = np.arange(n, dtype=np.int64)
        if self.observations.ndim != 2:
            raise ValueError(f"observations must be (T, obs_dim), got shape {self.observations.shape}")
        if self.actions.ndim not in (1, 2):
            raise ValueError(f"actions must be (T,) or (T, act_dim), got shape {self.actions.shape}")
        for name in ("actions", "rewards", "steps"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} rows, observations {n}")
        if self.terminated and self.truncated:
            raise ValueError("a trajectory cannot be both terminated and truncated")

    def __len__(self) -> int:
        return len(self.observations)

    @property
    def discrete(self) -> bool:
        return self.actions.ndim == 1

    @property
    def episode_return(self) -> float:
        return float(self.rewards.sum())


@dataclass
class Demonstrations:
    """A set of trajectories of one environment and the provenance that goes with them."""

    trajectories: list[Trajectory]
    env_id: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.trajectories:
            raise ValueError("Demonstrations need at least one trajectory")
        first = self.trajectories[0]
        for i, t in enumerate(self.trajectories):
            if t.observations.shape[1] != first.observations.shape[1]:
                raise ValueError(f"trajectory {i}: observation width differs from trajectory 0")
            if t.discrete != first.discrete or t.actions.shape[1:] != first.actions.shape[1:]:
                raise ValueError(f"trajectory {i}: action shape differs from trajectory 0")

    @property
    def observation_dim(self) -> int:
        return int(self.trajectories[0].observations.shape[1])

    @property
    def discrete(self) -> bool:
        return self.trajectories[0].discrete

    @property
    def action_dim(self) -> int:
        t = self.trajectories[0]
        return 1 if t.discrete else int(t.actions.shape[1])

    @property
    def num_steps(self) -> int:
        return sum(len(t) for t in self.trajectories)

    def returns(self) -> np.ndarray:
        return np.array([t.episode_return for t in self.trajectories])

    def observations(self) -> np.ndarray:
        return np.concatenate([t.observations for t in self.trajectories])

    def actions(self) -> np.ndarray:
        return np.concatenate([t.actions for t in self.trajectories])

    def digest(self) -> str:
        """A short content hash of what a learner reads: each trajectory's observations, actions,
        time steps and how it ended (recorded by each policy trained on them, so that a unit kept
        by ``--only-missing-outputs`` can be told from one trained on other demonstrations of
        the same name)."""
        h = hashlib.sha1(self.env_id.encode())
        for t in self.trajectories:
            actions = t.actions.astype(np.int64 if t.discrete else np.float32)
            # as the Parquet schema stores them: the same rows hash the same however they were built
            # (their shapes are the env's, whose id is hashed)
            for array in (t.observations.astype(np.float32), actions, t.steps.astype(np.int64)):
                h.update(np.ascontiguousarray(array).tobytes())
            h.update(bytes([bool(t.terminated), bool(t.truncated)]))
        return h.hexdigest()[:12]


def subsample(
    demonstrations: Demonstrations, num_trajectories: int, interval: int, seed: int
) -> Demonstrations:
    """The paper's expert datasets: the first ``num_trajectories`` trajectories, each reduced to
    every ``interval``-th (s, a) pair starting from a random offset in ``[0, interval)``.

    Rewards are kept for the rows that remain. How the episode ended (``terminated`` /
    ``truncated``) stays with the trajectory, on its last kept row: what a learner that treats
    early terminations specially (absorbing states) needs to know of the expert's episodes.
    """
    available = len(demonstrations.trajectories)
    if num_trajectories > available:
        raise ValueError(
            f"cannot draw a dataset of {num_trajectories} trajectories from {available} "
            f"expert trajectories of {demonstrations.env_id}"
        )
    if interval < 1:
        raise ValueError(f"subsample interval must be >= 1, got {interval}")
    rng = np.random.default_rng(seed)
    kept: list[Trajectory] = []
    for traj in demonstrations.trajectories[:num_trajectories]:
        offset = int(rng.integers(interval)) if interval > 1 else 0
        offset = min(offset, len(traj) - 1)
        idx = np.arange(offset, len(traj), interval)
        kept.append(
            Trajectory(
                observations=traj.observations[idx],
                actions=traj.actions[idx],
                rewards=traj.rewards[idx],
                terminated=traj.terminated,
                truncated=traj.truncated,
                steps=traj.steps[idx],
            )
        )
    metadata = dict(demonstrations.metadata)
    metadata.update(
        {"num_trajectories": num_trajectories, "subsample_interval": interval, "subsample_seed": seed}
    )
    return Demonstrations(kept, demonstrations.env_id, metadata)


# --------------------------------------------------------------------------------------------
# Arrow / Parquet
# --------------------------------------------------------------------------------------------
def to_table(demonstrations: Demonstrations) -> pa.Table:
    """The Arrow table of the schema above, with its metadata."""
    trajs = demonstrations.trajectories
    lengths = np.array([len(t) for t in trajs], dtype=np.int64)
    obs_dim = demonstrations.observation_dim
    observations = np.concatenate([t.observations for t in trajs]).astype(np.float32, copy=False)
    obs_col = pa.FixedSizeListArray.from_arrays(pa.array(observations.reshape(-1)), obs_dim)
    if demonstrations.discrete:
        act_col = pa.array(np.concatenate([t.actions for t in trajs]).astype(np.int64))
    else:
        actions = np.concatenate([t.actions for t in trajs]).astype(np.float32, copy=False)
        act_col = pa.FixedSizeListArray.from_arrays(pa.array(actions.reshape(-1)), demonstrations.action_dim)
    terminated = np.zeros(lengths.sum(), dtype=bool)
    truncated = np.zeros(lengths.sum(), dtype=bool)
    ends = np.cumsum(lengths) - 1
    terminated[ends] = [t.terminated for t in trajs]
    truncated[ends] = [t.truncated for t in trajs]
    metadata = {
        "env_id": demonstrations.env_id,
        "observation_dim": str(obs_dim),
        "action_kind": "discrete" if demonstrations.discrete else "box",
        "action_dim": str(demonstrations.action_dim),
        "provenance": json.dumps(demonstrations.metadata, sort_keys=True, default=str),
    }
    table = pa.table(
        {
            "trajectory": pa.array(np.repeat(np.arange(len(trajs), dtype=np.int64), lengths)),
            "step": pa.array(np.concatenate([t.steps for t in trajs]).astype(np.int64)),
            "observation": obs_col,
            "action": act_col,
            "reward": pa.array(np.concatenate([t.rewards for t in trajs]).astype(np.float64)),
            "terminated": pa.array(terminated),
            "truncated": pa.array(truncated),
        }
    )
    return table.replace_schema_metadata({k: v.encode() for k, v in metadata.items()})


def from_table(
    table: pa.Table,
    source: str = "<table>",
    expected_env_id: str | None = None,
    expected_observation_dim: int | None = None,
) -> Demonstrations:
    """Validate a table against the schema and turn it into :class:`Demonstrations`.

    Raises:
        TrajectoryFileError: naming ``source`` and the column or metadata key at fault.
    """

    def fail(what: str, message: str) -> TrajectoryFileError:
        return TrajectoryFileError(f"{source}: {what}: {message}")

    raw_meta = table.schema.metadata or {}
    meta = {k.decode(): v.decode() for k, v in raw_meta.items()}
    for key in _REQUIRED_METADATA:
        if key not in meta:
            raise fail(f"schema metadata '{key}'", "missing (was the file written by gail_pipeline?)")
    env_id = meta["env_id"]
    if expected_env_id is not None and env_id != expected_env_id:
        raise fail("schema metadata 'env_id'", f"file holds {env_id!r}, expected {expected_env_id!r}")
    try:
        obs_dim = int(meta["observation_dim"])
        action_dim = int(meta["action_dim"])
    except ValueError as exc:
        raise fail("schema metadata", f"observation_dim/action_dim are not integers ({exc})") from exc
    if expected_observation_dim is not None and obs_dim != expected_observation_dim:
        raise fail(
            "column 'observation'",
            f"width {obs_dim} but {env_id} observations have {expected_observation_dim} values",
        )
    kind = meta["action_kind"]
    if kind not in ("box", "discrete"):
        raise fail("schema metadata 'action_kind'", f"expected 'box' or 'discrete', got {kind!r}")

    for name in COLUMNS:
        if name not in table.column_names:
            raise fail(f"column '{name}'", f"missing; the file has {table.column_names}")
    if table.num_rows == 0:
        raise fail("rows", "the file holds no steps")

    def check_type(name: str, expected: pa.DataType) -> None:
        actual = table.schema.field(name).type
        if actual != expected:
            raise fail(f"column '{name}'", f"type {actual}, expected {expected}")

    check_type("trajectory", pa.int64())
    check_type("step", pa.int64())
    check_type("observation", pa.list_(pa.float32(), obs_dim))
    check_type("action", pa.int64() if kind == "discrete" else pa.list_(pa.float32(), action_dim))
    check_type("reward", pa.float64())
    check_type("terminated", pa.bool_())
    check_type("truncated", pa.bool_())
    for name in COLUMNS:
        if table.column(name).null_count:
            raise fail(f"column '{name}'", f"{table.column(name).null_count} null values")

    table = table.combine_chunks()
    traj_ids = table.column("trajectory").to_numpy()
    steps = table.column("step").to_numpy()
    observations = _flat_values(table, "observation").reshape(-1, obs_dim)
    if kind == "discrete":
        actions = table.column("action").to_numpy()
    else:
        actions = _flat_values(table, "action").reshape(-1, action_dim)
    rewards = table.column("reward").to_numpy()
    terminated = table.column("terminated").to_numpy(zero_copy_only=False)
    truncated = table.column("truncated").to_numpy(zero_copy_only=False)

    for name, values in (("observation", observations), ("action", actions), ("reward", rewards)):
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            bad = int(np.argwhere(~np.isfinite(values.reshape(len(values), -1)).all(axis=1))[0, 0])
            raise fail(f"column '{name}'", f"NaN or infinite value (first at row {bad})")
    if kind == "discrete" and (actions < 0).any():
        bad = int(np.flatnonzero(actions < 0)[0])
        raise fail(
            "column 'action'",
            f"negative discrete action {int(actions[bad])} at row {bad} "
            f"(trajectory {traj_ids[bad]}, step {steps[bad]})",
        )
    if (np.diff(traj_ids) < 0).any():
        raise fail("column 'trajectory'", "rows are not grouped by trajectory in ascending order")

    try:
        provenance = json.loads(meta.get("provenance", "{}"))
    except json.JSONDecodeError as exc:
        raise fail("schema metadata 'provenance'", f"not JSON ({exc})") from exc
    # Earlier versions kept an episode's end flag in a subsampled file only with its last row.
    whole_episodes = not _subsampled(provenance)

    boundaries = np.flatnonzero(np.diff(traj_ids)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(traj_ids)]])
    trajectories: list[Trajectory] = []
    for start, end in zip(starts, ends, strict=True):
        if (np.diff(steps[start:end]) <= 0).any():
            raise fail("column 'step'", f"steps of trajectory {traj_ids[start]} do not increase")
        inner = slice(start, end - 1)
        if terminated[inner].any() or truncated[inner].any():
            raise fail(
                "columns 'terminated'/'truncated'",
                f"trajectory {traj_ids[start]} is flagged done before its last row",
            )
        if whole_episodes and not (terminated[end - 1] or truncated[end - 1]):
            raise fail(
                "columns 'terminated'/'truncated'",
                f"row {end - 1}, the last of trajectory {traj_ids[start]} (step {steps[end - 1]}), "
                "has neither flag set: the episode has no end (every trajectory must end in a "
                "terminal state or at the time limit)",
            )
        trajectories.append(
            Trajectory(
                observations=observations[start:end],
                actions=actions[start:end],
                rewards=rewards[start:end],
                terminated=bool(terminated[end - 1]),
                truncated=bool(truncated[end - 1]) and not bool(terminated[end - 1]),
                steps=steps[start:end],
            )
        )
    return Demonstrations(trajectories, env_id, provenance)


def _subsampled(provenance: Any) -> bool:
    """Whether the provenance records a subsampling that may drop an episode's last row."""
    interval = provenance.get("subsample_interval", 1) if isinstance(provenance, dict) else 1
    return isinstance(interval, int) and not isinstance(interval, bool) and interval > 1


def _flat_values(table: pa.Table, name: str) -> np.ndarray:
    column = table.column(name)
    chunk = column.chunk(0) if column.num_chunks else column
    return chunk.values.to_numpy()


def write_trajectories(demonstrations: Demonstrations, path: str | Path) -> None:
    """Write to ``path`` through a temporary file, so a half-written file never looks finished."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(to_table(demonstrations), tmp)
    tmp.replace(path)


def read_trajectories(
    path: str | Path | BinaryIO,
    expected_env_id: str | None = None,
    expected_observation_dim: int | None = None,
    name: str | None = None,
) -> Demonstrations:
    """Read and validate a trajectory Parquet file (a path or an open binary file; ``name`` names
    it in errors); every error names the file and the field."""
    name = str(path) if name is None else name
    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise
    except Exception as exc:  # truncated, not Parquet at all, unreadable
        raise TrajectoryFileError(f"{name}: not a readable Parquet file ({exc})") from exc
    return from_table(table, name, expected_env_id, expected_observation_dim)


def check_against_spaces(
    demonstrations: Demonstrations,
    observation_dim: int,
    discrete: bool,
    action_dim: int,
    source: str,
    *,
    num_actions: int | None = None,
) -> None:
    """Raise :class:`TrajectoryFileError` if the data does not fit an environment's spaces.

    ``num_actions``: for a Discrete action space, its number of actions ``n``; every action must
    then lie in ``0..n-1`` (the error names the first row outside, counted as in the file).
    """
    if demonstrations.observation_dim != observation_dim:
        raise TrajectoryFileError(
            f"{source}: column 'observation': width {demonstrations.observation_dim}, "
            f"the environment's observations have {observation_dim} values"
        )
    if demonstrations.discrete != discrete or (not discrete and demonstrations.action_dim != action_dim):
        kind = "discrete" if demonstrations.discrete else f"box[{demonstrations.action_dim}]"
        want = "discrete" if discrete else f"box[{action_dim}]"
        raise TrajectoryFileError(f"{source}: column 'action': {kind} actions, the environment takes {want}")
    if discrete and num_actions is not None:
        row = 0
        for index, trajectory in enumerate(demonstrations.trajectories):
            outside = (trajectory.actions < 0) | (trajectory.actions >= num_actions)
            if outside.any():
                i = int(np.flatnonzero(outside)[0])
                raise TrajectoryFileError(
                    f"{source}: column 'action': row {row + i} (trajectory {index}, step "
                    f"{int(trajectory.steps[i])}): discrete action {int(trajectory.actions[i])} "
                    f"outside the environment's {num_actions} actions (0..{num_actions - 1})"
                )
            row += len(trajectory)
