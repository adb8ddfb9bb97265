"""The summary printed at the end of every ``kedro run``: what ran, the scores beside the paper's,
where the reports are and the commands that open them.

:class:`RunSummaryHook` prints it from ``after_pipeline_run``, which Kedro calls once, in the
process that started the run, whatever the runner (ParallelRunner's and Dask's workers run only
node hooks); it reads what the run saved from the catalog.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

import pandas as pd
from kedro.framework.hooks import hook_impl

__all__ = ["REPORTS", "RunSummaryHook", "run_summary"]

logger = logging.getLogger(__name__)

STAGES = ("expert", "demonstrations", "imitation", "evaluation", "reporting")
# The reports a run writes, in the order the summary lists them.
REPORTS = (
    "results_table",
    "paper_comparison",
    "paper_comparison_markdown",
    "appendix_b_markdown",
    "aggregate_scores_markdown",
    "figure_one_png",
    "figure_one_html",
    "performance_profiles_png",
    "learning_curves_png",
    "learning_curves_html",
)
COMMANDS = (
    ("make mlflow-ui", "MLflow's UI at http://127.0.0.1:5000"),
    (".venv/bin/kedro viz run", "Kedro-Viz: the pipelines and their datasets"),
    (".venv/bin/kedro jupyter notebook", "notebooks/results.ipynb (needs notebook)"),
)


class RunSummaryHook:
    """Prints :func:`run_summary` after a successful ``kedro run``, last among the hooks."""

    @hook_impl(trylast=True)
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        try:
            summary = run_summary(run_params, pipeline, catalog)
        except Exception:  # the run itself succeeded: a summary that fails must not say otherwise
            logger.warning("Could not summarise the run", exc_info=True)
            return
        from rich.console import Console

        Console().print(*summary, sep="\n", markup=False, highlight=False)


def run_summary(run_params: dict[str, Any], pipeline: Any, catalog: Any) -> list[Any]:
    """The summary as renderables for ``rich.console.Console.print``: a heading, the table of
    scores (or, without evaluation, what ran), the reports and the commands that open them."""
    from rich import box
    from rich.table import Table

    heading = f"\nRun summary: {_what_ran(pipeline.nodes)}"
    results = _results(pipeline, catalog)
    if results is None:
        return [
            heading,
            "No evaluation in this run, so no scores.",
            *_commands("See the run:", COMMANDS[:2]),
        ]
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in ("unit", "return", "normalised score", "paper"):
        table.add_column(column, justify="left" if column == "unit" else "right")
    for row in _cells(results, _paper_scores(pipeline, catalog, results)):
        table.add_row(*row)
    lines: list[Any] = [heading, table, *_references(results)]
    reports = _reports(pipeline, catalog, run_params)
    if reports:
        lines += reports
    return [*lines, *_commands("Open them:", COMMANDS)]


def _what_ran(nodes: Iterable[Any]) -> str:
    """What ran, as "24 nodes: expert 2, demonstrations 2, … for cartpole"."""
    nodes = list(nodes)
    stages = Counter(stage for node in nodes for stage in STAGES if stage in node.tags)
    tasks = sorted({node.namespace.split(".")[0] for node in nodes if node.namespace})
    text = f"{len(nodes)} node{'s' if len(nodes) != 1 else ''}"
    if stages:
        text += ": " + ", ".join(f"{stage} {stages[stage]}" for stage in STAGES if stage in stages)
    if tasks:
        text += " for " + ", ".join(tasks)
    return text


def _results(pipeline: Any, catalog: Any) -> pd.DataFrame | None:
    """The run's results table, or its units' evaluations as one (a run without the table's node,
    e.g. ``--namespaces``); None when the run evaluated nothing."""
    from gail_pipeline.pipelines.evaluation.nodes import build_results_table
    from gail_pipeline.tracking import EVALUATION

    if "results_table" in pipeline.all_outputs():
        return catalog.load("results_table")
    evaluations = [
        catalog.load(output) for node in pipeline.nodes if EVALUATION in node.tags for output in node.outputs
    ]
    return build_results_table(*evaluations) if evaluations else None


def _paper_scores(pipeline: Any, catalog: Any, results: pd.DataFrame) -> pd.Series | None:
    """The paper's normalised score per (task, dataset size, algorithm, config): the run's own
    comparison, or one made from the catalog's paper tables; None if neither can be had."""
    if "paper_comparison" in pipeline.all_outputs():
        comparison = catalog.load("paper_comparison")
    else:
        from gail_pipeline.imitation.configs import RECIPE, config_causal_entropy
        from gail_pipeline.reporting import compare_with_paper

        try:
            weights = config_causal_entropy(catalog.load("parameters"))
            comparison = compare_with_paper(
                results,
                catalog.load("paper_results"),
                catalog.load("paper_expert_random"),
                weights[RECIPE],
                config_weights=weights,
            )
        except Exception:  # no paper tables in this catalog: the column stays empty
            logger.debug("No paper scores for the run summary", exc_info=True)
            return None
    from gail_pipeline.reporting import with_config  # comparisons saved before GAIL had configs

    keys = ["task", "n_trajectories", "algorithm", "config"]  # GAIL: the paper's at the config's λ
    return with_config(comparison).drop_duplicates(keys).set_index(keys)["paper_normalized_score"]


