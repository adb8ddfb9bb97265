"""The evaluation pipeline of a tiny CartPole grid on an in-memory catalog: each unit's policy
(the shipped expert for GAIL, an untrained policy for BC) evaluated against given reference
returns, then the results table."""

import numpy as np
import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from gail_pipeline import config_loader
from gail_pipeline.grid import units
from gail_pipeline.pipelines import evaluation
from gail_pipeline.pipelines.evaluation.nodes import RESULT_COLUMNS, build_results_table
from gail_pipeline.rl.policies import CategoricalPolicy, load_policy
from tests.conftest import PROJECT, TINY

GRID = {"tasks": ["cartpole"], "algorithms": ["bc", "gail"], "dataset_sizes": [1, 2], "seeds": 1}
TASK = {"evaluation_episodes": 3}
REFERENCE = {"expert_return_mean": 50.0, "expert_return_std": 0.0, "random_return_mean": 20.0}


def _parameters(overrides):
    """conf/base's parameters with ``overrides`` merged in, as ``kedro run --params`` would."""
    args = {**config_loader.CONFIG_LOADER_ARGS, "base_env": "base"}
    loader = OmegaConfigLoader(str(PROJECT / "conf"), env="base", runtime_params=overrides, **args)
    return loader["parameters"]


@pytest.fixture(scope="module")
def params():
    return _parameters({**TINY, "tasks": {"cartpole": {**TINY["tasks"]["cartpole"], **TASK}}, "grid": GRID})


def _catalog(params, grid_units):
    expert = load_policy(PROJECT / "data/01_raw/experts/cartpole.pt")
    untrained = CategoricalPolicy(4, 2, hidden_sizes=(16,))
    datasets = {
        f"{u.namespace}.policy": MemoryDataset(expert if u.algorithm == "gail" else untrained)
        for u in grid_units
    }
    datasets["cartpole.reference_returns"] = MemoryDataset(REFERENCE)
    datasets["params:tasks.cartpole"] = MemoryDataset(params["tasks"]["cartpole"])
    datasets["params:evaluation"] = MemoryDataset(params["evaluation"])
    return DataCatalog(datasets=datasets)


def test_evaluation_pipeline_scores_every_unit_then_tabulates(params):
    grid_units = units(params)
    assert len(grid_units) == 4
    pipeline = evaluation.create_pipeline(grid_units[::-1])  # the table sorts them
    assert pipeline.inputs() == {f"{u.namespace}.policy" for u in grid_units} | {
        "cartpole.reference_returns",
        "params:tasks.cartpole",
        "params:evaluation",
    }
    assert pipeline.outputs() == {"results_table"}
    catalog = _catalog(params, grid_units)

    # The units' evaluations first (the table's inputs, released once it is built), then the table.
    per_unit = pipeline.only_nodes(*(f"{u.namespace}.evaluate_policy" for u in grid_units))
    SequentialRunner().run(per_unit, catalog)
    results = {u.namespace: catalog.load(f"{u.namespace}.evaluation") for u in grid_units}
    for unit in grid_units:
        result = results[unit.namespace]
        assert set(result) == {*RESULT_COLUMNS, "returns"}
        assert (result["task"], result["algorithm"], result["n_trajectories"], result["seed"]) == (
            "cartpole",
            unit.algorithm,
            unit.dataset_size,
            0,
        )
        assert result["episodes"] == len(result["returns"]) == 3
        assert result["return_mean"] == pytest.approx(np.mean(result["returns"]))
        assert result["return_std"] == pytest.approx(np.std(result["returns"]))
        assert (result["expert_return_mean"], result["random_return_mean"]) == (50.0, 20.0)
        assert result["normalized_score"] == pytest.approx((result["return_mean"] - 20.0) / (50.0 - 20.0))
        if unit.algorithm == "gail":  # the shipped expert holds the pole for all 50 steps
            assert result["returns"] == [50.0] * 3 and result["normalized_score"] == pytest.approx(1.0)

    # The task's table (inside the task's namespace), then the table over the tasks.
    SequentialRunner().run(pipeline.only_nodes("cartpole.build_task_results_table"), catalog)
    pd.testing.assert_frame_equal(
        catalog.load("cartpole_results_table"), build_results_table(*results.values())
    )
    SequentialRunner().run(pipeline.only_nodes("build_results_table"), catalog)
    table = catalog.load("results_table")
    assert list(table.columns) == RESULT_COLUMNS
    assert list(zip(table["algorithm"], table["n_trajectories"])) == [
        ("bc", 1),
        ("bc", 2),
        ("gail", 1),
        ("gail", 2),
    ]
    for row in table.itertuples():
        result = results[f"cartpole.{row.algorithm}.n{row.n_trajectories}.s0"]
        assert row.return_mean == result["return_mean"]
        assert row.normalized_score == result["normalized_score"]


def test_no_units_no_results_table():
    assert not evaluation.create_pipeline([]).nodes
