"""Demonstrations out: the project's trajectories as a Minari dataset or in the ``imitation``
library's ``datasets`` layout — the inverse of :mod:`gail_pipeline.importers`.

    python -m gail_pipeline.exporters minari demos.parquet --dataset-id cartpole/expert-v0
    python -m gail_pipeline.exporters minari --task cartpole --dataset-id cartpole/expert-v0 --output store/
    python -m gail_pipeline.exporters imitation --task hopper --output hopper_rollouts/

The source is a Parquet file of the project's schema (``--env-id`` checks it is of that env), or
``--task <name>``: the latest version of ``<task>.expert_trajectories`` in the project's catalog
(``--project``, ``--env`` as for the importers), the expert's rollouts that the demonstrations
stage cuts its datasets from.

* **Minari** (``minari[arrow,hdf5]``): a dataset ``--dataset-id`` (``namespace/name-v0``) written
  to the local Minari store (``MINARI_DATASETS_PATH``, or ``--output``: a store folder), with the
  env's spec, so ``minari.load_dataset`` and ``gail_pipeline.importers.from_minari`` read it back.
* **imitation**: a HuggingFace ``datasets`` folder (``--output``), one row per trajectory with
  ``obs`` (T + 1), ``acts``, ``infos``, ``terminal``, ``rews`` — what
  ``imitation.data.serialize.save`` writes and ``serialize.load`` reads. Needs ``datasets``
  (a dependency of ``imitation``).

Both formats keep T + 1 observations per episode, the last one the observation after the last
step. The project's Parquet files do not store that one: where a trajectory lacks it, the
exporters repeat its last observation, and the Minari dataset's description says so. Only whole
episodes can be exported: a subsampled dataset (every k-th pair) is refused.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from gail_pipeline.logs import exit_without_teardown
from gail_pipeline.trajectories import Demonstrations, Trajectory, TrajectoryFileError, read_trajectories

__all__ = ["episode_observations", "to_imitation", "to_minari"]


def _check_episodes(demonstrations: Demonstrations, source: str) -> None:
    for i, t in enumerate(demonstrations.trajectories):
        if not np.array_equal(t.steps, np.arange(len(t))):
            raise TrajectoryFileError(
                f"{source}: trajectory {i} is subsampled (steps {t.steps[:3].tolist()}…), not a whole "
                "episode; export the expert's trajectories (<task>.expert_trajectories) instead"
            )
        if not (t.terminated or t.truncated):
            raise TrajectoryFileError(f"{source}: trajectory {i} neither terminated nor truncated")


def episode_observations(trajectory: Trajectory) -> tuple[np.ndarray, bool]:
    """``(T + 1, obs_dim)``: the observations and the final one (the last repeated where the
    trajectory does not know it); and whether it was known."""
    final = trajectory.final_observation
    known = final is not None
    last = np.asarray(final if known else trajectory.observations[-1], dtype=trajectory.observations.dtype)
    return np.vstack([trajectory.observations, last[None]]), known


def to_minari(
    demonstrations: Demonstrations,
    dataset_id: str,
    store: str | Path | None = None,
    algorithm_name: str = "gail_pipeline expert",
) -> Path:
    """Write a Minari dataset ``dataset_id`` into ``store`` (default: ``MINARI_DATASETS_PATH`` or
    Minari's own default); returns its folder."""
    try:
        import minari
        from minari.data_collector import EpisodeBuffer
    except ImportError as exc:
        raise ImportError('Minari datasets need minari: pip install "minari[arrow,hdf5]"') from exc
    _check_episodes(demonstrations, dataset_id)
    buffers, unknown = [], 0
    for t in demonstrations.trajectories:
        observations, known = episode_observations(t)
        unknown += not known
        n = len(t)
        buffers.append(
            EpisodeBuffer(
                observations=list(observations),
                actions=list(t.actions),
                rewards=list(np.asarray(t.rewards, dtype=np.float64)),
                terminations=[False] * (n - 1) + [bool(t.terminated)],
                truncations=[False] * (n - 1) + [bool(t.truncated)],
            )
        )
    description = f"{len(buffers)} episodes of {demonstrations.env_id}, exported by gail_pipeline."
    if unknown:
        description += (
            f" {unknown} episode(s) lacked their final observation (not stored in the project's "
            "Parquet files): their last observation is repeated in its place."
        )
    with _minari_store(store):
        minari.create_dataset_from_buffers(
            dataset_id,
            buffers,
            env=demonstrations.env_id,
            algorithm_name=algorithm_name,
            description=description,
        )
        from minari.storage import get_dataset_path

        return get_dataset_path(dataset_id)


@contextlib.contextmanager
def _minari_store(store: str | Path | None) -> Iterator[None]:
    """``MINARI_DATASETS_PATH`` set to ``store`` for the duration (Minari reads it per call)."""
    if store is None:
        yield
        return
    before = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(Path(store).resolve())
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MINARI_DATASETS_PATH", None)
        else:
            os.environ["MINARI_DATASETS_PATH"] = before


def to_imitation(demonstrations: Demonstrations, path: str | Path) -> Path:
    """Write the ``imitation`` library's ``datasets`` folder at ``path`` (which must not exist)."""
    try:
        import datasets
    except ImportError as exc:
        raise ImportError("the imitation layout needs HuggingFace datasets: pip install datasets") from exc
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path}: exists; the imitation folder is written to a new path")
    _check_episodes(demonstrations, str(path))
    columns: dict[str, list] = {"obs": [], "acts": [], "infos": [], "terminal": [], "rews": []}
    for t in demonstrations.trajectories:
        columns["obs"].append(episode_observations(t)[0])
        columns["acts"].append(t.actions)
        columns["infos"].append(["{}"] * len(t))  # imitation's jsonpickle'd empty info dicts
        columns["terminal"].append(bool(t.terminated))
        columns["rews"].append(np.asarray(t.rewards, dtype=np.float64))
    datasets.Dataset.from_dict(columns).save_to_disk(str(path))
    return path


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("format", choices=["minari", "imitation"])
    parser.add_argument("source", nargs="?", type=Path, help="a Parquet file of the project's schema")
    parser.add_argument("--task", help="instead of a file: the catalog's latest <task>.expert_trajectories")
    parser.add_argument("--env-id", help="with a file: the env id it must be of (default: the file's)")
    parser.add_argument("--dataset-id", help="minari: the dataset id (namespace/name-v0)")
    parser.add_argument("--output", type=Path, help="imitation: the folder to write; minari: the store")
    parser.add_argument("--project", type=Path, default=None, help="with --task: the Kedro project")
    parser.add_argument(
        "--env", default=None, help="with --task: the conf env (default: KEDRO_ENV, else local)"
    )
    args = parser.parse_args(argv)
    if (args.source is None) == (args.task is None):
        parser.error("give a Parquet file or --task, not both")
    if args.format == "minari" and not args.dataset_id:
        parser.error("minari: give --dataset-id (namespace/name-v0)")
    if args.format == "imitation" and not args.output:
        parser.error("imitation: give --output (the folder to write)")
    with contextlib.redirect_stdout(sys.stderr):  # Kedro logs to stdout: the report alone there
        if args.task:
            from gail_pipeline.catalog import project_context  # the Kedro layer: only for --task

            context = project_context(args.project, env=args.env)
            demos = context.catalog.load(f"{args.task}.expert_trajectories")
        else:
            demos = read_trajectories(args.source, args.env_id)
        if args.format == "minari":
            written = to_minari(demos, args.dataset_id, args.output)
        else:
            written = to_imitation(demos, args.output)
    steps = sum(len(t) for t in demos.trajectories)
    report = {"written": str(written), "env_id": demos.env_id, "trajectories": len(demos.trajectories)}
    print(json.dumps({**report, "steps": steps}))


if __name__ == "__main__":
    main()
    exit_without_teardown()
