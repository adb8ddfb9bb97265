"""The reporting pipeline."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from gail_pipeline.pipelines.reporting import nodes


def create_pipeline() -> Pipeline:
    return Pipeline(
        [
            Node(
                nodes.paper_comparison,
                inputs=["results_table", "paper_results", "paper_expert_random", "params:imitation"],
                outputs=["paper_comparison", "paper_comparison_markdown"],
                name="compare_with_paper",
                tags=["reporting"],
            )
        ]
    )
