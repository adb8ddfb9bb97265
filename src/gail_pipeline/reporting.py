"""Our results beside the paper's (no Kedro).

Scores are compared as **normalised** scores, (return − random) / (expert − random), because
Gymnasium's environments differ from the paper's (observation sizes, horizons): ours use the
expert and random returns measured by our expert stage, the paper's its own (from
``paper_expert_random.csv``: expert returns from its datasets, random returns from its table).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np
import pandas as pd

from gail_pipeline.grid import parse_label
from gail_pipeline.imitation.configs import FROZEN_D, GAIL_CONFIGS, PAPER, RECIPE
from gail_pipeline.statistics import aggregate_scores, cell_statistics

__all__ = [
    "aggregate_table",
    "aggregates_markdown",
    "appendix_b_table",
    "appendix_b_markdown",
    "compare_with_paper",
    "concat_results",
    "curves_table",
    "figure_one",
    "in_grid_order",
    "learning_curves",
    "performance_profile_figure",
    "to_markdown",
]

ALGORITHM_NAMES = {"bc": "BC", "fem": "FEM", "gtal": "GTAL", "gail": "GAIL"}
UNIT_COLUMNS = ["task", "algorithm", "config", "n_trajectories", "seed"]


def in_grid_order(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``table`` sorted by ``columns`` that it has (stable), algorithms in the paper's order, GAIL's
    configs as :data:`~gail_pipeline.imitation.configs.GAIL_CONFIGS` lists them."""
    orders = {
        "algorithm": {name: i for i, name in enumerate(ALGORITHM_NAMES)},
        "config": {name: i for i, name in enumerate(GAIL_CONFIGS)},
    }
    return table.sort_values(
        [c for c in columns if c in table.columns],
        key=lambda c: c.map(orders[c.name]) if c.name in orders else c,
        kind="stable",
    ).reset_index(drop=True)


def concat_results(*tables: pd.DataFrame) -> pd.DataFrame:
    """Results tables (one per task, or from several runs) as one, one row per unit, sorted by task,
    algorithm, dataset size and seed."""
    return in_grid_order(pd.concat(tables, ignore_index=True), UNIT_COLUMNS)


def compare_with_paper(
    results: pd.DataFrame,
    paper_results: pd.DataFrame,
    paper_expert_random: pd.DataFrame,
    causal_entropy_weight: float = 0.0,
    config_weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """One row per (task, n_trajectories, algorithm, config) of ``results``: our return and normalised
    score (mean and std over seeds, and the mean's 95 % bootstrap interval ``ci_low``–``ci_high``
    over seeds) beside the paper's, and their difference.

    GAIL is compared with the paper's GAIL at the same causal-entropy weight λ (the paper's rows
    without λ are λ = 0): each unit's own λ (the ``causal_entropy`` column: a config such as
    ``entropy_1e3`` is compared with the paper's λ = 10⁻³ row); for units saved before they
    recorded it, their config's λ in ``config_weights`` (:func:`~gail_pipeline.imitation.configs.
    config_causal_entropy`), else ``causal_entropy_weight``. A cell whose units ran at different λ
    is refused.
    """
    required = {"task", "algorithm", "n_trajectories", "seed", "return_mean", "normalized_score"}
    missing = required - set(results.columns)
    if missing:
        raise ValueError(f"results table: missing columns {sorted(missing)}")
    results = with_config(results)
    cell = ["task", "n_trajectories", "algorithm", "config"]
    returns = results.groupby(cell, sort=False)["return_mean"].mean().reset_index()
    weights = _gail_weights(results, cell, causal_entropy_weight, config_weights or {})
    scores = cell_statistics(results[[*required, "config"]]).rename(
        columns={"score_mean": "normalized_score", "score_std": "normalized_score_std"}
    )
    ours = (
        scores[[*cell, "seeds"]]
        .merge(returns, on=cell)
        .merge(scores[[*cell, "normalized_score", "normalized_score_std", "ci_low", "ci_high"]], on=cell)
    )
    ours["paper_algorithm"] = ours["algorithm"].map(ALGORITHM_NAMES)
    ours = ours.merge(weights, on=cell, how="left")

    paper = paper_results.copy()
    paper["weight"] = pd.to_numeric(paper["causal_entropy_weight"], errors="coerce").fillna(0.0)
    paper.loc[paper["algorithm"] != "GAIL", "weight"] = np.nan  # λ is GAIL's alone
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
            "weight",
            "paper_return_mean",
            "paper_return_std",
            "paper_normalized_score",
        ]
    ]
    # λ rounded to 8 decimals, so that a YAML 0.001 and the paper's 1e-3 are the same weight.
    ours["weight"], paper["weight"] = ours["weight"].round(8), paper["weight"].round(8)
    table = ours.merge(paper, on=["task", "n_trajectories", "paper_algorithm", "weight"], how="left")
    table["score_difference"] = table["normalized_score"] - table["paper_normalized_score"]
    table = table.drop(columns=["paper_algorithm", "weight"])
    return in_grid_order(table, cell)


