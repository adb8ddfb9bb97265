from pathlib import Path

import pandas as pd
import pytest

from gail_pipeline.pipelines.evaluation.nodes import (
    build_results_table,
    normalized_score,
)
from gail_pipeline.reporting import compare_with_paper, to_markdown

RAW = Path(__file__).parents[1] / "data/01_raw/paper"


def _evaluation(algorithm, n, seed, ret, score):
    return {
        "task": "cartpole",
        "algorithm": algorithm,
        "n_trajectories": n,
        "seed": seed,
        "return_mean": ret,
        "return_std": 0.0,
        "normalized_score": score,
        "expert_return_mean": 200.0,
        "random_return_mean": 20.0,
        "episodes": 50,
        "returns": [ret],
    }


def test_normalized_score():
    assert normalized_score(110.0, expert=200.0, random=20.0) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="undefined"):
        normalized_score(1.0, 5.0, 5.0)


def test_results_table_is_tidy_and_ordered():
    table = build_results_table(
        _evaluation("gail", 1, 1, 200.0, 1.0),
        _evaluation("bc", 1, 0, 100.0, 0.4),
        _evaluation("gail", 1, 0, 190.0, 0.9),
    )
    assert list(table["algorithm"]) == ["bc", "gail", "gail"]
    assert list(table["seed"]) == [0, 0, 1]
    assert "returns" not in table.columns


def test_comparison_with_the_shipped_paper_numbers():
    results = build_results_table(
        _evaluation("bc", 1, 0, 100.0, 0.40),
        _evaluation("bc", 1, 1, 120.0, 0.60),
        _evaluation("gail", 1, 0, 200.0, 1.00),
    )
    paper = pd.read_csv(RAW / "paper_appendix_b.csv")
    reference = pd.read_csv(RAW / "paper_expert_random.csv")
    comparison = compare_with_paper(results, paper, reference)
    bc = comparison[comparison["algorithm"] == "bc"].iloc[0]
    assert bc["seeds"] == 2 and bc["normalized_score"] == pytest.approx(0.5)
    # The paper: BC on CartPole, 1 trajectory, 72.02; expert 200, random 18.64.
    assert bc["paper_return_mean"] == pytest.approx(72.02)
    assert bc["paper_normalized_score"] == pytest.approx((72.02 - 18.64) / (200 - 18.64))
    gail = comparison[comparison["algorithm"] == "gail"].iloc[0]
    assert gail["score_difference"] == pytest.approx(0.0)
    markdown = to_markdown(comparison)
    assert (
        "| cartpole | 1 | BC | 2 | 110.00 | 0.500 ± 0.141 | [0.400, 0.600] | 72.02 | 0.294 | +0.206 |"
        in markdown
    )


def test_reacher_gail_is_compared_at_the_same_causal_entropy():
    results = pd.DataFrame([{**_evaluation("gail", 4, 0, -10.0, 0.8), "task": "reacher"}])
    paper = pd.read_csv(RAW / "paper_appendix_b.csv")
    reference = pd.read_csv(RAW / "paper_expert_random.csv")
    assert compare_with_paper(results, paper, reference, 0.0)["paper_return_mean"].item() == pytest.approx(
        -67.23
    )
    assert compare_with_paper(results, paper, reference, 1e-3)["paper_return_mean"].item() == pytest.approx(
        -32.37
    )


def test_figures_have_a_panel_per_task_and_the_paper_beside_ours():
    rows = [
        _evaluation(algo, n, seed, 150.0, score)
        for algo in ("bc", "gail")
        for n in (1, 10)
        for seed, score in ((0, 0.5), (1, 0.7))
    ]
    rows += [{**r, "task": "acrobot"} for r in rows]
    results = build_results_table(*rows)
    comparison = compare_with_paper(
        results, pd.read_csv(RAW / "paper_appendix_b.csv"), pd.read_csv(RAW / "paper_expert_random.csv")
    )
    png, html = __import__("gail_pipeline.reporting", fromlist=["figure_one"]).figure_one(comparison)
    titles = [ax.get_title() for ax in png.axes if ax.get_title()]
    assert titles == ["acrobot", "cartpole"]
    names = {trace.name for trace in html.data}
    assert names == {"BC", "BC (paper)", "GAIL", "GAIL (paper)"}
    gail = next(t for t in html.data if t.name == "GAIL" and t.xaxis == "x")
    assert list(gail.y) == pytest.approx([0.6, 0.6])  # mean over the two seeds


