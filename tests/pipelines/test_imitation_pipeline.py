"""The imitation pipeline of a tiny CartPole grid on an in-memory catalog: one unit per learner,
trained on demonstrations sampled from the shipped expert."""

from functools import partial

import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from gail_pipeline import config_loader
from gail_pipeline.grid import units
from gail_pipeline.pipelines import imitation
from gail_pipeline.rl.policies import CategoricalPolicy, load_policy
from gail_pipeline.rl.sampler import RolloutSampler
from gail_pipeline.tasks import TaskSpec, make_env
from gail_pipeline.trajectories import Demonstrations
from tests.conftest import PROJECT, TINY

GRID = {"tasks": ["cartpole"], "dataset_sizes": [2], "seeds": 1, "iterations": 2}


def _parameters(overrides):
    """conf/base's parameters with ``overrides`` merged in, as ``kedro run --params`` would."""
    args = {**config_loader.CONFIG_LOADER_ARGS, "base_env": "base"}
    loader = OmegaConfigLoader(str(PROJECT / "conf"), env="base", runtime_params=overrides, **args)
    return loader["parameters"]


@pytest.fixture(scope="module")
def params():
    return _parameters({**TINY, "grid": GRID})


@pytest.fixture(scope="module")
def demonstrations(params):
    """Two 50-step trajectories of the shipped CartPole expert."""
    task = TaskSpec.from_config("cartpole", params["tasks"]["cartpole"])
    expert = load_policy(PROJECT / "data/01_raw/experts/cartpole.pt")
    trajectories = RolloutSampler(partial(make_env, task), 2, seed=5).sample(expert, num_episodes=2)
    return Demonstrations(trajectories, task.env_id, {"version": "test"})


def _catalog(params, demonstrations):
    return DataCatalog(
        datasets={
            "cartpole.demonstrations_n2": MemoryDataset(demonstrations),
            "params:tasks.cartpole": MemoryDataset(params["tasks"]["cartpole"]),
            "params:imitation": MemoryDataset(params["imitation"]),
        }
    )


def test_one_unit_per_learner_from_the_grid(params):
    grid_units = units(params)
    assert [u.namespace for u in grid_units] == [f"cartpole.{a}.n2.s0" for a in ("bc", "fem", "gtal", "gail")]
    pipeline = sum(
        (imitation.create_pipeline(u) for u in grid_units[1:]), imitation.create_pipeline(grid_units[0])
    )
    assert pipeline.inputs() == {"cartpole.demonstrations_n2", "params:tasks.cartpole", "params:imitation"}
    assert pipeline.outputs() == {
        f"{u.namespace}.{o}" for u in grid_units for o in ("policy", "learning_curve")
    }
    assert {n.name for n in pipeline.nodes} == {f"{u.namespace}.train_{u.algorithm}" for u in grid_units}


def test_imitation_pipeline_trains_every_learner(params, demonstrations):
    grid_units = units(params)
    pipeline = sum(
        (imitation.create_pipeline(u) for u in grid_units[1:]), imitation.create_pipeline(grid_units[0])
    )
    catalog = _catalog(params, demonstrations)
    SequentialRunner().run(pipeline, catalog)

    task = params["tasks"]["cartpole"]
    for unit in grid_units:
        policy = catalog.load(f"{unit.namespace}.policy")
        assert isinstance(policy, CategoricalPolicy)
        assert (policy.obs_dim, policy.num_actions, policy.hidden_sizes) == (4, 2, (16,))
        assert policy.act(demonstrations.trajectories[0].observations[:3], deterministic=True).shape == (3,)
        assert {k: policy.metadata[k] for k in ("env_id", "algorithm", "dataset_size", "seed")} == {
            "env_id": "CartPole-v1",
            "algorithm": unit.algorithm,
            "dataset_size": 2,
            "seed": 0,
        }
        assert policy.metadata["dataset_version"] == "test"

        curve = catalog.load(f"{unit.namespace}.learning_curve")
        if unit.algorithm == "bc":  # validated every bc_validate_every gradient steps of bc_steps
            assert list(curve["step"]) == list(range(0, task["bc_steps"], task["bc_validate_every"]))
            assert curve["validation_nll"].notna().all()
        else:  # one row per TRPO iteration, each of at least batch_size env steps
            assert len(curve) == unit.iterations == 2
            assert list(curve["iteration"]) == [1, 2]
            assert curve["env_steps"].diff().dropna().ge(task["batch_size"]).all()
            assert curve["env_steps"].iloc[0] >= task["batch_size"]
            assert curve["return_mean"].between(1, task["max_episode_steps"]).all()
