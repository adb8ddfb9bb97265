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
    assert "| cartpole | 1 | BC | 2 | 110.00 | 0.500 ± 0.141 | 72.02 | 0.294 | +0.206 |" in markdown


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
    png, html = __import__("gail_pipeline.reporting", fromlist=["figure_one"]).figure_one(comparison, results)
    titles = [ax.get_title() for ax in png.axes if ax.get_title()]
    assert titles == ["acrobot", "cartpole"]
    names = {trace.name for trace in html.data}
    assert names == {"BC", "BC (paper)", "GAIL", "GAIL (paper)"}
    gail = next(t for t in html.data if t.name == "GAIL" and t.xaxis == "x")
    assert list(gail.y) == pytest.approx([0.6, 0.6])  # mean over the two seeds


def test_learning_curves_skip_bc_and_average_seeds():
    from gail_pipeline.reporting import learning_curves

    curve = pd.DataFrame({"iteration": [1, 2], "env_steps": [100, 200], "return_mean": [10.0, 20.0]})
    bc_curve = pd.DataFrame({"step": [0], "validation_nll": [1.0]})
    png, html = learning_curves(
        {
            "cartpole.gail.n1.s0": curve,
            "cartpole.gail.n1.s1": curve.assign(return_mean=[30.0, 40.0]),
            "cartpole.bc.n1.s0": bc_curve,
        }
    )
    assert [ax.get_title() for ax in png.axes] == ["cartpole — GAIL"]
    assert list(html.data[0].y) == [20.0, 30.0]
