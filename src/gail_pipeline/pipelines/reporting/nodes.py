"""Nodes of the reporting stage."""

from __future__ import annotations

from typing import Any

import pandas as pd

from gail_pipeline.reporting import compare_with_paper, to_markdown


def paper_comparison(
    results_table: pd.DataFrame,
    paper_results: pd.DataFrame,
    paper_expert_random: pd.DataFrame,
    imitation_params: dict[str, Any],
) -> tuple[pd.DataFrame, str]:
    """Our normalised scores beside the paper's, as a table and as Markdown."""
    weight = float(imitation_params.get("gail", {}).get("causal_entropy", 0.0))
    comparison = compare_with_paper(results_table, paper_results, paper_expert_random, weight)
    return comparison, to_markdown(comparison)