def _gail_weights(
    results: pd.DataFrame, cell: list[str], fallback: float, config_weights: Mapping[str, float]
) -> pd.DataFrame:
    """Per cell, the causal-entropy weight λ its paper row is chosen by: GAIL's units' own (where a
    unit did not record it, its config's in ``config_weights``, else ``fallback``), NaN for the
    other algorithms (the merge with the paper's rows then matches their NaN λ: pandas merges NaN
    keys with NaN keys)."""
    recorded = results["causal_entropy"] if "causal_entropy" in results.columns else None
    weight = pd.Series(np.nan if recorded is None else pd.to_numeric(recorded), index=results.index)
    gail = results["algorithm"] == "gail"
    by_config = results["config"].map(lambda c: config_weights.get(c, fallback)).astype(float)
    weight[gail] = weight[gail].fillna(by_config[gail])
    weight[~gail] = np.nan
    per_cell = results[cell].assign(weight=weight)
    mixed = per_cell[gail].groupby(cell, sort=False)["weight"].nunique()
    if (mixed > 1).any():
        task, size, _, config = mixed[mixed > 1].index[0]
        raise ValueError(
            f"results table: GAIL units of {task}, {size} trajectories, config {config} "
            "ran at different causal-entropy weights; a cell is one setting"
        )
    return per_cell.drop_duplicates(cell)


def with_config(results: pd.DataFrame) -> pd.DataFrame:
    """``results`` with a ``config`` column (tables written before GAIL had configs: the recipe)."""
    if "config" in results.columns:
        return results
    return results.assign(config=RECIPE)


def display_name(algorithm: str, config: str = RECIPE) -> str:
    """``GAIL``, ``GAIL, paper settings``, ``GAIL, frozen D``, ``BC``, … (the paper's published
    scores are ``<name> (paper)`` in the figures)."""
    name = ALGORITHM_NAMES.get(algorithm, algorithm)
    return name if config in (RECIPE, "") else f"{name}, {_CONFIG_NAMES.get(config, config)}"


_CONFIG_NAMES = {"paper": "paper settings", "frozen_d": "frozen D"}


