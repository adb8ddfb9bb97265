"""Our results beside the paper's (no Kedro).

Scores are compared as **normalised** scores, (return − random) / (expert − random), because
Gymnasium's environments differ from the paper's (observation sizes, horizons): ours use the
expert and random returns measured by our expert stage, the paper's its own (from
``paper_expert_random.csv``: expert returns from its datasets, random returns from its table).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["compare_with_paper", "to_markdown"]

ALGORITHM_NAMES = {"bc": "BC", "fem": "FEM", "gtal": "GTAL", "gail": "GAIL"}


def compare_with_paper(
    results: pd.DataFrame,
    paper_results: pd.DataFrame,
    paper_expert_random: pd.DataFrame,
    causal_entropy_weight: float = 0.0,
) -> pd.DataFrame:
    """One row per (task, n_trajectories, algorithm) of ``results``: our return and normalised
    score (mean and std over seeds) beside the paper's, and their difference.

    GAIL is compared with the paper's GAIL at the same causal-entropy weight λ (rows without λ are
    λ = 0).
    """
    required = {"task", "algorithm", "n_trajectories", "seed", "return_mean", "normalized_score"}
    missing = required - set(results.columns)
    if missing:
        raise ValueError(f"results table: missing columns {sorted(missing)}")
    ours = (
        results.groupby(["task", "n_trajectories", "algorithm"], sort=False)
        .agg(
            seeds=("seed", "count"),
            return_mean=("return_mean", "mean"),
            normalized_score=("normalized_score", "mean"),
            normalized_score_std=("normalized_score", "std"),
        )
        .reset_index()
    )
    ours["normalized_score_std"] = ours["normalized_score_std"].fillna(0.0)
    ours["paper_algorithm"] = ours["algorithm"].map(ALGORITHM_NAMES)

    paper = paper_results.copy()
    weight = pd.to_numeric(paper["causal_entropy_weight"], errors="coerce").fillna(0.0)
    paper = paper[(paper["algorithm"] != "GAIL") | np.isclose(weight, causal_entropy_weight)]
    paper = paper.merge(paper_expert_random, on="task", how="left")
    paper["paper_normalized_score"] = (paper["return_mean"] - paper["random_return_mean"]) / (
        paper["expert_return_mean"] - paper["random_return_mean"]
    )
    paper = paper.rename(
        columns={"algorithm": "paper_algorithm", "return_mean": "paper_return_mean",
                 "return_std": "paper_return_std"}
    )[["task", "n_trajectories", "paper_algorithm", "paper_return_mean", "paper_return_std",
       "paper_normalized_score"]]
    table = ours.merge(paper, on=["task", "n_trajectories", "paper_algorithm"], how="left")
    table["score_difference"] = table["normalized_score"] - table["paper_normalized_score"]
    table = table.drop(columns="paper_algorithm")
    order = {name: i for i, name in enumerate(ALGORITHM_NAMES)}
    return table.sort_values(
        ["task", "n_trajectories", "algorithm"],
        key=lambda c: c.map(order) if c.name == "algorithm" else c,
    ).reset_index(drop=True)


def to_markdown(comparison: pd.DataFrame) -> str:
    """The comparison as a Markdown table: per task and size, each algorithm's normalised score,
    ours (mean ± std over seeds) and the paper's."""
    lines = [
        "| task | trajectories | algorithm | seeds | our return | our normalised score | paper return | paper normalised score | difference |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in comparison.itertuples():
        paper_return = "" if pd.isna(row.paper_return_mean) else f"{row.paper_return_mean:.2f}"
        paper_score = "" if pd.isna(row.paper_normalized_score) else f"{row.paper_normalized_score:.3f}"
        diff = "" if pd.isna(row.score_difference) else f"{row.score_difference:+.3f}"
        lines.append(
            f"| {row.task} | {row.n_trajectories} | {ALGORITHM_NAMES.get(row.algorithm, row.algorithm)} "
            f"| {row.seeds} | {row.return_mean:.2f} | {row.normalized_score:.3f} ± {row.normalized_score_std:.3f} "
            f"| {paper_return} | {paper_score} | {diff} |"
        )
    return "\n".join(lines) + "\n"