def test_figure_one_marks_the_dataset_sizes_and_the_expert_and_random_levels():
    from gail_pipeline.reporting import figure_one

    results = build_results_table(
        *(_evaluation(a, n, 0, 150.0, 0.7) for a in ("bc", "gail") for n in (1, 4, 10))
    )
    comparison = compare_with_paper(
        results, pd.read_csv(RAW / "paper_appendix_b.csv"), pd.read_csv(RAW / "paper_expert_random.csv")
    )
    png, _ = figure_one(comparison)
    (ax,) = [ax for ax in png.axes if ax.get_title()]
    assert list(ax.get_xticks()) == [1, 4, 10]
    levels = {line.get_label(): line.get_ydata()[0] for line in ax.get_lines()}
    assert levels["expert (1)"] == 1.0 and levels["random (0)"] == 0.0
    legend = {text.get_text() for text in png.legends[0].get_texts()}
    assert {"BC", "GAIL", "GAIL (paper)", "expert (1)", "random (0)"} <= legend


def _curve(steps, returns):
    return pd.DataFrame({"iteration": range(1, len(returns) + 1), "env_steps": steps, "return_mean": returns})


def _curves_and_results():
    steps = [50_000, 100_000, 150_000, 1_500_000]
    curves = {
        "cartpole.gail.n1.s0": _curve(steps, [20.0, 60.0, 120.0, 190.0]),
        "cartpole.gail.n1.s1": _curve(steps, [40.0, 80.0, 140.0, 200.0]),
        "cartpole.fem.n1.s0": _curve(steps, [20.0, 30.0, 40.0, 50.0]),
        "cartpole.bc.n1.s0": pd.DataFrame(
            {"step": [0, 10], "train_nll": [0.7, 0.5], "validation_nll": [0.7, 0.6]}
        ),
    }
    results = build_results_table(
        _evaluation("bc", 1, 0, 90.0, 0.4),
        _evaluation("bc", 1, 1, 110.0, 0.5),
        _evaluation("fem", 1, 0, 50.0, 0.2),
        _evaluation("gail", 1, 0, 200.0, 1.0),
        _evaluation("gail", 1, 1, 200.0, 1.0),
    )
    return curves, results


def test_curves_table_is_tidy():
    from gail_pipeline.reporting import curves_table

    curves, _ = _curves_and_results()
    curves["cartpole.gail_frozen_d.n1.s0"] = curves["cartpole.gail.n1.s0"]
    curves["cartpole.gail_paper.n1.s0"] = curves["cartpole.gail.n1.s1"]
    table = curves_table(curves)
    assert list(table.columns[:5]) == ["task", "algorithm", "config", "n_trajectories", "seed"]
    assert list(dict.fromkeys(table["algorithm"])) == ["bc", "fem", "gail"]  # the paper's order
    gail = table[table["algorithm"] == "gail"].drop_duplicates(["config", "seed"])
    assert list(zip(gail["config"], gail["seed"])) == [
        ("recipe", 0),
        ("recipe", 1),
        ("paper", 0),
        ("frozen_d", 0),
    ]
    table = table[table["config"] == "recipe"]
    assert len(table) == 2 + 4 * 3
    assert table.loc[table["algorithm"] == "bc", "env_steps"].isna().all()


def test_learning_curves_show_every_algorithm_bc_and_the_reference_returns():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from gail_pipeline.reporting import curves_table, learning_curves

    curves, results = _curves_and_results()
    png, html = learning_curves(curves_table(curves), results)
    (ax,) = png.axes
    assert ax.get_title() == "cartpole — 1 trajectory"
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"FEM", "GAIL", "BC (final)", "expert", "random"}
    assert list(lines["GAIL"].get_ydata()) == [30.0, 70.0, 130.0, 195.0]  # mean over the seeds
    # BC has no env steps: its final return (mean over seeds) as a horizontal line, as the references.
    for name, level in (("BC (final)", 100.0), ("expert", 200.0), ("random", 20.0)):
        assert list(lines[name].get_ydata()) == [level, level]
        assert list(lines[name].get_xdata()) == [0, 1]  # axes coordinates: the panel's whole width
    legend = [text.get_text() for text in png.legends[0].get_texts()]
    assert legend == ["FEM", "GAIL", "BC (final)", "expert", "random"]

    # Env steps in engineering form: 150k and 1.5M, never 150000 (labels that ran into each other).
    FigureCanvasAgg(png).draw()
    labels = [label.get_text() for label in ax.get_xticklabels() if label.get_text()]
    assert labels and all(len(label) <= 5 for label in labels), labels
    assert any(label.endswith("M") for label in labels) and "0" in labels
    formatter = ax.xaxis.get_major_formatter()
    assert (formatter(150_000), formatter(1_500_000), formatter(100_000)) == ("150k", "1.5M", "100k")
    assert ax.get_xlabel() == "env steps" and ax.get_ylabel() == "true return"

    traces = {trace.name: trace for trace in html.data}
    assert set(traces) == {"FEM", "GAIL", "BC (final)", "expert", "random"}
    assert list(traces["GAIL"].y) == [30.0, 70.0, 130.0, 195.0]
    assert list(traces["BC (final)"].y) == [100.0, 100.0]
    assert html.layout.xaxis.tickformat == "~s"


