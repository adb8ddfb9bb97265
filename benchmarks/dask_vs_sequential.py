"""A small grid through SequentialRunner and through DaskRunner on a local 2-worker cluster:
wall time of each, and whether the results tables are identical.

    python benchmarks/dask_vs_sequential.py --output benchmarks/results/dask_vs_sequential.md

Runs in a temporary copy of the project's conf and shipped experts: the demonstrations stage on
the shipped CartPole expert, then imitation → evaluation → reporting for BC, FEM, GTAL and GAIL on
1 and 10 trajectories (8 units, ``--iterations`` each), once per runner. Update threads are pinned
to 1 (``update_threads: auto`` gives a unit in the main process every CPU, one in a worker
process one thread, and float sums depend on the thread count).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd
from common import header, write_report

PROJECT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    if args.output is not None:
        args.output = args.output.resolve()  # the runs change directory

    import os

    from distributed import LocalCluster
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from gail_pipeline.runner import DaskRunner

    params = {
        "grid": {"iterations": args.iterations},
        "imitation": {"update_threads": 1, "checkpoint_dir": None},
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for item in ("conf", "pyproject.toml", "data/01_raw/paper", "data/01_raw/experts"):
            (root / item).parent.mkdir(parents=True, exist_ok=True)
            (shutil.copytree if (PROJECT / item).is_dir() else shutil.copy)(PROJECT / item, root / item)
        (root / "src").mkdir()
        shutil.rmtree(root / "conf" / "local", ignore_errors=True)
        (root / "conf" / "local").mkdir()
        os.chdir(root)
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{root / 'mlflow.db'}"
        bootstrap_project(root)

        def run(runner=None, pipelines=None) -> float:
            start = time.perf_counter()
            with KedroSession.create(project_path=root, runtime_params=params) as session:
                session.run(runner=runner, pipeline_names=pipelines)
            return time.perf_counter() - start

        run(pipelines=["demonstrations"])
        stages = ["imitation", "evaluation", "reporting"]
        tables = {}
        walls = {}
        walls["SequentialRunner"] = run(pipelines=stages)
        tables["SequentialRunner"] = _latest_table(root)
        with LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            runner = DaskRunner(scheduler_address=cluster.scheduler_address)
            walls["DaskRunner"] = run(runner=runner, pipelines=stages)
        tables["DaskRunner"] = _latest_table(root)
        identical = tables["SequentialRunner"].equals(tables["DaskRunner"])

    lines = [
        *header(
            "A small grid: SequentialRunner against DaskRunner on a local cluster", "dask_vs_sequential.py"
        ),
        (
            f"- grid: CartPole, BC / FEM / GTAL / GAIL × 1 and 10 trajectories × seed 0 (8 units), "
            f"{args.iterations} iterations; stages imitation → evaluation → reporting"
        ),
        f"- DaskRunner: `distributed.LocalCluster` of {args.workers} worker processes, one thread each",
        "",
        "| runner | wall time (s) |",
        "|---|---|",
        *(f"| {name} | {wall:.1f} |" for name, wall in walls.items()),
        "",
        f"Results tables identical: **{identical}** ({len(tables['DaskRunner'])} rows).",
    ]
    write_report(lines, args.output)
    if not identical:
        raise SystemExit("the results tables differ")


def _latest_table(root: Path) -> pd.DataFrame:
    versions = sorted((root / "data/08_reporting/quick/results_table.csv").iterdir())
    return pd.read_csv(versions[-1] / "results_table.csv")


if __name__ == "__main__":
    main()
