"""The reporting pipeline: the paper's table and Figure 1 for our runs, and learning curves."""

from __future__ import annotations

from collections.abc import Sequence

from kedro.pipeline import Node, Pipeline

from gail_pipeline.grid import Unit
from gail_pipeline.pipelines.reporting import nodes


def create_pipeline(units: Sequence[Unit]) -> Pipeline:
    pipeline_nodes = [
        Node(
            nodes.paper_comparison,
            inputs=["results_table", "paper_results", "paper_expert_random", "params:imitation"],
            outputs=["paper_comparison", "paper_comparison_markdown"],
            name="compare_with_paper",
            tags=["reporting"],
        ),
        Node(
            nodes.plot_figure_one,
            inputs=["paper_comparison", "results_table"],
            outputs=["figure_one_png", "figure_one_html"],
            name="plot_figure_one",
            tags=["reporting"],
        ),
    ]
    curves = {u.namespace: f"{u.namespace}.learning_curve" for u in units if u.algorithm != "bc"}
    if curves:
        pipeline_nodes.append(
            Node(
                nodes.plot_learning_curves,
                inputs=curves,
                outputs=["learning_curves_png", "learning_curves_html"],
                name="plot_learning_curves",
                tags=["reporting"],
            )
        )
    return Pipeline(pipeline_nodes)