def test_learning_curves_need_curves_with_env_steps():
    from gail_pipeline.reporting import learning_curves

    curves, results = _curves_and_results()
    with pytest.raises(ValueError, match="env steps"):
        learning_curves({"cartpole.bc.n1.s0": curves["cartpole.bc.n1.s0"]}, results)


def test_results_tables_of_tasks_concatenate_to_the_table_of_all():
    from gail_pipeline.reporting import concat_results

    rows = [_evaluation(a, n, seed, 100.0, 0.5) for a in ("gail", "bc") for n in (4, 1) for seed in (1, 0)]
    rows += [{**r, "task": "acrobot"} for r in rows]
    per_task = [build_results_table(*(r for r in rows if r["task"] == t)) for t in ("cartpole", "acrobot")]
    pd.testing.assert_frame_equal(concat_results(*per_task), build_results_table(*rows))


def test_each_gail_config_is_compared_with_the_paper_at_its_own_causal_entropy():
    """Units record their λ: the recipe (λ 0) beside the paper's λ = 0 row, a λ config beside the
    paper's row at its λ (in the table and the paper-layout Markdown); a cell of mixed λ is refused."""
    from gail_pipeline.reporting import appendix_b_markdown, appendix_b_table

    def unit(config, weight, seed):
        row = {**_evaluation("gail", 4, seed, -10.0, 0.8), "task": "reacher", "config": config}
        return {**row, "causal_entropy": weight}

    results = build_results_table(
        *(unit(c, w, s) for c, w in (("recipe", 0.0), ("entropy_1e3", 0.001)) for s in (0, 1))
    )
    paper = pd.read_csv(RAW / "paper_appendix_b.csv")
    reference = pd.read_csv(RAW / "paper_expert_random.csv")
    comparison = compare_with_paper(results, paper, reference, causal_entropy_weight=0.01)
    assert list(comparison["paper_return_mean"]) == pytest.approx([-67.23, -32.37])
    markdown = appendix_b_markdown(appendix_b_table(comparison, results))
    assert markdown.count("; paper ") == 2
    mixed = build_results_table(unit("recipe", 0.0, 0), unit("recipe", 0.01, 1))
    with pytest.raises(ValueError, match="reacher, 4 trajectories, config recipe ran at different"):
        compare_with_paper(mixed, paper, reference)


def test_units_saved_before_they_recorded_their_causal_entropy_take_their_configs():
    """An evaluation without λ (saved before units recorded it) takes its config's λ from the run's
    parameters (``config_causal_entropy``), also beside a later seed of the same cell that has it."""
    from gail_pipeline.imitation.configs import config_causal_entropy

    params = {
        "imitation": {"gail": {"causal_entropy": 0.01}},
        "gail_config_settings": {"entropy_1e3": {"gail": {"causal_entropy": 0.001}}},
    }
    weights = config_causal_entropy(params)
    assert weights == {"recipe": 0.01, "frozen_d": 0.01, "paper": 0.0, "entropy_1e3": 0.001}
    earlier = {**_evaluation("gail", 4, 0, -10.0, 0.8), "task": "reacher", "config": "entropy_1e3"}
    later = {**earlier, "seed": 1, "causal_entropy": 0.001}
    paper = pd.read_csv(RAW / "paper_appendix_b.csv")
    reference = pd.read_csv(RAW / "paper_expert_random.csv")
    for results in (pd.DataFrame([earlier]), build_results_table(earlier, later)):
        comparison = compare_with_paper(results, paper, reference, 0.01, config_weights=weights)
        assert comparison["paper_return_mean"].item() == pytest.approx(-32.37)


