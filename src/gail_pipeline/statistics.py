"""Scores with their uncertainty over seeds and tasks (no Kedro).

Following Agarwal et al. (2021), *Deep Reinforcement Learning at the Edge of the Statistical
Precipice*: with a handful of seeds per cell, a mean alone hides how much it would move with other
seeds, so every score comes with a 95 % percentile-bootstrap confidence interval, and scores over
many tasks are aggregated as the mean and the interquartile mean (IQM: the mean of the middle 50 %
of all runs, robust to a few outlying runs, less noisy than the median) with **stratified**
bootstrap intervals: each resample draws, in every cell (task × dataset size) separately, as many
runs as the cell has, with replacement, so cells with more seeds do not crowd out the others.
Performance profiles show, for each threshold τ, the share of runs scoring above τ.

The resampling is written here rather than taken from ``rliable`` (the paper's library), whose
pinned dependency (``arch < 8``) fails to import beside pandas 3; the per-cell interval agrees
with ``scipy.stats.bootstrap``'s percentile interval (``tests/test_statistics.py``). Everything is
seeded: the same scores give the same intervals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu, trim_mean

__all__ = [
    "CONFIDENCE",
    "CELL_KEYS",
    "aggregate_scores",
    "cell_statistics",
    "config_tests",
    "interquartile_mean",
    "performance_profiles",
    "stratified_bootstrap",
]

CONFIDENCE = 0.95
RESAMPLES = 5000
SEED = 0
CELL_KEYS = ["task", "n_trajectories"]


def interquartile_mean(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    """The mean of the middle 50 % of ``scores`` along ``axis`` (25 % cut from each end)."""
    return trim_mean(scores, 0.25, axis=axis)


def _mean(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(scores, axis=axis)


STATISTICS: dict[str, Callable[..., np.ndarray]] = {"mean": _mean, "iqm": interquartile_mean}


def stratified_bootstrap(
    cells: Sequence[np.ndarray],
    statistic: Callable[..., np.ndarray],
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = SEED,
) -> tuple[float, float, float]:
    """``statistic`` of all runs pooled over ``cells`` (one array of run scores per cell), with its
    percentile-bootstrap interval: each resample redraws every cell's runs within that cell.

    ``statistic(scores, axis)`` reduces along ``axis``. A cell of one run contributes that run to
    every resample (it has nothing else to draw from)."""
    cells = [np.asarray(c, dtype=float).ravel() for c in cells]
    if not cells or any(c.size == 0 for c in cells):
        raise ValueError("stratified_bootstrap: every cell needs at least one score")
    if any(not np.isfinite(c).all() for c in cells):
        raise ValueError("stratified_bootstrap: scores must be finite")
    rng = np.random.default_rng(seed)
    point = float(statistic(np.concatenate(cells), axis=-1))
    resampled = np.concatenate([c[rng.integers(0, c.size, size=(resamples, c.size))] for c in cells], axis=1)
    values = statistic(resampled, axis=-1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return point, float(low), float(high)


def _groups(results: pd.DataFrame) -> list[str]:
    return ["algorithm", "config"] if "config" in results.columns else ["algorithm"]


def _check(results: pd.DataFrame) -> None:
    required = {*CELL_KEYS, "algorithm", "seed", "normalized_score"}
    missing = required - set(results.columns)
    if missing:
        raise ValueError(f"results table: missing columns {sorted(missing)}")
    bad = results[~np.isfinite(pd.to_numeric(results["normalized_score"], errors="coerce"))]
    if not bad.empty:
        unit = bad.iloc[0]
        raise ValueError(
            f"results table: normalized_score is not a finite number for {unit['task']} "
            f"{unit['algorithm']} n{unit['n_trajectories']} s{unit['seed']}"
        )


def cell_statistics(results: pd.DataFrame) -> pd.DataFrame:
    """One row per cell (task, dataset size, algorithm[, config]): seeds, mean and std of the
    normalised score over seeds, and the mean's 95 % bootstrap interval over seeds (a single seed:
    the interval is that seed's score, and the std 0)."""
    _check(results)
    keys = [*CELL_KEYS, *_groups(results)]
    rows = []
    for key, cell in results.groupby(keys, sort=False):
        scores = cell["normalized_score"].to_numpy(dtype=float)
        mean, low, high = stratified_bootstrap([scores], _mean)
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "seeds": len(scores),
                "score_mean": mean,
                "score_std": float(np.std(scores, ddof=1)) if len(scores) > 1 else 0.0,
                "ci_low": low,
                "ci_high": high,
            }
        )
    return pd.DataFrame(rows, columns=[*keys, "seeds", "score_mean", "score_std", "ci_low", "ci_high"])


