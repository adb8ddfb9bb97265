"""The reporting pipeline: the paper's table and Figure 1 for our runs, and learning curves."""

from __future__ import annotations

from collections.abc import Sequence

from kedro.pipeline import Node, Pipeline

from gail_pipeline.grid import Unit
from gail_pipeline.pipelines.reporting import nodes


def task_curves(task: str) -> str:
    """The dataset of one task's learning curves: a name outside the task's namespace, so that the
    plot over all tasks reads it without crossing into the namespace."""
    return f"{task}_learning_curves"


def create_curves_pipeline(units: Sequence[Unit]) -> Pipeline:
    """Per task (in its namespace), ``<task>_learning_curves`` from its units' curves; then the plot
    over all tasks. Empty for a BC-only grid: BC has no env-step axis to plot against."""
    if all(u.algorithm == "bc" for u in units):
        return Pipeline([])
    tasks: dict[str, list[Unit]] = {}
    for unit in units:
        tasks.setdefault(unit.task.name, []).append(unit)
    per_task = [
        Node(
            nodes.collect_learning_curves,
            inputs={u.namespace: f"{u.namespace}.learning_curve" for u in task_units},
            outputs=task_curves(task),
            name="collect_learning_curves",
            tags=["reporting"],
            namespace=task,
        )
        for task, task_units in tasks.items()
    ]
    plot = Node(
        nodes.plot_learning_curves,
        inputs=["results_table", *(task_curves(task) for task in tasks)],
        outputs=["learning_curves_png", "learning_curves_html"],
        name="plot_learning_curves",
        tags=["reporting"],
    )
    return Pipeline([*per_task, plot])


def create_pipeline(units: Sequence[Unit]) -> Pipeline:
    """The comparison with the paper, Figure 1, the aggregate scores and performance profiles, and
    the learning curves."""
    return (
        Pipeline(
            [
                Node(
                    nodes.paper_comparison,
                    inputs=["results_table", "paper_results", "paper_expert_random", "parameters"],
                    outputs=["paper_comparison", "paper_comparison_markdown"],
                    name="compare_with_paper",
                    tags=["reporting"],
                ),
                Node(
                    nodes.plot_figure_one,
                    inputs="paper_comparison",
                    outputs=["figure_one_png", "figure_one_html"],
                    name="plot_figure_one",
                    tags=["reporting"],
                ),
                Node(
                    nodes.tabulate_appendix_b,
                    inputs=["paper_comparison", "results_table"],
                    outputs=["appendix_b_table", "appendix_b_markdown"],
                    name="tabulate_appendix_b",
                    tags=["reporting"],
                ),
            ]
        )
        + create_scores_pipeline()
        + create_curves_pipeline(units)
    )


def create_scores_pipeline() -> Pipeline:
    """The scores over all tasks: mean and IQM with their intervals, the performance profiles, and
    GAIL's configs tested against the recipe."""
    return Pipeline(
        [
            Node(
                nodes.summarise_scores,
                inputs="results_table",
                outputs=[
                    "aggregate_scores",
                    "aggregate_scores_markdown",
                    "performance_profiles",
                    "gail_config_tests",
                ],
                name="summarise_scores",
                tags=["reporting"],
            ),
            Node(
                nodes.plot_performance_profiles,
                inputs="performance_profiles",
                outputs=["performance_profiles_png", "performance_profiles_html"],
                name="plot_performance_profiles",
                tags=["reporting"],
            ),
        ]
    )


PUBLISHED_TABLES = {
    "results_table": "published_results_table",
    "appendix_b_table": "published_appendix_b_table",
    "appendix_b_markdown": "published_appendix_b_markdown",
    "paper_comparison_markdown": "published_paper_comparison_markdown",
    "aggregate_scores_markdown": "published_aggregate_scores_markdown",
    "gail_config_tests": "published_gail_config_tests",
}


def create_publish_pipeline(units: Sequence[Unit]) -> Pipeline:
    """``docs/results/<grid_label>/`` from the catalog's latest reports (``kedro run --pipelines
    publish``): the tables as they are, the figures drawn again from their tables (PNG)."""
    tasks = list(dict.fromkeys(u.task.name for u in units if u.algorithm != "bc"))
    published = [
        Node(
            nodes.publish,
            inputs=list(PUBLISHED_TABLES),
            outputs=list(PUBLISHED_TABLES.values()),
            name="publish_tables",
            tags=["publish"],
        ),
        Node(
            nodes.publish_figure_one,
            inputs="paper_comparison",
            outputs="published_figure_one_png",
            name="publish_figure_one",
            tags=["publish"],
        ),
        Node(
            nodes.publish_performance_profiles,
            inputs="performance_profiles",
            outputs="published_performance_profiles_png",
            name="publish_performance_profiles",
            tags=["publish"],
        ),
    ]
    if tasks:
        published.append(
            Node(
                nodes.publish_learning_curves,
                inputs=["results_table", *(task_curves(task) for task in tasks)],
                outputs="published_learning_curves_png",
                name="publish_learning_curves",
                tags=["publish"],
            )
        )
    return Pipeline(published)
