"""The expert and demonstrations pipelines on an in-memory catalog (tiny CartPole budget)."""

from pathlib import Path

import numpy as np
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from gail_pipeline.pipelines import demonstrations, expert
from gail_pipeline.rl.policies import CategoricalPolicy
from gail_pipeline.tasks import ConfigError
from gail_pipeline.trajectories import Demonstrations


@pytest.fixture
def catalog_config(tmp_path):
    """The project's catalog (dataset factories), writing under tmp_path instead of data/."""
    from kedro.config import OmegaConfigLoader

    from gail_pipeline import settings

    loader = OmegaConfigLoader(str(Path(__file__).parents[2] / "conf"), **settings.CONFIG_LOADER_ARGS)
    config = dict(loader["catalog"])
    for entry in config.values():
        entry["filepath"] = str(tmp_path / entry["filepath"])
    return config


def _catalog(params, catalog_config):
    catalog = DataCatalog.from_config(catalog_config)
    catalog["params:tasks.cartpole"] = MemoryDataset(params["tasks"]["cartpole"])
    catalog["params:expert"] = MemoryDataset(params["expert"])
    catalog["params:demonstrations"] = MemoryDataset(params["demonstrations"])
    return catalog


def _run(pipeline, catalog):
    SequentialRunner().run(pipeline, catalog)
    return catalog


def test_expert_then_demonstrations_end_to_end(tiny_params, catalog_config):
    pipeline = expert.create_pipeline("cartpole") + demonstrations.create_pipeline("cartpole", [1, 3])
    catalog = _run(pipeline, _catalog(tiny_params, catalog_config))

    policy = catalog.load("cartpole.expert_policy")
    assert isinstance(policy, CategoricalPolicy)
    assert policy.metadata["env_id"] == "CartPole-v1" and policy.metadata["iterations"] == 3
    curve = catalog.load("cartpole.expert_training_curve")
    assert list(curve["iteration"]) == [1, 2, 3]
    assert (np.diff(curve["env_steps"]) >= 400).all()

    reference = catalog.load("cartpole.reference_returns")
    assert reference["episodes"] == 5 and len(reference["expert_returns"]) == 5
    assert 5 <= reference["random_return_mean"] <= 50

    trajectories = catalog.load("cartpole.expert_trajectories")
    assert isinstance(trajectories, Demonstrations)
    assert len(trajectories.trajectories) == 3  # the largest dataset size
    assert trajectories.metadata["stochastic_expert"] is True
    # The Parquet file records which saved version of the expert made it.
    version = trajectories.metadata["expert_version"]
    assert version and version in trajectories.metadata["expert_path"]
    for size in (1, 3):
        data = catalog.load(f"cartpole.demonstrations_n{size}")
        assert len(data.trajectories) == size
        full = trajectories.trajectories[0]
        part = data.trajectories[0]
        np.testing.assert_array_equal(part.observations, full.observations[part.steps])
        assert np.all(np.diff(part.steps) == 5)


def test_dataset_larger_than_expert_data_is_refused(tiny_params, catalog_config):
    pipeline = expert.create_pipeline("cartpole") + demonstrations.create_pipeline("cartpole", [1, 3])
    catalog = _run(expert.create_pipeline("cartpole"), _catalog(tiny_params, catalog_config))
    catalog.save("cartpole.expert_trajectories", _run_sampling(catalog))
    tiny_params["tasks"]["cartpole"] = {**tiny_params["tasks"]["cartpole"], "dataset_sizes": [1, 3, 9]}
    catalog["params:tasks.cartpole"] = MemoryDataset(tiny_params["tasks"]["cartpole"])
    subsample_only = pipeline.only_nodes("cartpole.subsample_datasets")
    with pytest.raises(ConfigError, match="a dataset of 9 trajectories cannot be drawn from the 3"):
        SequentialRunner().run(subsample_only, catalog)


def _run_sampling(catalog):
    from gail_pipeline.pipelines.demonstrations.nodes import sample_expert_trajectories

    return sample_expert_trajectories(
        catalog.load("cartpole.expert_policy"),
        catalog.load("params:tasks.cartpole"),
        {"seed": 0},
        task_name="cartpole",
    )


def test_expert_of_another_env_is_refused(tiny_params, catalog_config):
    catalog = _run(expert.create_pipeline("cartpole"), _catalog(tiny_params, catalog_config))
    policy = catalog.load("cartpole.expert_policy")
    policy.metadata["env_id"] = "Acrobot-v1"
    with pytest.raises(ConfigError, match="trained on 'Acrobot-v1'"):
        from gail_pipeline.pipelines.demonstrations.nodes import (
            sample_expert_trajectories,
        )

        sample_expert_trajectories(
            policy, tiny_params["tasks"]["cartpole"], {"seed": 0}, task_name="cartpole"
        )
