"""MLflow child runs for training units, through explicit run ids only.

Every call names its run by id through ``MlflowClient`` — never MLflow's "active run", which is
per thread and per process — so units trained in ParallelRunner's worker processes (or threads)
each write to exactly their own run. A unit's run is a child of the ``kedro run``'s run (tag
``mlflow.parentRunId``) named after its namespace (``cartpole.gail.n1.s0``), and is found again
by that name when its evaluation arrives.

What is logged is declared where it is defined, never inferred from names
(:class:`~gail_pipeline.hooks.UnitTrackingHook` reads the declarations):

* **Node tags**, set where the pipelines are built — one of :data:`UNIT_TAGS` says which unit
  run a node logs to, under which stage, and what it logs:

  ==============================  ===========================  ==============  ==============
  tag                             unit run                     stage           logs
  ==============================  ===========================  ==============  ==============
  ``tracking.expert_train``       ``<task>.expert``            expert          training
  ``tracking.expert_reference``   ``<task>.expert``            expert          metrics
  ``tracking.demonstrations``     ``<task>.demonstrations``    demonstrations  demonstrations
  ``tracking.train``              ``<namespace>``              imitation       training
  ``tracking.evaluation``         ``<namespace>``              evaluation      metrics
  ``tracking.expert_video``       ``<task>.expert``            expert          video
  ``tracking.video``              ``<namespace>``              evaluation      video
  ==============================  ===========================  ==============  ==============

  A *training* node's outputs are (policy, learning curve), in that order: the run gets the
  node's ``params:`` inputs and the policy's metadata as parameters, every numeric curve column
  as a metric history, the final value, ``policy.pt`` and ``learning_curve.png``, and is then
  ended. A *metrics* node's one output is a dict, of which :data:`RESULT_METRICS` are logged.
  A *demonstrations* node's outputs are trajectory sets (:func:`log_demonstrations`): their
  sizes, the stochastic expert's return and where each was saved; the run is ended after each.
  A *video* node's one output is a :class:`gail_pipeline.video.Video` (:func:`log_video`):
  ``rollout.mp4`` and its frame count, render time and episode return as metrics.
  The stage is the run's ``gail_pipeline.stage`` tag, given by the node that creates the run.
  Untagged nodes log nothing, whatever their names.

  Every tracked node's inputs that are trajectory sets (``Demonstrations``, as the catalog's
  ``TrajectoryDataset`` loads them) become MLflow dataset inputs of its run
  (:func:`dataset_input`): name, load version, path and a digest of the Parquet file, so a
  learner's score traces back to the exact file it imitated.
* **Dataset metadata** in the catalog — ``metadata: {tracking: {artifact: figure | text,
  artifact_path: reporting/<file>}}`` — logs whatever a node saves to that dataset into the
  ``kedro run``'s own run at ``artifact_path``: ``figure`` through ``MlflowClient.log_figure``
  (matplotlib or plotly; ``.html`` for plotly's interactive page), ``text`` through
  ``log_text``. (Not ``path``: Kedro makes every catalog key named ``path`` absolute.)

The ``kedro run``'s run itself is named after what ran (:func:`parent_run_name`, ``quick ·
cartpole``), described by its grid (:func:`grid_description`) and, once the run is over, gets a
chart of every unit's normalised score (:func:`log_score_chart`). The experiment is marked a
model-training one (:data:`EXPERIMENT_KIND`), so MLflow's UI lists its runs, not GenAI traces.
"""

from __future__ import annotations

import functools
import math
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # mlflow takes seconds to import: only where something is logged
    from mlflow.tracking import MlflowClient

__all__ = [
    "DEMONSTRATIONS",
    "EVALUATION",
    "EXPERIMENT_KIND",
    "EXPERT_REFERENCE",
    "EXPERT_TRAIN",
    "EXPERT_VIDEO",
    "RESULT_METRICS",
    "TRAIN",
    "UNIT_TAGS",
    "VIDEO",
    "ReportArtifact",
    "UnitTracking",
    "dataset_input",
    "ensure_experiment_kind",
    "flatten",
    "grid_description",
    "log_demonstrations",
    "log_result",
    "log_score_chart",
    "log_training",
    "log_unit",
    "log_video",
    "parent_run_name",
    "report_artifact",
    "unit_tracking",
    "version_tags",
]