def to_markdown(comparison: pd.DataFrame) -> str:
    """The comparison as a Markdown table: per task and size, each algorithm's normalised score,
    ours (mean ± std over seeds, and the mean's 95 % bootstrap interval) and the paper's."""
    lines = [
        "| task | trajectories | algorithm | seeds | our return | our normalised "
        "score | 95 % CI | paper return | paper normalised score | difference |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in comparison.itertuples():
        paper_return = "" if pd.isna(row.paper_return_mean) else f"{row.paper_return_mean:.2f}"
        paper_score = "" if pd.isna(row.paper_normalized_score) else f"{row.paper_normalized_score:.3f}"
        diff = "" if pd.isna(row.score_difference) else f"{row.score_difference:+.3f}"
        lines.append(
            f"| {row.task} | {row.n_trajectories} | {display_name(row.algorithm, row.config)} "
            f"| {row.seeds} | {row.return_mean:.2f} | "
            f"{row.normalized_score:.3f} ± {row.normalized_score_std:.3f} "
            f"| [{row.ci_low:.3f}, {row.ci_high:.3f}] | {paper_return} | {paper_score} | {diff} |"
        )
    return "\n".join(lines) + "\n"


def aggregate_table(results: pd.DataFrame) -> pd.DataFrame:
    """The normalised score aggregated over tasks (:func:`~gail_pipeline.statistics.aggregate_scores`:
    mean and IQM with stratified-bootstrap 95 % intervals): the algorithms (GAIL: its recipe) on
    the cells they all ran (``comparison`` ``algorithms``), then each other GAIL config beside the
    recipe on the cells both ran (``recipe_vs_<config>``: the paper's settings and the control on
    each task's extremes, a λ study on one cell, each compared where it ran)."""
    results = with_config(results)
    recipe = results[(results["config"] == RECIPE) | (results["algorithm"] != "gail")]
    tables = []
    if not recipe.empty:
        algorithms = aggregate_scores(recipe.drop(columns="config"), comparison="algorithms")
        tables.append(in_grid_order(algorithms.assign(config=""), ["algorithm"]))
    gail = results[results["algorithm"] == "gail"]
    others = [c for c in dict.fromkeys(gail["config"]) if c != RECIPE]
    for config in in_grid_order(pd.DataFrame({"config": others}), ["config"])["config"]:
        pair = gail[gail["config"].isin([RECIPE, config])]
        if pair["config"].nunique() == 2:
            table = aggregate_scores(pair, comparison=f"recipe_vs_{config}")
            tables.append(in_grid_order(table, ["config"]))
    columns = ["comparison", "algorithm", "config"]
    table = pd.concat(tables, ignore_index=True)
    return table[columns + [c for c in table.columns if c not in columns]]


def aggregates_markdown(aggregates: pd.DataFrame) -> str:
    """The aggregate table as Markdown: per comparison and algorithm, the cells and runs it pools,
    the mean and the IQM, each with its 95 % interval."""
    lines = [
        "Normalised scores over all (task, dataset size) cells the compared algorithms share: mean and "
        "interquartile mean (IQM) over every run, each with its stratified-bootstrap 95 % interval "
        "(Agarwal et al. 2021).",
        "",
        "| comparison | algorithm | config | tasks | cells | runs | mean | mean 95 % CI | IQM "
        "| IQM 95 % CI |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in aggregates.itertuples():
        lines.append(
            f"| {row.comparison} | {ALGORITHM_NAMES.get(row.algorithm, row.algorithm)} | {row.config} "
            f"| {row.tasks} | {row.cells} | {row.runs} | {row.mean:.3f} | "
            f"[{row.mean_ci_low:.3f}, {row.mean_ci_high:.3f}] | {row.iqm:.3f} | "
            f"[{row.iqm_ci_low:.3f}, {row.iqm_ci_high:.3f}] |"
        )
    return "\n".join(lines) + "\n"


APPENDIX_B_COLUMNS = [
    "task",
    "n_trajectories",
    "algorithm",
    "config",
    "seeds",
    "env_steps",
    "score_mean",
    "score_std",
    "ci_low",
    "ci_high",
    "paper_score",
]


def appendix_b_table(comparison: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """One row per cell (task, dataset size, algorithm, config) of :func:`compare_with_paper`'s
    table, machine-readable: seeds, env steps per unit (mean over seeds; BC: 0, it takes none),
    our normalised score (mean, std, 95 % bootstrap interval over seeds) and the paper's."""
    cell = ["task", "n_trajectories", "algorithm", "config"]
    results = with_config(results)
    if "env_steps" in results.columns:
        steps = results.groupby(cell, sort=False)["env_steps"].mean().rename("env_steps").reset_index()
    else:
        steps = results[cell].drop_duplicates().assign(env_steps=np.nan)
    table = with_config(comparison).merge(steps, on=cell, how="left")
    table.loc[table["algorithm"] == "bc", "env_steps"] = 0
    table = table.rename(
        columns={
            "normalized_score": "score_mean",
            "normalized_score_std": "score_std",
            "paper_normalized_score": "paper_score",
        }
    )
    return in_grid_order(table[APPENDIX_B_COLUMNS], cell)


def appendix_b_markdown(table: pd.DataFrame) -> str:
    """:func:`appendix_b_table` in the paper's layout: a row per task and dataset size, a column per
    algorithm (GAIL's configs beside the recipe), each cell our normalised score over seeds with
    its 95 % interval and the paper's (GAIL's at the cell's λ; not repeated in the paper-settings
    and frozen-D columns)."""
    table = in_grid_order(table, ["task", "n_trajectories", "algorithm", "config"])
    columns = list(dict.fromkeys(zip(table["algorithm"], table["config"], strict=True)))
    header = [display_name(a, c) for a, c in columns]
    lines = [
        "Normalised scores (random 0, expert 1): ours as the mean over n seeds [its 95 % bootstrap "
        "interval], then the paper's score for the same algorithm and dataset size (GAIL: at the "
        "same causal-entropy weight λ).",
        "",
        "| task | trajectories | " + " | ".join(header) + " |",
        "|---|---|" + "---|" * len(header),
    ]
    for (task, size), rows in table.groupby(["task", "n_trajectories"], sort=False):
        cells = {(r.algorithm, r.config): r for r in rows.itertuples()}
        entries = []
        for key in columns:
            row = cells.get(key)
            if row is None:
                entries.append("")
                continue
            # The paper's score beside the recipe and named configs (a λ config: the paper's at its
            # λ); not repeated beside the paper-settings and frozen-D columns.
            shown = not pd.isna(row.paper_score) and key[1] not in (PAPER, FROZEN_D)
            paper = f"; paper {row.paper_score:.2f}" if shown else ""
            entries.append(f"{row.score_mean:.2f} [{row.ci_low:.2f}, {row.ci_high:.2f}] n={row.seeds}{paper}")
        lines.append(f"| {task} | {size} | " + " | ".join(entries) + " |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Figures (matplotlib's object API: no pyplot state, safe in threads and notebooks)
# --------------------------------------------------------------------------------------------
_COLORS = {"bc": "#1f77b4", "fem": "#2ca02c", "gtal": "#9467bd", "gail": "#d62728"}
_CONFIG_COLORS = {"paper": "#ff7f0e", "frozen_d": "#7f7f7f"}  # GAIL's configs beside the recipe
_OTHER_COLORS = ["#8c564b", "#e377c2", "#bcbd22", "#17becf", "#1a9850", "#542788"]


def _line_color(algorithm: str, config: str) -> str:
    """An algorithm's colour under the recipe; a built-in config's own; a named config's from a
    palette (by its name, so the same config keeps its colour across figures)."""
    if config in (RECIPE, ""):
        return _COLORS.get(algorithm, "black")
    if config in _CONFIG_COLORS:
        return _CONFIG_COLORS[config]
    return _OTHER_COLORS[int(hashlib.sha1(config.encode()).hexdigest(), 16) % len(_OTHER_COLORS)]


_REFERENCE_STYLE = {"expert": ("black", "--"), "random": ("grey", ":")}


def figure_one(comparison: pd.DataFrame):
    """The paper's Figure 1 for our runs: per task, normalised score against the number of expert
    trajectories, one line per algorithm (mean over seeds, band: the mean's 95 % bootstrap interval
    over seeds), the paper's scores as hollow markers on dashed lines. Returns (matplotlib figure,
    plotly figure)."""
    import plotly.graph_objects as go
    from matplotlib.figure import Figure
    from plotly.subplots import make_subplots

    tasks = list(dict.fromkeys(comparison["task"]))
    cols = min(3, len(tasks))
    rows = -(-len(tasks) // cols)
    fig = Figure(figsize=(4.2 * cols, 3.4 * rows), dpi=110)
    axes = fig.subplots(rows, cols, squeeze=False)
    interactive = make_subplots(rows=rows, cols=cols, subplot_titles=tasks)
    comparison = with_config(comparison)
    lines = in_grid_order(comparison[["algorithm", "config"]].drop_duplicates(), ["algorithm", "config"])
    shown: set[str] = set()

    def legend_once(name: str) -> bool:
        first = name not in shown
        shown.add(name)
        return first

    for i, task in enumerate(tasks):
        ax = axes[i // cols][i % cols]
        position = {"row": i // cols + 1, "col": i % cols + 1}
        for algorithm, config in lines.itertuples(index=False):
            ours = comparison[
                (comparison["task"] == task)
                & (comparison["algorithm"] == algorithm)
                & (comparison["config"] == config)
            ]
            if ours.empty:
                continue
            name = display_name(algorithm, config)
            color = _line_color(algorithm, config)
            low, high = ours["ci_low"].to_numpy(), ours["ci_high"].to_numpy()
            mean = ours["normalized_score"].to_numpy()
            ax.plot(ours["n_trajectories"], mean, "o-", color=color, label=name)
            ax.fill_between(ours["n_trajectories"], low, high, color=color, alpha=0.15)
            interactive.add_trace(
                go.Scatter(
                    x=ours["n_trajectories"],
                    y=mean,
                    mode="lines+markers",
                    name=name,
                    legendgroup=name,
                    showlegend=legend_once(name),
                    line={"color": color},
                    error_y={
                        "type": "data",
                        "symmetric": False,
                        "array": high - mean,
                        "arrayminus": mean - low,
                    },
                ),
                **position,
            )
            if config != RECIPE:  # the paper's published points: once, beside the recipe's line
                continue
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
            interactive.add_trace(
                go.Scatter(
                    x=paper["n_trajectories"],
                    y=paper["paper_normalized_score"],
                    mode="lines+markers",
                    name=f"{name} (paper)",
                    legendgroup=f"{name} (paper)",
                    showlegend=legend_once(f"{name} (paper)"),
                    line={"color": color, "dash": "dash"},
                    marker={"symbol": "circle-open"},
                ),
                **position,
            )
        for reference, level in (("expert", 1.0), ("random", 0.0)):
            color, style = _REFERENCE_STYLE[reference]
            ax.axhline(level, color=color, lw=0.9, ls=style, label=f"{reference} ({level:g})", zorder=1)
        ax.set_title(task)
        ax.set_xlabel("expert trajectories")
        ax.set_ylabel("normalised score")
        ax.set_xticks(sorted(set(comparison.loc[comparison["task"] == task, "n_trajectories"])))
        ax.grid(alpha=0.3)
    for j in range(len(tasks), rows * cols):
        axes[j // cols][j % cols].axis("off")
    handles, labels = axes[0][0].get_legend_handles_labels()
    ncol = min(5, 2 * cols + 1)
    strip = 0.2 + 0.2 * -(-len(labels) // ncol)  # inches below the panels for the legend's rows
    fig.set_size_inches(4.2 * cols, 3.4 * rows + strip)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8)
    fig.tight_layout(rect=(0, strip / (3.4 * rows + strip), 1, 1))
    interactive.add_hline(y=1.0, line={"color": "black", "dash": "dash", "width": 1}, row="all", col="all")
    interactive.add_hline(y=0.0, line={"color": "grey", "dash": "dot", "width": 1}, row="all", col="all")
    interactive.update_layout(
        title="Normalised score against expert trajectories (dashed: the paper; expert 1, random 0)",
        height=350 * rows,
        width=420 * cols,
    )
    return fig, interactive


def curves_table(curves: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Learning curves keyed by unit namespace (``task.label.nN.sS``) as one tidy table: the unit's
    ``task``, ``algorithm``, ``config``, ``n_trajectories`` and ``seed``, then the curve's own
    columns (BC's by Adam step, the others' by iteration with ``env_steps``; a column a curve lacks
    is empty)."""
    frames = []
    for namespace, curve in curves.items():
        task, label, size, seed = namespace.split(".")
        algorithm, config = parse_label(label)
        unit = pd.DataFrame(
            {
                "task": task,
                "algorithm": algorithm,
                "config": config,
                "n_trajectories": int(size[1:]),
                "seed": int(seed[1:]),
            },
            index=curve.index,
        )
        frames.append(pd.concat([unit, curve], axis=1))
    if not frames:
        return pd.DataFrame(columns=UNIT_COLUMNS)
    return in_grid_order(pd.concat(frames, ignore_index=True, sort=False), UNIT_COLUMNS)


def _trajectories(size: int) -> str:
    return f"{size} trajectory" if size == 1 else f"{size} trajectories"


def learning_curves(curves: pd.DataFrame | Mapping[str, pd.DataFrame], results: pd.DataFrame | None = None):
    """True return against env steps, one panel per task (rows) and dataset size (columns): FEM,
    GTAL and GAIL as curves of their training rollouts (mean over seeds, band: min–max), BC's final
    return (its 50-episode evaluation, mean over seeds) as a horizontal line, since BC has no env
    steps, and the expert's and a random policy's returns as reference lines.

    ``curves``: :func:`curves_table`'s table, or curves keyed by unit namespace. ``results``: the
    results table (BC's returns and the references); without it, only the curves are drawn.
    Returns (matplotlib figure, plotly figure)."""
    import plotly.graph_objects as go
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import EngFormatter, MaxNLocator
    from plotly.subplots import make_subplots

    table = curves_table(curves) if isinstance(curves, Mapping) else curves
    if "env_steps" not in table:
        raise ValueError("no learning curve with env steps among the inputs")
    data = table[(table["algorithm"] != "bc") & table["env_steps"].notna()]
    if data.empty:
        raise ValueError("no learning curve with env steps among the inputs")
    results = results if results is not None else pd.DataFrame(columns=UNIT_COLUMNS)
    data = with_config(data)
    lines = in_grid_order(data[["algorithm", "config"]].drop_duplicates(), ["algorithm", "config"])
    tasks = list(dict.fromkeys(data["task"]))
    sizes = {task: sorted(set(data.loc[data["task"] == task, "n_trajectories"])) for task in tasks}
    rows, cols = len(tasks), max(len(s) for s in sizes.values())
    height = 3.2 * rows + 0.45  # inches, with a strip for the legend below the panels
    fig = Figure(figsize=(4.2 * cols, height), dpi=110)
    axes = fig.subplots(rows, cols, squeeze=False)
    titles = [
        f"{t} — {_trajectories(sizes[t][j])}" if j < len(sizes[t]) else "" for t in tasks for j in range(cols)
    ]
    interactive = make_subplots(rows=rows, cols=cols, subplot_titles=titles)
    legend: dict[str, Line2D] = {}
    shown: set[str] = set()

    def interactive_line(name, x, y, position, **style):
        interactive.add_trace(
            go.Scatter(
                x=x, y=y, mode="lines", name=name, legendgroup=name, showlegend=name not in shown, **style
            ),
            **position,
        )
        shown.add(name)

    for i, task in enumerate(tasks):
        task_results = results[results["task"] == task]
        for j, size in enumerate(sizes[task]):
            ax = axes[i][j]
            position = {"row": i + 1, "col": j + 1}
            panel = data[(data["task"] == task) & (data["n_trajectories"] == size)]
            span = [0.0, float(panel["env_steps"].max())]
            for algorithm, config in lines.itertuples(index=False):
                runs = panel[(panel["algorithm"] == algorithm) & (panel["config"] == config)]
                if runs.empty:
                    continue
                name = display_name(algorithm, config)
                curve = runs.groupby("iteration").agg(
                    env_steps=("env_steps", "mean"),
                    mean=("return_mean", "mean"),
                    low=("return_mean", "min"),
                    high=("return_mean", "max"),
                )
                color = _line_color(algorithm, config)
                (legend[name],) = ax.plot(curve["env_steps"], curve["mean"], color=color, label=name)
                ax.fill_between(curve["env_steps"], curve["low"], curve["high"], color=color, alpha=0.15)
                interactive_line(name, curve["env_steps"], curve["mean"], position, line={"color": color})
            bc = task_results[(task_results["algorithm"] == "bc") & (task_results["n_trajectories"] == size)]
            levels = []
            if not bc.empty:
                levels.append(("BC (final)", float(bc["return_mean"].mean()), _COLORS["bc"], "-."))
            for reference, (color, style) in _REFERENCE_STYLE.items():
                column = f"{reference}_return_mean"
                if column in task_results and task_results[column].notna().any():
                    levels.append((reference, float(task_results[column].iloc[0]), color, style))
            for name, level, color, style in levels:
                # BC above the reference lines it may coincide with (a BC at the expert's return).
                zorder = 1.5 if name.startswith("BC") else 1.0
                legend[name] = ax.axhline(level, color=color, ls=style, lw=1.2, label=name, zorder=zorder)
                dash = {"-.": "dashdot", "--": "dash", ":": "dot"}[style]
                interactive_line(name, span, [level, level], position, line={"color": color, "dash": dash})
            ax.set_title(f"{task} — {_trajectories(size)}", fontsize=10)
            ax.set_xlabel("env steps")
            ax.set_ylabel("true return")
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
            ax.xaxis.set_major_formatter(EngFormatter(sep=""))
            ax.set_xlim(left=0)
            ax.grid(alpha=0.3)
        for j in range(len(sizes[task]), cols):
            axes[i][j].axis("off")
    fig.legend(
        list(legend.values()),
        list(legend),
        loc="lower center",
        ncol=min(len(legend), 6),
        fontsize=8,
        bbox_to_anchor=(0.5, 0.0),
    )
    fig.tight_layout(rect=(0, 0.45 / height, 1, 1))
    interactive.update_xaxes(tickformat="~s", title_text="env steps")
    interactive.update_yaxes(title_text="true return")
    interactive.update_layout(
        title="True return against env steps (BC: its final return; expert and random: reference returns)",
        height=320 * rows + 80,
        width=420 * cols + 160,
    )
    return fig, interactive


def performance_profile_figure(profiles: pd.DataFrame):
    """Performance profiles (:func:`~gail_pipeline.statistics.performance_profiles`): the share of
    runs above each normalised-score threshold, one line per algorithm[, config], band: the
    stratified-bootstrap 95 % interval. Returns (matplotlib figure, plotly figure)."""
    import plotly.graph_objects as go
    from matplotlib.figure import Figure

    groups = ["algorithm", "config"] if "config" in profiles.columns else ["algorithm"]
    fig = Figure(figsize=(6.4, 4.2), dpi=110)
    ax = fig.subplots()
    interactive = go.Figure()
    for key, profile in profiles.groupby(groups, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        algorithm, config = key[0], key[1] if len(key) > 1 else ""
        name, color = display_name(algorithm, config), _line_color(algorithm, config)
        ax.plot(profile["threshold"], profile["fraction"], color=color, label=name)
        ax.fill_between(profile["threshold"], profile["ci_low"], profile["ci_high"], color=color, alpha=0.15)
        interactive.add_trace(
            go.Scatter(
                x=profile["threshold"],
                y=profile["fraction"],
                mode="lines",
                name=name,
                line={"color": color},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": profile["ci_high"] - profile["fraction"],
                    "arrayminus": profile["fraction"] - profile["ci_low"],
                },
            )
        )
    for level, (color, style) in ((1.0, _REFERENCE_STYLE["expert"]), (0.0, _REFERENCE_STYLE["random"])):
        ax.axvline(level, color=color, ls=style, lw=0.9, zorder=1)
    ax.set_xlabel("normalised score τ (random 0, expert 1)")
    ax.set_ylabel("fraction of runs with score > τ")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    interactive.update_layout(
        title="Performance profiles: fraction of runs above each normalised score (band: 95 % CI)",
        xaxis_title="normalised score τ",
        yaxis_title="fraction of runs with score > τ",
        width=720,
        height=460,
    )
    return fig, interactive
