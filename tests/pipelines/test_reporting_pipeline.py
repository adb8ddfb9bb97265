"""The reporting pipeline on an in-memory catalog: a hand-made results table of a tiny CartPole
grid (two seeds) beside the paper's shipped tables, Figure 1 and the learning curves."""

import pandas as pd
import plotly.graph_objects as go
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from matplotlib.figure import Figure

from gail_pipeline.grid import units
from gail_pipeline.pipelines import reporting
from gail_pipeline.pipelines.evaluation.nodes import RESULT_COLUMNS
from tests.conftest import PROJECT, TINY

COMPARISON_COLUMNS = [
    "task",
    "n_trajectories",
    "algorithm",
    "config",
    "seeds",
    "return_mean",
    "normalized_score",
    "normalized_score_std",
    "ci_low",
    "ci_high",
    "paper_return_mean",
    "paper_return_std",
    "paper_normalized_score",
    "score_difference",
]
# CartPole's dataset sizes in the paper are 1, 4, 7 and 10.
TASK = {**TINY["tasks"]["cartpole"], "env_id": "CartPole-v1", "dataset_sizes": [1, 4]}


def _units(algorithms):
    grid = {"tasks": ["cartpole"], "algorithms": algorithms, "seeds": 2, "iterations": 2}
    return units({"tasks": {"cartpole": TASK}, "grid": grid})


def _results_table(grid_units):
    rows = []
    for i, u in enumerate(grid_units):
        score = 0.1 * i
        ret = 21.1 + score * (200.0 - 21.1)
        rows.append(
            [
                *("cartpole", u.algorithm, u.config, u.dataset_size, u.seed, ret, 1.0, score, 200.0, 21.1),
                *(5, 600, 0.0 if u.algorithm == "gail" else None),
            ]
        )
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def _curve(unit):
    return pd.DataFrame(
        {
            "iteration": [1, 2],
            "env_steps": [300, 600],
            "return_mean": [10.0 + unit.seed, 20.0 + unit.dataset_size],
        }
    )


def _catalog(grid_units):
    datasets = {
        "results_table": MemoryDataset(_results_table(grid_units)),
        "paper_results": MemoryDataset(pd.read_csv(PROJECT / "data/01_raw/paper/paper_appendix_b.csv")),
        "paper_expert_random": MemoryDataset(
            pd.read_csv(PROJECT / "data/01_raw/paper/paper_expert_random.csv")
        ),
        "parameters": MemoryDataset({"imitation": {"gail": {"causal_entropy": 0.0}}}),
    }
    for u in grid_units:
        datasets[f"{u.namespace}.learning_curve"] = MemoryDataset(_curve(u))
    return DataCatalog(datasets=datasets)


def test_reporting_pipeline_compares_with_the_paper_and_plots():
    grid_units = _units(["bc", "gail"])
    pipeline = reporting.create_pipeline(grid_units)
    curves = {f"{u.namespace}.learning_curve" for u in grid_units}
    assert (
        pipeline.inputs() == {"results_table", "paper_results", "paper_expert_random", "parameters"} | curves
    )
    catalog = _catalog(grid_units)

    # The comparison first (Figure 1's input, released once it is drawn), then the figures.
    SequentialRunner().run(pipeline.only_nodes("compare_with_paper"), catalog)
    comparison = catalog.load("paper_comparison")
    assert list(comparison.columns) == COMPARISON_COLUMNS
    assert list(zip(comparison["n_trajectories"], comparison["algorithm"])) == [
        (1, "bc"),
        (1, "gail"),
        (4, "bc"),
        (4, "gail"),
    ]
    table = catalog.load("results_table")
    for row in comparison.itertuples():
        ours = table[(table["algorithm"] == row.algorithm) & (table["n_trajectories"] == row.n_trajectories)]
        assert row.seeds == 2
        assert row.normalized_score == pytest.approx(ours["normalized_score"].mean())
        assert row.normalized_score_std == pytest.approx(ours["normalized_score"].std())
        assert row.score_difference == pytest.approx(row.normalized_score - row.paper_normalized_score)
    # The paper's scores, normalised by its own expert (200) and random (18.64) returns.
    paper = comparison.set_index(["n_trajectories", "algorithm"])["paper_normalized_score"]
    assert paper[(1, "gail")] == pytest.approx(1.0)
    assert paper[(1, "bc")] == pytest.approx((72.02 - 18.64) / (200.0 - 18.64))

    markdown = catalog.load("paper_comparison_markdown")
    lines = markdown.strip().splitlines()
    assert len(lines) == 2 + len(comparison)
    assert lines[2].startswith("| cartpole | 1 | BC | 2 |")

    # The task's curves as one table (inside the task's namespace), then the figures.
    SequentialRunner().run(pipeline.only_nodes("cartpole.collect_learning_curves"), catalog)
    assert len(catalog.load("cartpole_learning_curves")) == 2 * len(grid_units)
    SequentialRunner().run(pipeline.only_nodes("plot_figure_one", "plot_learning_curves"), catalog)
    for name in ("figure_one", "learning_curves"):
        assert isinstance(catalog.load(f"{name}_png"), Figure)
        assert isinstance(catalog.load(f"{name}_html"), go.Figure)
    # Per dataset size (n=1 and n=4): GAIL's curve, BC's final return, the expert's and random returns.
    names = [trace.name for trace in catalog.load("learning_curves_html").data]
    assert names == ["GAIL", "BC (final)", "expert", "random"] * 2

    # The scores over all cells: per algorithm, mean and IQM over its 4 runs with their intervals;
    # then the performance profiles and their figure.
    SequentialRunner().run(pipeline.only_nodes("summarise_scores"), catalog)
    aggregates = catalog.load("aggregate_scores").set_index("algorithm")
    assert list(aggregates.index) == ["bc", "gail"] and set(aggregates["comparison"]) == {"algorithms"}
    for algorithm, row in aggregates.iterrows():
        scores = table.loc[table["algorithm"] == algorithm, "normalized_score"]
        assert (row["cells"], row["runs"]) == (2, 4)
        assert row["mean"] == pytest.approx(scores.mean())
        assert row["mean_ci_low"] <= row["mean"] <= row["mean_ci_high"]
    assert catalog.load("aggregate_scores_markdown").count("| algorithms |") == 2
    profiles = catalog.load("performance_profiles")
    assert set(profiles["algorithm"]) == {"bc", "gail"}
    SequentialRunner().run(pipeline.only_nodes("plot_performance_profiles"), catalog)
    assert isinstance(catalog.load("performance_profiles_png"), Figure)


def test_bc_only_grid_has_no_learning_curve_plot():
    pipeline = reporting.create_pipeline(_units(["bc"]))
    assert {n.name for n in pipeline.nodes} == {
        "compare_with_paper",
        "plot_figure_one",
        "tabulate_appendix_b",
        "summarise_scores",
        "plot_performance_profiles",
    }