# --------------------------------------------------------------------------------------------
# Declarations
# --------------------------------------------------------------------------------------------
EXPERT_TRAIN = "tracking.expert_train"
EXPERT_REFERENCE = "tracking.expert_reference"
TRAIN = "tracking.train"
EVALUATION = "tracking.evaluation"
DEMONSTRATIONS = "tracking.demonstrations"
EXPERT_VIDEO = "tracking.expert_video"
VIDEO = "tracking.video"

#: The keys of a metrics node's result dict that are logged (those present).
RESULT_METRICS = (
    "return_mean",
    "return_std",
    "normalized_score",
    "expert_return_mean",
    "expert_return_std",
    "random_return_mean",
    "random_return_std",
)


#: What a tracked node's outputs are: ``training`` (policy, learning curve), ``metrics`` (one
#: result dict), ``demonstrations`` (trajectory sets), ``video`` (one rollout video).
LOGS = ("training", "metrics", "demonstrations", "video")


@dataclass(frozen=True)
class UnitTracking:
    """What a node tagged ``tag`` logs, and to which child run."""

    tag: str
    stage: str  # the run's ``gail_pipeline.stage`` tag (set when the run is created)
    run_suffix: str  # the run is named ``<node namespace><run_suffix>``
    logs: str  # one of LOGS

    @property
    def training(self) -> bool:
        return self.logs == "training"

    def run_name(self, node: Any) -> str:
        return f"{node.namespace}{self.run_suffix}"


UNIT_TAGS: dict[str, UnitTracking] = {
    t.tag: t
    for t in (
        UnitTracking(EXPERT_TRAIN, "expert", ".expert", "training"),
        UnitTracking(EXPERT_REFERENCE, "expert", ".expert", "metrics"),
        UnitTracking(DEMONSTRATIONS, "demonstrations", ".demonstrations", "demonstrations"),
        UnitTracking(TRAIN, "imitation", "", "training"),
        UnitTracking(EVALUATION, "evaluation", "", "metrics"),
        UnitTracking(EXPERT_VIDEO, "expert", ".expert", "video"),
        UnitTracking(VIDEO, "evaluation", "", "video"),
    )
}


def unit_tracking(node: Any) -> UnitTracking | None:
    """The unit tracking ``node``'s tags declare; None if none. A node declares at most one,
    and only in a namespace (which names its run)."""
    declared = sorted(tag for tag in node.tags if tag in UNIT_TAGS)
    if not declared:
        return None
    if len(declared) > 1:
        raise ValueError(f"node {node.name!r}: tagged {declared}; a node logs to one unit run")
    if not node.namespace:
        raise ValueError(f"node {node.name!r}: tagged {declared[0]!r} but has no namespace to name its run")
    return UNIT_TAGS[declared[0]]


@dataclass(frozen=True)
class ReportArtifact:
    """A dataset's ``metadata: {tracking: {artifact: <kind>, artifact_path: <path>}}``."""

    kind: str  # figure | text | table
    path: str  # the artifact's path in the kedro run's run

    def log(self, client: MlflowClient, run_id: str, value: Any) -> None:
        if self.kind == "figure":
            client.log_figure(run_id, value, self.path)
        elif self.kind == "table":  # a DataFrame, as CSV
            client.log_text(run_id, value.to_csv(index=False), self.path)
        else:
            client.log_text(run_id, value, self.path)


_ARTIFACT_KINDS = ("figure", "text", "table")


def report_artifact(name: str, metadata: Mapping[str, Any] | None) -> ReportArtifact | None:
    """The artifact that dataset ``name``'s catalog ``metadata`` declares, or None."""
    if not isinstance(metadata, Mapping) or metadata.get("tracking") is None:
        return None
    declared = metadata["tracking"]
    where = f"catalog: {name}.metadata.tracking"
    if not isinstance(declared, Mapping) or set(declared) != {"artifact", "artifact_path"}:
        raise ValueError(
            f"{where}: expected {{artifact: figure | text | table, artifact_path: <path>}}, got {declared!r}"
        )
    kind, path = declared["artifact"], declared["artifact_path"]
    if kind not in _ARTIFACT_KINDS:
        raise ValueError(f"{where}.artifact: expected one of {', '.join(_ARTIFACT_KINDS)}, got {kind!r}")
    if not isinstance(path, str) or not path or path.startswith("/"):
        raise ValueError(f"{where}.artifact_path: expected a relative artifact path, got {path!r}")
    return ReportArtifact(kind, path)


# --------------------------------------------------------------------------------------------
# Logging
# --------------------------------------------------------------------------------------------
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
    from mlflow.entities import Metric, Param

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


