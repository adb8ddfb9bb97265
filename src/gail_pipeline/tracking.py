"""MLflow child runs for training units, through explicit run ids only.

Every call names its run by id through ``MlflowClient`` — never MLflow's "active run", which is
per thread and per process — so units trained in ParallelRunner's worker processes (or threads)
each write to exactly their own run. A unit's run is a child of the ``kedro run``'s run (tag
``mlflow.parentRunId``) named after its namespace (``cartpole.gail.n1.s0``), and is found again
by that name when its evaluation arrives.
"""

from __future__ import annotations

import functools
import math
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

__all__ = ["flatten", "log_unit", "version_tags"]

_MAX_PARAM_LENGTH = 6000
_BATCH = 900  # MLflow accepts at most 1000 metrics per log_batch


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"gail": {"learning_rate": 0.01}}`` → ``{"gail.learning_rate": "0.01"}``."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = str(value)[:_MAX_PARAM_LENGTH]
    return flat


_PACKAGES = (
    "torch",
    "numpy",
    "gymnasium",
    "mujoco",
    "kedro",
    "kedro-datasets",
    "kedro-mlflow",
    "mlflow",
    "pandas",
    "pyarrow",
    "dask",
    "distributed",
)


@functools.lru_cache(maxsize=1)
def version_tags() -> dict[str, str]:
    """What produced a run: the project's version and git commit (``+dirty`` with uncommitted
    changes), Python and the versions of the packages that decide the numbers."""
    import platform
    import subprocess
    from importlib.metadata import PackageNotFoundError, version

    from gail_pipeline import __version__

    tags = {"gail_pipeline.version": __version__, "gail_pipeline.python": platform.python_version()}
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        tags["gail_pipeline.git_commit"] = commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        tags["gail_pipeline.git_commit"] = "unknown (not a git checkout)"
    for package in _PACKAGES:
        try:
            tags[f"gail_pipeline.package.{package}"] = version(package)
        except PackageNotFoundError:
            tags[f"gail_pipeline.package.{package}"] = "not installed"
    return tags


def find_or_create_run(
    client: MlflowClient, experiment_id: str, parent_run_id: str, name: str, tags: Mapping[str, str]
) -> str:
    """The id of the child run ``name`` of ``parent_run_id``, created if absent."""
    query = f"tags.mlflow.parentRunId = '{parent_run_id}' and tags.gail_pipeline.unit = '{name}'"
    found = client.search_runs([experiment_id], filter_string=query, max_results=1)
    if found:
        return found[0].info.run_id
    run = client.create_run(
        experiment_id,
        run_name=name,
        tags={"mlflow.parentRunId": parent_run_id, "gail_pipeline.unit": name, **version_tags(), **tags},
    )
    return run.info.run_id


def log_unit(
    client: MlflowClient,
    run_id: str,
    *,
    params: Mapping[str, Any] | None = None,
    curve: pd.DataFrame | None = None,
    step_column: str = "env_steps",
    metrics: Mapping[str, float] | None = None,
    artifacts: Iterable[Path] = (),
    artifact_dir: str | None = None,
) -> None:
    """Log parameters, a learning curve (every numeric column as a metric history, stepped by
    ``step_column``), final metrics and artifact files into the run ``run_id``."""
    if params:
        flat = flatten(params)
        existing = client.get_run(run_id).data.params
        new = [Param(k, v) for k, v in flat.items() if k not in existing]
        for start in range(0, len(new), 100):
            client.log_batch(run_id, params=new[start : start + 100])
    entries: list[Metric] = []
    if curve is not None and len(curve):
        steps = curve[step_column] if step_column in curve else pd.Series(range(len(curve)))
        for column in curve.columns:
            if column == step_column or not pd.api.types.is_numeric_dtype(curve[column]):
                continue
            for step, value in zip(steps, curve[column], strict=True):
                if value is not None and math.isfinite(float(value)):
                    entries.append(Metric(f"curve.{column}", float(value), 0, int(step)))
    for key, value in (metrics or {}).items():
        if value is not None and math.isfinite(float(value)):
            entries.append(Metric(key, float(value), 0, 0))
    for start in range(0, len(entries), _BATCH):
        client.log_batch(run_id, metrics=entries[start : start + _BATCH])
    for path in artifacts:
        client.log_artifact(run_id, str(path), artifact_dir)


def plot_curve(curve: pd.DataFrame, x: str, y: str, title: str, directory: Path) -> Path:
    """A PNG of ``y`` against ``x`` (the learning curve artifact)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.5), dpi=100)
    ax = fig.subplots()
    ax.plot(curve[x], curve[y])
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(y.replace("_", " "))
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = directory / "learning_curve.png"
    fig.savefig(path)
    return path


def temporary_directory() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="gail_pipeline_mlflow_")