def _common_cells(results: pd.DataFrame, groups: list[str]) -> pd.DataFrame:
    """The rows of ``results`` in the cells that every group of ``groups`` has run."""
    per_group = results.groupby(groups, sort=False)[CELL_KEYS].apply(
        lambda g: set(map(tuple, g.drop_duplicates().to_numpy()))
    )
    common = set.intersection(*per_group) if len(per_group) else set()
    in_common = [tuple(row) in common for row in results[CELL_KEYS].to_numpy()]
    return results[in_common]


def aggregate_scores(results: pd.DataFrame, comparison: str = "all") -> pd.DataFrame:
    """Per algorithm[, config], the mean and the IQM of the normalised score over every run of the
    cells that all of them have run (so that they are compared on the same cells), each with its
    stratified-bootstrap 95 % interval. ``comparison`` names the set of groups in the output."""
    _check(results)
    groups = _groups(results)
    shared = _common_cells(results, groups)
    if shared.empty:
        raise ValueError(f"aggregate scores ({comparison}): the groups share no (task, dataset size) cell")
    rows = []
    for key, runs in shared.groupby(groups, sort=False):
        cells = [c["normalized_score"].to_numpy(dtype=float) for _, c in runs.groupby(CELL_KEYS)]
        row = {
            "comparison": comparison,
            **dict(zip(groups, key if isinstance(key, tuple) else (key,), strict=True)),
        }
        row.update(cells=len(cells), tasks=runs["task"].nunique(), runs=len(runs))
        for name, statistic in STATISTICS.items():
            point, low, high = stratified_bootstrap(cells, statistic)
            row.update({name: point, f"{name}_ci_low": low, f"{name}_ci_high": high})
        rows.append(row)
    return pd.DataFrame(rows)


def performance_profiles(results: pd.DataFrame, thresholds: np.ndarray | None = None) -> pd.DataFrame:
    """Per algorithm[, config] and threshold τ: the share of runs with a normalised score above τ,
    with its stratified-bootstrap 95 % interval (over all the group's cells)."""
    _check(results)
    if thresholds is None:
        thresholds = np.round(np.linspace(-0.2, 1.2, 57), 3)
    thresholds = np.asarray(thresholds, dtype=float)
    groups = _groups(results)
    rows = []
    for key, runs in results.groupby(groups, sort=False):
        cells = [c["normalized_score"].to_numpy(dtype=float) for _, c in runs.groupby(CELL_KEYS)]
        labels = dict(zip(groups, key if isinstance(key, tuple) else (key,), strict=True))
        for tau in thresholds:
            share = lambda scores, axis=-1, tau=tau: np.mean(scores > tau, axis=axis)  # noqa: E731
            point, low, high = stratified_bootstrap(cells, share)
            rows.append(
                {**labels, "threshold": float(tau), "fraction": point, "ci_low": low, "ci_high": high}
            )
    return pd.DataFrame(rows)


def config_tests(results: pd.DataFrame, reference: str = "recipe") -> pd.DataFrame:
    """Per cell (task, dataset size) and GAIL config other than ``reference``: its seeds and mean
    score beside the reference config's, and the one-sided Wilcoxon rank-sum p-values of "its scores
    are above the reference's" (``p_above``) and "below" (``p_below``) — the test the paper reports
    for its causal-entropy study on Reacher (as Mann-Whitney's U, exact for small samples without
    ties). Empty without a ``config`` column or other configs."""
    columns = [*CELL_KEYS, "config", "seeds", "score_mean", "reference_seeds", "reference_mean"]
    columns += ["p_above", "p_below"]
    if "config" not in results.columns:
        return pd.DataFrame(columns=columns)
    _check(results)
    gail = results[results["algorithm"] == "gail"]
    rows = []
    for cell, runs in gail.groupby(CELL_KEYS, sort=False):
        base = runs.loc[runs["config"] == reference, "normalized_score"].to_numpy(dtype=float)
        for config, other in runs[runs["config"] != reference].groupby("config", sort=False):
            scores = other["normalized_score"].to_numpy(dtype=float)
            above = below = reference_mean = float("nan")
            if len(base):
                reference_mean = float(base.mean())
                above = float(mannwhitneyu(scores, base, alternative="greater").pvalue)
                below = float(mannwhitneyu(scores, base, alternative="less").pvalue)
            rows.append(
                {
                    **dict(zip(CELL_KEYS, cell, strict=True)),
                    "config": config,
                    "seeds": len(scores),
                    "score_mean": float(scores.mean()),
                    "reference_seeds": len(base),
                    "reference_mean": reference_mean,
                    "p_above": above,
                    "p_below": below,
                }
            )
    return pd.DataFrame(rows, columns=columns)