def log_training(
    client: MlflowClient,
    run_id: str,
    title: str,
    params: Mapping[str, Any],
    policy: Any,
    curve: pd.DataFrame,
) -> None:
    """A training node's outputs: ``params`` and the policy's metadata (``unit.*``) as
    parameters, the learning curve (stepped by env steps; BC's by gradient step), its final return
    (BC: validation NLL), the policy file, a plot of the curve and, for the iterative learners,
    their diagnostics (:func:`gail_pipeline.diagnostics.diagnostics_figure`)."""
    from gail_pipeline.rl.policies import save_policy

    if not isinstance(curve, pd.DataFrame) or not hasattr(policy, "metadata"):
        raise TypeError(
            f"{title}: a training node's outputs are (policy, learning curve), got "
            f"({type(policy).__name__}, {type(curve).__name__})"
        )
    step = "env_steps" if "env_steps" in curve else "step"
    y = "return_mean" if "return_mean" in curve else "validation_nll"
    with temporary_directory() as tmp:
        policy_file = Path(tmp) / "policy.pt"
        save_policy(policy, policy_file)
        artifacts = [policy_file, plot_curve(curve, step, y, title, Path(tmp))]
        if step == "env_steps":  # an iterative learner: its diagnostics too
            from gail_pipeline.diagnostics import diagnostics_figure

            artifacts.append(Path(tmp) / "diagnostics.png")
            diagnostics_figure(curve, title).savefig(artifacts[-1])
        log_unit(
            client,
            run_id,
            params={**params, "unit": policy.metadata},
            curve=curve,
            step_column=step,
            metrics={f"final_{y}": float(curve[y].iloc[-1])},
            artifacts=artifacts,
        )


def log_result(client: MlflowClient, run_id: str, result: Mapping[str, Any]) -> None:
    """A metrics node's result dict: its :data:`RESULT_METRICS`."""
    log_unit(client, run_id, metrics={k: result[k] for k in RESULT_METRICS if k in result})


VIDEO_ARTIFACT = "rollout.mp4"
_VIDEO_METRICS = ("frames", "episode_length", "episode_return", "render_seconds")


def log_video(client: MlflowClient, run_id: str, video: Any) -> None:
    """A video node's clip as :data:`VIDEO_ARTIFACT` (MP4), with its ``video.frames``,
    ``video.episode_length``, ``video.episode_return`` and ``video.render_seconds``; where the
    env could not render, the tag ``gail_pipeline.video`` says why."""
    if not hasattr(video, "encoded"):
        raise TypeError(f"a video node's output is a Video, got {type(video).__name__}")
    meta = video.metadata
    with temporary_directory() as tmp:
        path = Path(tmp) / VIDEO_ARTIFACT
        path.write_bytes(video.encoded("mp4"))
        metrics = {f"video.{k}": meta[k] for k in _VIDEO_METRICS if meta.get(k) is not None}
        log_unit(client, run_id, metrics=metrics, artifacts=[path])
    if not video.rendered:
        client.set_tag(run_id, "gail_pipeline.video", str(meta.get("reason", "not rendered")))


def log_demonstrations(
    client: MlflowClient,
    run_id: str,
    params: Mapping[str, Any],
    outputs: Mapping[str, Any],
    saved: Mapping[str, tuple[str | None, str | None]] | None = None,
) -> None:
    """A demonstrations node's trajectory sets, from their metadata: the expert's rollouts
    (``trajectories``, ``steps``, the stochastic expert's ``expert_return_mean`` / ``_std``, which
    expert and seed) or a subsampled dataset (``n<size>.trajectories`` / ``.steps``, the
    interval); where each was saved (``saved``: dataset name → (version, path)) as parameters
    ``<dataset>.version`` / ``.path``; and the node's ``params:`` inputs."""
    flat: dict[str, Any] = dict(params)
    metrics: dict[str, float] = {}
    sizes = []
    for name, demonstrations in outputs.items():
        if not hasattr(demonstrations, "trajectories"):
            raise TypeError(f"{name}: a demonstrations node's outputs are trajectory sets")
        meta = demonstrations.metadata
        count = len(demonstrations.trajectories)
        steps = sum(len(t) for t in demonstrations.trajectories)
        size = meta.get("num_trajectories")
        if size is None:  # the expert's rollouts
            metrics.update(trajectories=count, steps=steps)
            metrics.update({f"expert_{k}": meta[k] for k in ("return_mean", "return_std") if k in meta})
            flat.update(
                {
                    "env_id": demonstrations.env_id,
                    "expert.version": meta.get("expert_version"),
                    "expert.path": meta.get("expert_path"),
                    "seed": meta.get("seed"),
                    "stochastic_expert": meta.get("stochastic_expert"),
                }
            )
        else:  # one of the paper's datasets
            sizes.append(int(size))
            metrics.update({f"n{size}.trajectories": count, f"n{size}.steps": steps})
            flat["subsample_interval"] = meta.get("subsample_interval")
        version, path = (saved or {}).get(name, (None, None))
        short = name.rsplit(".", 1)[-1]
        flat.update({f"{short}.version": version, f"{short}.path": path})
    if sizes:
        flat["dataset_sizes"] = sorted(sizes)
    log_unit(
        client,
        run_id,
        params={k: v for k, v in flat.items() if v is not None},
        metrics=metrics,
    )


