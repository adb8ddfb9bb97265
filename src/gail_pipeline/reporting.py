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
        columns={
            "algorithm": "paper_algorithm",
            "return_mean": "paper_return_mean",
            "return_std": "paper_return_std",
        }
    )[
        [
            "task",
            "n_trajectories",
            "paper_algorithm",
            "paper_return_mean",
            "paper_return_std",
            "paper_normalized_score",
        ]
    ]
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
        "| task | trajectories | algorithm | seeds | our return | our normalised "
        "score | paper return | paper normalised score | difference |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in comparison.itertuples():
        paper_return = "" if pd.isna(row.paper_return_mean) else f"{row.paper_return_mean:.2f}"
        paper_score = "" if pd.isna(row.paper_normalized_score) else f"{row.paper_normalized_score:.3f}"
        diff = "" if pd.isna(row.score_difference) else f"{row.score_difference:+.3f}"
        lines.append(
            f"| {row.task} | {row.n_trajectories} | {ALGORITHM_NAMES.get(row.algorithm, row.algorithm)} "
            f"| {row.seeds} | {row.return_mean:.2f} | "
            f"{row.normalized_score:.3f} ± {row.normalized_score_std:.3f} "
            f"| {paper_return} | {paper_score} | {diff} |"
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Figures (matplotlib's object API: no pyplot state, safe in threads and notebooks)
# --------------------------------------------------------------------------------------------
_COLORS = {"bc": "#1f77b4", "fem": "#2ca02c", "gtal": "#9467bd", "gail": "#d62728"}


def figure_one(comparison: pd.DataFrame, results: pd.DataFrame):
    """The paper's Figure 1 for our runs: per task, normalised score against the number of expert
    trajectories, one line per algorithm (mean over seeds, band: min–max over seeds), the paper's
    scores as hollow markers on dashed lines. Returns (matplotlib figure, plotly figure)."""
    import plotly.graph_objects as go
    from matplotlib.figure import Figure
    from plotly.subplots import make_subplots

    tasks = list(dict.fromkeys(comparison["task"]))
    cols = min(3, len(tasks))
    rows = -(-len(tasks) // cols)
    fig = Figure(figsize=(4.2 * cols, 3.4 * rows), dpi=110)
    axes = fig.subplots(rows, cols, squeeze=False)
    interactive = make_subplots(rows=rows, cols=cols, subplot_titles=tasks)
    for i, task in enumerate(tasks):
        ax = axes[i // cols][i % cols]
        for algorithm, name in ALGORITHM_NAMES.items():
            ours = comparison[(comparison["task"] == task) & (comparison["algorithm"] == algorithm)]
            if ours.empty:
                continue
            color = _COLORS[algorithm]
            spread = (
                results[(results["task"] == task) & (results["algorithm"] == algorithm)]
                .groupby("n_trajectories")["normalized_score"]
                .agg(["min", "max"])
                .reindex(ours["n_trajectories"])
            )
            ax.plot(ours["n_trajectories"], ours["normalized_score"], "o-", color=color, label=name)
            ax.fill_between(ours["n_trajectories"], spread["min"], spread["max"], color=color, alpha=0.15)
            paper = ours.dropna(subset=["paper_normalized_score"])
            ax.plot(
                paper["n_trajectories"],
                paper["paper_normalized_score"],
                "o--",
                color=color,
                markerfacecolor="none",
                alpha=0.6,
                label=f"{name} (paper)",
            )
            position = {"row": i // cols + 1, "col": i % cols + 1}
            interactive.add_trace(
                go.Scatter(
                    x=ours["n_trajectories"],
                    y=ours["normalized_score"],
                    mode="lines+markers",
                    name=name,
                    legendgroup=name,
                    showlegend=i == 0,
                    line={"color": color},
                    error_y={
                        "type": "data",
                        "symmetric": False,
                        "array": spread["max"] - ours["normalized_score"].to_numpy(),
                        "arrayminus": ours["normalized_score"].to_numpy() - spread["min"],
                    },
                ),
                **position,
            )
            interactive.add_trace(
                go.Scatter(
                    x=paper["n_trajectories"],
                    y=paper["paper_normalized_score"],
                    mode="lines+markers",
                    name=f"{name} (paper)",
                    legendgroup=f"{name} (paper)",
                    showlegend=i == 0,
                    line={"color": color, "dash": "dash"},
                    marker={"symbol": "circle-open"},
                ),
                **position,
            )
        ax.set_title(task)
        ax.set_xlabel("expert trajectories")
        ax.set_ylabel("normalised score")
        ax.axhline(1.0, color="grey", lw=0.8, ls=":")
        ax.grid(alpha=0.3)
    for j in range(len(tasks), rows * cols):
        axes[j // cols][j % cols].axis("off")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="lower center", ncol=min(4, 2 * cols), fontsize=8, bbox_to_anchor=(0.5, 0.0)
    )
    fig.tight_layout(rect=(0, 0.08 if cols > 1 else 0.16, 1, 1))
    interactive.update_layout(
        title="Normalised score against expert trajectories (dashed: the paper)",
        height=350 * rows,
        width=420 * cols,
    )
    return fig, interactive


def learning_curves(curves: dict[str, pd.DataFrame]):
    """True return of the training rollouts against env steps, per task (rows) and algorithm
    (columns), one line per dataset size (mean over seeds). ``curves`` maps unit namespaces
    (``task.algo.nN.sS``) to learning curves; BC's (no env steps) are left out."""
    import plotly.graph_objects as go
    from matplotlib.figure import Figure
    from plotly.subplots import make_subplots

    frames = []
    for namespace, curve in curves.items():
        task, algorithm, size, seed = namespace.split(".")
        if "env_steps" not in curve:
            continue
        frames.append(curve.assign(task=task, algorithm=algorithm, size=int(size[1:]), seed=int(seed[1:])))
    if not frames:
        raise ValueError("no learning curve with env steps among the inputs")
    data = pd.concat(frames)
    tasks = list(dict.fromkeys(data["task"]))
    algorithms = [a for a in ALGORITHM_NAMES if a in set(data["algorithm"])]
    fig = Figure(figsize=(4 * len(algorithms), 3 * len(tasks)), dpi=110)
    axes = fig.subplots(len(tasks), len(algorithms), squeeze=False, sharex="row", sharey="row")
    titles = [f"{t} — {ALGORITHM_NAMES[a]}" for t in tasks for a in algorithms]
    interactive = make_subplots(rows=len(tasks), cols=len(algorithms), subplot_titles=titles)
    for i, task in enumerate(tasks):
        for j, algorithm in enumerate(algorithms):
            ax = axes[i][j]
            sel = data[(data["task"] == task) & (data["algorithm"] == algorithm)]
            for size, group in sel.groupby("size"):
                mean = group.groupby("iteration").agg(
                    env_steps=("env_steps", "mean"), ret=("return_mean", "mean")
                )
                ax.plot(mean["env_steps"], mean["ret"], label=f"{size} traj.")
                interactive.add_trace(
                    go.Scatter(
                        x=mean["env_steps"], y=mean["ret"], mode="lines", name=f"{task} {algorithm} n={size}"
                    ),
                    row=i + 1,
                    col=j + 1,
                )
            ax.set_title(f"{task} — {ALGORITHM_NAMES[algorithm]}")
            ax.set_xlabel("env steps")
            ax.set_ylabel("true return")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
    fig.tight_layout()
    interactive.update_layout(height=320 * len(tasks), width=420 * len(algorithms), showlegend=False)
    return fig, interactive
