"""Nodes of the reporting stage."""

from __future__ import annotations

from typing import Any

import pandas as pd

from gail_pipeline.imitation.configs import RECIPE, config_causal_entropy
from gail_pipeline.reporting import (
    aggregate_table,
    aggregates_markdown,
    appendix_b_markdown,
    appendix_b_table,
    compare_with_paper,
    curves_table,
    figure_one,
    learning_curves,
    performance_profile_figure,
    to_markdown,
)
from gail_pipeline.statistics import config_tests, performance_profiles


def paper_comparison(
    results_table: pd.DataFrame,
    paper_results: pd.DataFrame,
    paper_expert_random: pd.DataFrame,
    parameters: dict[str, Any],
) -> tuple[pd.DataFrame, str]:
    """Our normalised scores beside the paper's, as a table and as Markdown (GAIL at each
    config's λ: units' own, for earlier units their config's)."""
    weights = config_causal_entropy(parameters)
    comparison = compare_with_paper(
        results_table, paper_results, paper_expert_random, weights[RECIPE], config_weights=weights
    )
    return comparison, to_markdown(comparison)


def plot_figure_one(paper_comparison: pd.DataFrame) -> tuple[Any, Any]:
    """Figure 1 of the paper for our runs (PNG and interactive HTML)."""
    return figure_one(paper_comparison)


def summarise_scores(results_table: pd.DataFrame) -> tuple[pd.DataFrame, str, pd.DataFrame, pd.DataFrame]:
    """The scores aggregated over tasks (mean, IQM, stratified-bootstrap intervals; table and
    Markdown), the performance profiles, and GAIL's configs tested against the recipe per cell
    (one-sided Wilcoxon rank-sum p-values)."""
    aggregates = aggregate_table(results_table)
    return (
        aggregates,
        aggregates_markdown(aggregates),
        performance_profiles(results_table),
        config_tests(results_table),
    )


def plot_performance_profiles(performance_profiles: pd.DataFrame) -> tuple[Any, Any]:
    """The performance profiles (PNG and interactive HTML)."""
    return performance_profile_figure(performance_profiles)


def collect_learning_curves(**curves: pd.DataFrame) -> pd.DataFrame:
    """One task's learning curves as one tidy table; inputs are keyed by unit namespace."""
    return curves_table(curves)


def plot_learning_curves(results_table: pd.DataFrame, *task_curves: pd.DataFrame) -> tuple[Any, Any]:
    """Learning curves per task and dataset size, with BC's final return and the expert's and
    random returns as horizontal lines (PNG and interactive HTML)."""
    return learning_curves(pd.concat(task_curves, ignore_index=True), results_table)


def tabulate_appendix_b(
    paper_comparison: pd.DataFrame, results_table: pd.DataFrame
) -> tuple[pd.DataFrame, str]:
    """The machine-readable table of every cell (scores, intervals, env steps, the paper's score)
    and the same in the paper's layout (Markdown)."""
    table = appendix_b_table(paper_comparison, results_table)
    return table, appendix_b_markdown(table)


def publish(*reports: Any) -> tuple[Any, ...]:
    """The reports as they are, for the published copies (``docs/results/<grid_label>/``)."""
    return reports


def publish_figure_one(paper_comparison: pd.DataFrame) -> Any:
    """Figure 1 (PNG) for the published results."""
    return figure_one(paper_comparison)[0]


def publish_performance_profiles(performance_profiles: pd.DataFrame) -> Any:
    """The performance profiles (PNG) for the published results."""
    return performance_profile_figure(performance_profiles)[0]


def publish_learning_curves(results_table: pd.DataFrame, *task_curves: pd.DataFrame) -> Any:
    """The learning curves (PNG) for the published results."""
    return plot_learning_curves(results_table, *task_curves)[0]
