"""Scores with their uncertainty (gail_pipeline.statistics): per-cell bootstrap intervals over seeds,
stratified-bootstrap aggregates (mean, IQM) and performance profiles."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gail_pipeline.statistics import (
    aggregate_scores,
    cell_statistics,
    config_tests,
    interquartile_mean,
    performance_profiles,
    stratified_bootstrap,
)


def results(rows):
    return pd.DataFrame(rows, columns=["task", "n_trajectories", "algorithm", "seed", "normalized_score"])


def test_a_cells_interval_is_scipys_percentile_bootstrap_of_the_mean():
    scores = np.array([0.91, 0.55, 1.02, 0.78, 0.97])
    _, low, high = stratified_bootstrap([scores], lambda x, axis=-1: np.mean(x, axis=axis), resamples=20000)
    reference = stats.bootstrap(
        (scores,), np.mean, method="percentile", n_resamples=20000, rng=np.random.default_rng(1)
    ).confidence_interval
    assert low == pytest.approx(reference.low, abs=0.02)
    assert high == pytest.approx(reference.high, abs=0.02)
    assert low < scores.mean() < high


def test_resamples_stay_within_each_cell():
    # 10 runs at 0 in one cell, 1 run at 1 in another: every stratified resample keeps 10 zeros and
    # the one, so the pooled mean is 1/11 in all of them; pooled resampling would scatter it
    point, low, high = stratified_bootstrap([np.zeros(10), np.ones(1)], lambda x, axis=-1: x.mean(axis=axis))
    assert point == low == high == pytest.approx(1 / 11)


def test_the_interquartile_mean_ignores_the_outer_quarters():
    assert interquartile_mean(np.array([-50.0, 0.0, 1.0, 1.0, 1.0, 1.0, 2.0, 100.0])) == pytest.approx(1.0)


def test_cell_statistics_per_cell_with_one_seed_as_its_own_interval():
    table = cell_statistics(
        results(
            [
                ("hopper", 4, "gail", 0, 0.9),
                ("hopper", 4, "gail", 1, 1.0),
                ("hopper", 4, "gail", 2, 0.8),
                ("hopper", 4, "bc", 0, 0.4),
            ]
        )
    )
    gail = table[table["algorithm"] == "gail"].iloc[0]
    assert gail["seeds"] == 3 and gail["score_mean"] == pytest.approx(0.9)
    assert gail["score_std"] == pytest.approx(0.1)
    assert 0.8 <= gail["ci_low"] < 0.9 < gail["ci_high"] <= 1.0
    bc = table[table["algorithm"] == "bc"].iloc[0]
    assert (bc["seeds"], bc["score_mean"], bc["score_std"], bc["ci_low"], bc["ci_high"]) == (
        1,
        0.4,
        0.0,
        0.4,
        0.4,
    )


def test_aggregates_compare_groups_on_the_cells_they_share():
    rows = [("hopper", 4, "gail", s, 1.0) for s in range(3)] + [("ant", 4, "gail", s, 0.0) for s in range(3)]
    rows += [("hopper", 4, "bc", 0, 0.5)]  # BC ran Hopper only
    table = aggregate_scores(results(rows), comparison="algorithms").set_index("algorithm")
    assert table.loc["gail", "cells"] == table.loc["bc", "cells"] == 1
    assert table.loc["gail", "mean"] == table.loc["gail", "iqm"] == 1.0
    assert table.loc["bc", "mean"] == 0.5 and set(table["comparison"]) == {"algorithms"}
    full = aggregate_scores(results(rows[:6])).set_index("algorithm")
    assert full.loc["gail", "cells"] == 2 and full.loc["gail", "mean"] == pytest.approx(0.5)
    assert full.loc["gail", "mean_ci_low"] == full.loc["gail", "mean_ci_high"] == pytest.approx(0.5)


def test_a_performance_profile_falls_from_all_runs_to_none():
    rows = [("hopper", 4, "gail", s, score) for s, score in enumerate([0.2, 0.6, 0.95])]
    profile = performance_profiles(results(rows), thresholds=np.array([0.0, 0.5, 0.9, 1.0]))
    assert profile["fraction"].tolist() == pytest.approx([1.0, 2 / 3, 1 / 3, 0.0])
    assert (profile["ci_low"] <= profile["fraction"]).all() and (
        profile["fraction"] <= profile["ci_high"]
    ).all()


def test_a_score_that_is_not_a_number_is_refused_by_unit():
    rows = [("hopper", 4, "gail", 0, 1.0), ("walker", 11, "fem", 2, float("nan"))]
    for summary in (cell_statistics, aggregate_scores, performance_profiles):
        with pytest.raises(ValueError, match="walker fem n11 s2"):
            summary(results(rows))


def test_configs_are_tested_against_the_recipe_one_sided_per_cell():
    rows = [("reacher", 4, "gail", s, score) for s, score in enumerate([0.80, 0.85, 0.90, 0.82])]
    table = results(rows).assign(config="recipe")
    higher = results([("reacher", 4, "gail", s, 0.95 + 0.01 * s) for s in range(4)]).assign(
        config="entropy_1e3"
    )
    lower = results([("reacher", 4, "gail", s, 0.1 * s) for s in range(4)]).assign(config="frozen_d")
    tests = config_tests(pd.concat([table, higher, lower], ignore_index=True)).set_index("config")
    # every score above every recipe score: U's exact one-sided p for 4 against 4 is 1/70
    assert tests.loc["entropy_1e3", "p_above"] == pytest.approx(1 / 70)
    assert tests.loc["entropy_1e3", "p_below"] == pytest.approx(1.0)
    assert tests.loc["frozen_d", "p_below"] == pytest.approx(1 / 70)
    assert tests.loc["frozen_d", "reference_mean"] == pytest.approx(0.8425)
    assert config_tests(table.drop(columns="config")).empty
