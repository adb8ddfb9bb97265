"""Bring your own demonstrations: Minari datasets and the ``imitation`` library's trajectory files,
turned into the project's trajectories and validated exactly like the project's own Parquet files.

    python -m gail_pipeline.importers minari cartpole/expert-v0 --task cartpole
    python -m gail_pipeline.importers imitation path/to/rollouts --env-id CartPole-v1 --task cartpole
    python -m gail_pipeline.importers minari path/to/dataset --output demos.parquet

``--task`` saves the demonstrations through the project's catalog as a new version of the task's
``<task>.expert_trajectories`` (``<data_root>/03_primary/<task>/expert_trajectories.parquet``,
``data_root`` from ``conf/<env>/globals.yml``), the demonstrations stage's source; then ``kedro
run --pipelines demonstrations --from-nodes <task>.subsample_datasets`` cuts the datasets of the
paper's sizes from it, and the imitation stage trains on them. The project is the current
directory (``--project`` for another), its conf env ``KEDRO_ENV`` or ``local`` (``--env``); a task
not in its parameters' ``tasks`` is refused before anything is read. ``--output`` writes one
Parquet file anywhere.

Validation (one :class:`~gail_pipeline.trajectories.TrajectoryFileError` naming the source and the
field): the episodes go through the project's Parquet schema checks (dtypes, NaN/inf, episode
ends: each episode must end terminated or truncated), then against the environment's spaces
(observation width, Box or Discrete actions and their width, discrete actions within the action
space) — the same checks every stage makes when it reads a file.

Formats read:

* **Minari** (``pip install "minari[arrow,hdf5]"``): a dataset id in the local Minari store
  (``MINARI_DATASETS_PATH``) or the path of a dataset's folder; the env id comes from the
  dataset's spec unless given. Observations must be flat arrays (no Dict spaces); Minari stores
  T + 1 observations per episode, the last one being the final observation.
* **imitation** (``imitation.data.serialize.save``): a HuggingFace ``datasets`` folder
  (``data-*.arrow``: one row per trajectory with ``obs`` (T + 1), ``acts``, ``infos``,
  ``terminal``, ``rews``), read with pyarrow alone, or the older ``.npz`` form (``obs``, ``acts``,
  ``indices``, ``terminal``, ``rews``). It records no env id: give ``--env-id``. Trajectories
  without rewards get zero rewards (imitation never uses them).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pyarrow as pa

from gail_pipeline.logs import exit_without_teardown
from gail_pipeline.trajectories import (
    Demonstrations,
    Trajectory,
    TrajectoryFileError,
    check_against_spaces,
    from_table,
    to_table,
    write_trajectories,
)

__all__ = ["from_imitation", "from_minari", "save_to_task", "validate_for_env"]


def _trajectory(
    observations: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray | None,
    terminated: bool,
    truncated: bool,
    source: str,
    index: int,
) -> Trajectory:
    observations = np.asarray(observations)
    if observations.ndim != 2:
        raise TrajectoryFileError(
            f"{source}: episode {index}: observations of shape {observations.shape}; only flat "
            "(Box) observations can be imported"
        )
    actions = np.asarray(actions)
    steps = len(actions)
    if len(observations) != steps + 1:
        raise TrajectoryFileError(
            f"{source}: episode {index}: {len(observations)} observations for {steps} actions "
            "(expected one more observation than actions: the final one)"
        )
    if steps == 0:
        raise TrajectoryFileError(f"{source}: episode {index}: no steps")
    discrete = np.issubdtype(actions.dtype, np.integer)
    rewards = np.zeros(steps) if rewards is None else np.asarray(rewards, dtype=np.float64).reshape(-1)
    return Trajectory(
        observations=observations[:-1].astype(np.float32),
        actions=actions.astype(np.int64).reshape(-1)
        if discrete
        else actions.astype(np.float32).reshape(steps, -1),
        rewards=rewards,
        terminated=bool(terminated),
        truncated=bool(truncated) and not bool(terminated),
        final_observation=observations[-1].astype(np.float32),
    )


def validate_for_env(
    demonstrations: Demonstrations, source: str, env: gym.Env | None = None
) -> Demonstrations:
    """The project's checks: the Parquet schema's (through a round trip of the table) and the
    environment's spaces (``env``, default: ``gym.make(demonstrations.env_id)``). Returns the
    demonstrations unchanged when they pass."""
    checked = from_table(to_table(demonstrations), source, expected_env_id=demonstrations.env_id)
    if env is None:
        try:
            env = gym.make(demonstrations.env_id)
        except gym.error.Error as exc:
            raise TrajectoryFileError(f"{source}: env id {demonstrations.env_id!r}: {exc}") from exc
    space = env.action_space
    if not isinstance(space, (gym.spaces.Box, gym.spaces.Discrete)):
        raise TrajectoryFileError(
            f"{source}: {demonstrations.env_id} has {type(space).__name__} actions; Box or Discrete only"
        )
    discrete = isinstance(space, gym.spaces.Discrete)
    check_against_spaces(
        checked,
        int(np.prod(env.observation_space.shape)),
        discrete,
        1 if discrete else int(space.shape[0]),
        source,
        num_actions=int(space.n) if discrete else None,
    )
    return demonstrations  # checked; it also keeps the final observations the Parquet form drops


def from_minari(dataset: str | Path, env_id: str | None = None) -> Demonstrations:
    """Episodes of a Minari dataset (an id in the local store, or a dataset folder's path)."""
    try:
        import minari
    except ImportError as exc:
        raise ImportError('Minari datasets need minari: pip install "minari[arrow,hdf5]"') from exc
    source = str(dataset)
    path = Path(dataset)
    try:
        if path.exists():
            data_dir = path / "data" if (path / "data").is_dir() else path
            ds = minari.MinariDataset(data_dir)
        else:
            ds = minari.load_dataset(str(dataset))
    except Exception as exc:
        raise TrajectoryFileError(
            f"{source}: not a readable Minari dataset ({type(exc).__name__}: {exc})"
        ) from exc
    spec_env = ds.spec.env_spec.id if ds.spec.env_spec is not None else None
    env_id = env_id or spec_env
    if env_id is None:
        raise TrajectoryFileError(f"{source}: the dataset records no env id; give one (--env-id)")
    trajectories = [
        _trajectory(
            ep.observations, ep.actions, ep.rewards, ep.terminations[-1], ep.truncations[-1], source, i
        )
        for i, ep in enumerate(ds.iterate_episodes())
    ]
    if not trajectories:
        raise TrajectoryFileError(f"{source}: no episodes")
    metadata = {"source": "minari", "dataset": source, "dataset_id": ds.spec.dataset_id}
    return validate_for_env(Demonstrations(trajectories, env_id, metadata), source)


def _imitation_rows(path: Path) -> list[dict[str, Any]]:
    if path.is_dir():
        shards = sorted(path.glob("data-*.arrow"))
        if not shards:
            raise TrajectoryFileError(
                f"{path}: no data-*.arrow files (not a `datasets` folder saved by imitation)"
            )
        tables = []
        for shard in shards:
            try:
                with pa.memory_map(str(shard)) as source:
                    tables.append(pa.ipc.open_stream(source).read_all())
            except pa.ArrowInvalid as exc:
                raise TrajectoryFileError(f"{shard}: not a readable Arrow stream ({exc})") from exc
        table = pa.concat_tables(tables)
        missing = {"obs", "acts", "terminal"} - set(table.column_names)
        if missing:
            raise TrajectoryFileError(
                f"{path}: column(s) {sorted(missing)} missing; the folder has {table.column_names}"
            )
        return table.to_pylist()
    import zipfile

    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise TrajectoryFileError(
            f"{path}: neither a `datasets` folder nor a readable .npz file ({exc})"
        ) from exc
    missing = {"obs", "acts", "indices", "terminal"} - set(data.files)
    if missing:
        raise TrajectoryFileError(f"{path}: array(s) {sorted(missing)} missing; the file has {data.files}")
    n = len(data["indices"])
    obs = np.split(data["obs"], data["indices"] + np.arange(n) + 1)
    acts = np.split(data["acts"], data["indices"])
    rews = np.split(data["rews"], data["indices"]) if "rews" in data.files else [None] * (n + 1)
    return [
        {"obs": o, "acts": a, "rews": r, "terminal": t}
        for o, a, r, t in zip(obs, acts, rews, data["terminal"], strict=True)
    ]


def from_imitation(path: str | Path, env_id: str) -> Demonstrations:
    """Trajectories saved by the ``imitation`` library (``datasets`` folder or ``.npz``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    rows = _imitation_rows(path)
    if not rows:
        raise TrajectoryFileError(f"{path}: no trajectories")
    trajectories = [
        # `terminal`: the episode ended in a terminal state; otherwise it was cut short.
        _trajectory(
            np.asarray(r["obs"]),
            np.asarray(r["acts"]),
            r.get("rews"),
            bool(r["terminal"]),
            not bool(r["terminal"]),
            str(path),
            i,
        )
        for i, r in enumerate(rows)
    ]
    metadata = {"source": "imitation", "dataset": str(path)}
    return validate_for_env(Demonstrations(trajectories, env_id, metadata), str(path))


def save_to_task(demonstrations: Demonstrations, task: str, catalog: Any, tasks: dict[str, Any]) -> str:
    """Save ``demonstrations`` as a new version of ``<task>.expert_trajectories`` in ``catalog``
    (a Kedro ``DataCatalog`` of the project) after checking them against the task of ``tasks``
    (the parameters' ``tasks``): an unknown task, or trajectories of another env, are refused
    with nothing written. Returns the path of the version written, read back as the stages
    read it."""
    if task not in tasks:
        raise TrajectoryFileError(f"task {task!r}: not in conf's tasks ({', '.join(sorted(tasks))})")
    want = tasks[task]["env_id"]
    if want != demonstrations.env_id:
        raise TrajectoryFileError(
            f"{demonstrations.metadata.get('dataset', 'the demonstrations')}: trajectories of "
            f"{demonstrations.env_id!r}, task {task!r} is {want!r}"
        )
    name = f"{task}.expert_trajectories"
    catalog.save(name, demonstrations)
    version = catalog.get(name).resolve_save_version()
    return catalog.load(name, version=version).metadata["path"]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("format", choices=["minari", "imitation"])
    parser.add_argument("source", help="Minari dataset id or folder; imitation folder or .npz file")
    parser.add_argument(
        "--env-id", help="the Gymnasium env id (imitation: required; Minari: from the dataset)"
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--task", help="save through the project's catalog as a new version of <task>.expert_trajectories"
    )
    target.add_argument("--output", type=Path, help="write this Parquet file")
    parser.add_argument(
        "--project", type=Path, default=None, help="with --task: the Kedro project (default: .)"
    )
    parser.add_argument(
        "--env", default=None, help="with --task: the conf env (default: KEDRO_ENV, else local)"
    )
    args = parser.parse_args(argv)
    if args.format == "imitation" and not args.env_id:
        parser.error("imitation files record no env id: give --env-id")
    if args.output and (args.project or args.env):
        parser.error("--project and --env go with --task (--output writes one file, no catalog)")
    # Kedro logs to stdout: with --task, its lines go to stderr and stdout carries the report alone.
    with contextlib.redirect_stdout(sys.stderr) if args.task else contextlib.nullcontext():
        if args.task:
            from gail_pipeline.catalog import project_context  # the Kedro layer: only for --task

            context = project_context(args.project, env=args.env)
            tasks = context.config_loader["parameters"].get("tasks", {})
            if args.task not in tasks:
                parser.error(f"--task {args.task}: not in conf's tasks ({', '.join(sorted(tasks))})")
        demos = (
            from_minari(args.source, args.env_id)
            if args.format == "minari"
            else from_imitation(args.source, args.env_id)
        )
        if args.task:
            written = save_to_task(demos, args.task, context.catalog, tasks)
        else:
            written = args.output
            write_trajectories(demos, written)
    steps = sum(len(t) for t in demos.trajectories)
    print(
        json.dumps(
            {
                "written": str(written),
                "env_id": demos.env_id,
                "trajectories": len(demos.trajectories),
                "steps": steps,
            }
        )
    )


if __name__ == "__main__":
    main()
    exit_without_teardown()