def test_gails_configs_are_compared_side_by_side():
    """GAIL under the recipe, the paper's settings and a frozen discriminator: a row each in the
    comparison (each beside the paper's GAIL), a line each in Figure 1, and GAIL's configs
    each aggregated beside the recipe on their shared cells, after the algorithms (recipe rows only)."""
    from gail_pipeline.reporting import aggregate_table, figure_one

    evaluations = [_evaluation("bc", n, s, 100.0, 0.4) for n in (1, 10) for s in (0, 1)]
    for config, score in (("recipe", 1.0), ("paper", 0.6), ("frozen_d", 0.0)):
        evaluations += [
            {**_evaluation("gail", n, s, 20.0 + 180.0 * score, score), "config": config, "env_steps": 9000}
            for n in (1, 10)
            for s in (0, 1)
        ]
    results = build_results_table(*evaluations)
    assert list(results["config"].drop_duplicates()) == ["recipe", "paper", "frozen_d"]
    assert results.loc[results["algorithm"] == "bc", "env_steps"].isna().all()  # evaluations of before
    comparison = compare_with_paper(
        results, pd.read_csv(RAW / "paper_appendix_b.csv"), pd.read_csv(RAW / "paper_expert_random.csv")
    )
    gail = comparison[(comparison["algorithm"] == "gail") & (comparison["n_trajectories"] == 1)]
    assert list(gail["config"]) == ["recipe", "paper", "frozen_d"]
    assert list(gail["normalized_score"]) == pytest.approx([1.0, 0.6, 0.0])
    assert gail["paper_normalized_score"].nunique() == 1  # all beside the paper's GAIL
    assert "| cartpole | 1 | GAIL, frozen D | 2 |" in to_markdown(comparison)
    png, html = figure_one(comparison)
    legend = {text.get_text() for text in png.legends[0].get_texts()}
    assert {"GAIL", "GAIL (paper)", "GAIL, paper settings", "GAIL, frozen D", "BC"} <= legend
    assert sum(trace.name == "GAIL (paper)" for trace in html.data) == 1  # the published points once
    aggregates = aggregate_table(results).set_index(["comparison", "algorithm", "config"])["mean"]
    assert aggregates[("algorithms", "gail", "")] == pytest.approx(1.0)
    assert aggregates[("algorithms", "bc", "")] == pytest.approx(0.4)
    assert aggregates[("recipe_vs_paper", "gail", "paper")] == pytest.approx(0.6)
    assert aggregates[("recipe_vs_paper", "gail", "recipe")] == pytest.approx(1.0)
    assert aggregates[("recipe_vs_frozen_d", "gail", "frozen_d")] == pytest.approx(0.0)
    assert list(dict.fromkeys(aggregates.index.get_level_values(0))) == [
        "algorithms",
        "recipe_vs_paper",
        "recipe_vs_frozen_d",
    ]


def test_the_appendix_b_table_has_a_row_per_cell_and_the_papers_layout_a_column_per_algorithm():
    from gail_pipeline.reporting import appendix_b_markdown, appendix_b_table

    evaluations = [_evaluation("bc", n, s, 110.0, 0.5) for n in (1, 4) for s in (0, 1)]
    evaluations += [
        {**_evaluation("gail", n, s, 200.0, 1.0), "config": config, "env_steps": 300_000 + s}
        for n in (1, 4)
        for s in (0, 1)
        for config in (("recipe", "frozen_d") if n == 1 else ("recipe",))
    ]
    results = build_results_table(*evaluations)
    comparison = compare_with_paper(
        results, pd.read_csv(RAW / "paper_appendix_b.csv"), pd.read_csv(RAW / "paper_expert_random.csv")
    )
    table = appendix_b_table(comparison, results)
    assert len(table) == 5  # BC and GAIL at 1 and 4, the control at 1
    gail = table[(table["algorithm"] == "gail") & (table["config"] == "recipe")].iloc[0]
    assert (gail["seeds"], gail["env_steps"], gail["score_mean"], gail["paper_score"]) == (
        2,
        300_000.5,
        1.0,
        1.0,
    )
    assert table.loc[table["algorithm"] == "bc", "env_steps"].eq(0).all()
    lines = appendix_b_markdown(table).splitlines()
    assert lines[2] == "| task | trajectories | BC | GAIL | GAIL, frozen D |"
    assert lines[4].startswith(
        "| cartpole | 1 | 0.50 [0.50, 0.50] n=2; paper 0.29 | 1.00 [1.00, 1.00] n=2; paper 1.00 |"
    )
    assert lines[5].endswith("| 1.00 [1.00, 1.00] n=2; paper 1.00 |  |")  # no control at 4