def dataset_input(name: str, demonstrations: Any, context: str) -> Any:
    """The MLflow dataset input of the trajectory set ``name`` as a node received it: named by
    its catalog entry, with the load version and path the project's ``TrajectoryDataset`` put in
    its metadata (tags ``gail_pipeline.version`` / ``.path`` and the profile), the source
    ``{"uri": <path>}`` and a digest of the Parquet file (of the arrays when it was never a file).
    ``context`` is the input's ``mlflow.data.context`` tag (``training``, ``source``)."""
    import json

    from mlflow.entities import Dataset, DatasetInput, InputTag

    meta = demonstrations.metadata
    version, path = meta.get("version"), meta.get("path")
    digest, of = (_file_digest(path), "parquet file") if path else (_array_digest(demonstrations), "arrays")
    trajectories = demonstrations.trajectories
    profile = {
        "version": version,
        "path": path,
        "env_id": demonstrations.env_id,
        "trajectories": len(trajectories),
        "steps": sum(len(t) for t in trajectories),
        "sha256": digest,
        "sha256_of": of,
    }
    source_type = "local" if not path or "://" not in path else path.split("://", 1)[0]
    dataset = Dataset(
        name=name,
        digest=digest[:_DIGEST_LENGTH],
        source_type=source_type,
        source=json.dumps({"uri": path or f"memory:{name}"}),
        profile=json.dumps(profile),
    )
    tags = [InputTag("mlflow.data.context", context)]
    tags += [InputTag(f"gail_pipeline.{k}", str(v)) for k, v in (("version", version), ("path", path)) if v]
    return DatasetInput(dataset, tags)


def log_dataset_inputs(client: Any, run_id: str, datasets: list[Any], attempts: int = 3) -> None:
    """``client.log_inputs``, again if a parallel unit registered the same dataset in the same
    instant: MLflow looks a dataset up and then inserts it, so of two workers logging one dataset
    at once the second's insert fails on the store's unique key (its transaction rolled back
    whole); retried, it finds the dataset and links it."""
    import time

    from mlflow.exceptions import MlflowException

    for attempt in range(1, attempts + 1):
        try:
            client.log_inputs(run_id, datasets=datasets)
            return
        except MlflowException as error:
            if "UNIQUE constraint failed" not in str(error) or attempt == attempts:
                raise
            time.sleep(0.2 * attempt)


_DIGEST_LENGTH = 16  # of the sha256's hex digits; MLflow keeps at most 36


@functools.lru_cache(maxsize=256)  # a saved version never changes
def _file_digest(path: str) -> str:
    import hashlib

    import fsspec

    digest = hashlib.sha256()
    with fsspec.open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _array_digest(demonstrations: Any) -> str:
    import hashlib

    digest = hashlib.sha256()
    for trajectory in demonstrations.trajectories:
        digest.update(trajectory.observations.tobytes())
        digest.update(trajectory.actions.tobytes())
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# The kedro run's run and its experiment
# --------------------------------------------------------------------------------------------
#: The experiment tag MLflow's UI reads for an experiment's type, and the value of a
#: model-training experiment (its runs table, not the GenAI overview of traces and judges).
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")


def ensure_experiment_kind(client: MlflowClient, experiment_id: str) -> None:
    """Mark the experiment a model-training one unless it already says what it is (an experiment
    created before ``conf/base/mlflow.yml`` set the tag, or by another tool)."""
    key, value = EXPERIMENT_KIND
    if key not in client.get_experiment(experiment_id).tags:
        client.set_experiment_tag(experiment_id, key, value)