def _cells(results: pd.DataFrame, paper: pd.Series | None) -> list[tuple[str, str, str, str]]:
    """One row per unit; per (task, algorithm, dataset size) with the mean over seeds where a cell
    has several seeds."""
    from gail_pipeline.grid import unit_label
    from gail_pipeline.reporting import with_config

    rows = []
    keys = ["task", "algorithm", "config", "n_trajectories"]
    for (task, algorithm, config, size), cell in with_config(results).groupby(keys, sort=False):
        label = unit_label(algorithm, config)
        if len(cell) == 1:
            unit = f"{task}.{label}.n{size}.s{cell['seed'].iloc[0]}"
            score = f"{cell['normalized_score'].iloc[0]:.3f}"
        else:
            unit = f"{task}.{label}.n{size} ({len(cell)} seeds)"
            score = f"{cell['normalized_score'].mean():.3f} ± {cell['normalized_score'].std():.3f}"
        theirs = paper.get((task, size, algorithm, config)) if paper is not None else None
        rows.append(
            (unit, f"{cell['return_mean'].mean():.2f}", score, "–" if pd.isna(theirs) else f"{theirs:.3f}")
        )
    return rows


def _references(results: pd.DataFrame) -> list[str]:
    per_task = results.groupby("task", sort=False)[["expert_return_mean", "random_return_mean"]].first()
    returns = ", ".join(
        f"{task} {r.expert_return_mean:g} / {r.random_return_mean:g}" for task, r in per_task.iterrows()
    )
    return [
        "normalised score: (return − random) / (expert − random); paper: Ho & Ermon 2016",
        f"expert / random return: {returns}",
    ]


def _reports(pipeline: Any, catalog: Any, run_params: dict[str, Any]) -> list[Any]:
    """Where the run wrote its reports: ``<folder>/<name>/<version>/<name>``."""
    outputs = pipeline.all_outputs()
    paths = [_filepath(catalog, name, run_params) for name in REPORTS if name in outputs]
    paths = [p for p in paths if p is not None]
    if not paths:
        return []
    folders = list(dict.fromkeys(folder for folder, _ in paths))
    version = run_params.get("run_id")
    from rich.columns import Columns
    from rich.padding import Padding

    lines: list[Any] = []
    for folder in folders:
        names = Columns([name for f, name in paths if f == folder], padding=(0, 2))
        lines += [f"Reports: {folder}/<name>/{version}/<name>", Padding(names, (0, 0, 0, 2))]
    return lines


def _filepath(catalog: Any, name: str, run_params: dict[str, Any]) -> tuple[str, str] | None:
    """(folder, file name) of a dataset saved to a file, the folder relative to the project."""
    dataset = catalog.get(name)
    filepath = getattr(dataset, "_filepath", None)
    if filepath is None:
        return None
    path = PurePosixPath(str(filepath))
    project = run_params.get("project_path")
    if project and path.is_absolute() and path.is_relative_to(project):
        path = path.relative_to(project)
    protocol = getattr(dataset, "_protocol", "file")
    folder = str(path.parent) if protocol in ("file", "local") else f"{protocol}://{path.parent}"
    return folder, path.name


def _commands(heading: str, commands: Iterable[tuple[str, str]]) -> list[str]:
    commands = list(commands)
    width = max(len(command) for command, _ in commands)
    return [heading] + [f"  {command:<{width}}  {what}" for command, what in commands]