def _grid_rows(params: Mapping[str, Any]) -> list[tuple[str, list[str], list[int], int, int]]:
    """Per task of the grid: (task, algorithms, dataset sizes, seeds, iterations)."""
    from gail_pipeline.grid import units

    rows: dict[str, tuple[list[str], set[int], set[int], set[int]]] = {}
    for unit in units(params):
        algorithms, sizes, seeds, iterations = rows.setdefault(unit.task.name, ([], set(), set(), set()))
        if unit.algorithm not in algorithms:
            algorithms.append(unit.algorithm)
        sizes.add(unit.dataset_size)
        seeds.add(unit.seed)
        iterations.add(unit.iterations)
    return [(t, a, sorted(n), len(s), max(i)) for t, (a, n, s, i) in rows.items()]


def parent_run_name(label: str, params: Mapping[str, Any], pipeline: str | None = None) -> str:
    """``quick · cartpole``: the grid's label and its tasks, and the pipeline unless the default."""
    from gail_pipeline.grid import selected_tasks

    name = f"{label} · {', '.join(t.name for t in selected_tasks(params))}"
    return name if pipeline in (None, "__default__") else f"{name} ({pipeline})"


def grid_description(label: str, env: str | None, params: Mapping[str, Any], pipeline: str | None) -> str:
    """The ``kedro run``'s run description (Markdown): the grid, one row per task."""
    rows = _grid_rows(params)
    count = sum(len(a) * len(n) * s for _, a, n, s, _ in rows)
    lines = [
        f"**Grid `{label}`** (config env `{env or 'base'}`, pipeline `{pipeline or '__default__'}`): "
        f"{count} imitation unit{'s' if count != 1 else ''}.",
        "",
        "| task | algorithms | dataset sizes | seeds | iterations |",
        "|---|---|---|---|---|",
    ]
    for task, algorithms, sizes, seeds, iterations in rows:
        lines.append(
            f"| {task} | {', '.join(algorithms)} | {', '.join(map(str, sizes))} | {seeds} | {iterations} |"
        )
    lines += [
        "",
        "Child runs: `<task>.expert`, `<task>.demonstrations`, one per unit "
        "`<task>.<algorithm>.n<size>.s<seed>`; the chart `normalized_scores.png` compares the units.",
    ]
    return "\n".join(lines)


SCORE_CHART = "normalized_scores.png"


def log_score_chart(client: MlflowClient, experiment_id: str, parent_run_id: str) -> bool:
    """A bar chart of every child run's ``normalized_score`` (a unit each) into the parent run as
    :data:`SCORE_CHART`; False (nothing logged) when no unit was evaluated. Read back from MLflow,
    so units evaluated in other processes count too."""
    query = f"tags.mlflow.parentRunId = '{parent_run_id}'"
    runs = client.search_runs([experiment_id], filter_string=query, max_results=5000)
    scores = {
        run.data.tags.get("gail_pipeline.unit", run.info.run_name): run.data.metrics["normalized_score"]
        for run in runs
        if "normalized_score" in run.data.metrics
    }
    if not scores:
        return False
    client.log_figure(parent_run_id, score_chart(scores), SCORE_CHART)
    return True


def score_chart(scores: Mapping[str, float]) -> Any:
    """Horizontal bars, one per unit (sorted by name), coloured by algorithm; 0 is the random
    policy, 1 the expert."""
    from matplotlib.figure import Figure

    names = sorted(scores)
    algorithms = list(dict.fromkeys(n.split(".")[1] if n.count(".") >= 3 else n for n in names))
    colours = {a: f"C{i}" for i, a in enumerate(algorithms)}
    fig = Figure(figsize=(7, 1.2 + 0.35 * len(names)), dpi=100)
    ax = fig.subplots()
    y = range(len(names))
    values = [scores[n] for n in names]
    ax.barh(
        list(y),
        values,
        color=[colours[n.split(".")[1] if n.count(".") >= 3 else n] for n in names],
    )
    for i, value in zip(y, values, strict=True):
        right = value >= 0
        ax.annotate(
            f"{value:.2f}",
            (value, i),
            xytext=(3 if right else -3, 0),
            textcoords="offset points",
            va="center",
            ha="left" if right else "right",
        )
    low, high = min(0.0, *values), max(1.0, *values)
    ax.set_xlim(low - 0.12 * (high - low) * (low < 0), high + 0.12 * (high - low))
    ax.set_yticks(list(y), names)
    ax.invert_yaxis()
    ax.axvline(0, color="grey", lw=0.8)
    ax.axvline(1, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("normalised score (0: random policy, 1: expert)")
    ax.set_title("Normalised score per unit")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


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
