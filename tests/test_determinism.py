"""Same configuration and seed on the same machine: bit-identical learned weights and evaluation
returns, for every learner (CPU)."""

import pytest
import torch

from gail_pipeline.pipelines.evaluation.nodes import evaluate_unit
from gail_pipeline.pipelines.imitation.nodes import UnitSpec, train_learner
from gail_pipeline.rl.policies import load_policy
from gail_pipeline.rl.sampler import RolloutSampler
from gail_pipeline.tasks import TaskSpec, make_env
from gail_pipeline.trajectories import Demonstrations
from tests.conftest import PROJECT

TASK = {
    "env_id": "CartPole-v1",
    "max_episode_steps": 100,
    "dataset_sizes": [2],
    "batch_size": 600,
    "bc_steps": 101,
    "bc_validate_every": 20,
    "evaluation_episodes": 5,
}
PARAMS = {"policy_hidden_sizes": [32], "num_envs": 4, "checkpoint_dir": None, "gail": {"hidden_sizes": [32]}}
REFERENCE = {"expert_return_mean": 100.0, "random_return_mean": 20.0}


@pytest.fixture(scope="module")
def demonstrations():
    from functools import partial

    task = TaskSpec(name="cartpole", env_id="CartPole-v1", max_episode_steps=100)
    expert = load_policy(PROJECT / "data/01_raw/experts/cartpole.pt")
    trajectories = RolloutSampler(partial(make_env, task), 2, seed=5).sample(expert, num_episodes=2)
    return Demonstrations(trajectories, task.env_id, {"version": "test"})


@pytest.mark.parametrize("algorithm", ["bc", "fem", "gtal", "gail"])
def test_same_config_and_seed_give_bit_identical_weights_and_returns(demonstrations, algorithm):
    unit = UnitSpec("cartpole", algorithm, 2, 0, 4)
    runs = []
    for _ in range(2):
        policy, curve = train_learner(demonstrations, TASK, PARAMS, unit=unit)
        result = evaluate_unit(policy, REFERENCE, TASK, {}, unit=unit)
        runs.append((policy.state_dict(), curve, result["returns"]))
    (weights_a, curve_a, returns_a), (weights_b, curve_b, returns_b) = runs
    assert weights_a.keys() == weights_b.keys()
    for name in weights_a:
        assert torch.equal(weights_a[name], weights_b[name]), name
    assert returns_a == returns_b
    timing = [c for c in curve_a.columns if c.startswith("time_") or c == "wall_time"]
    assert curve_a.drop(columns=timing).equals(curve_b.drop(columns=timing))
    # …and the comparison can fail: another seed learns other weights.
    other, _ = train_learner(demonstrations, TASK, PARAMS, unit=UnitSpec("cartpole", algorithm, 2, 1, 4))
    assert any(not torch.equal(weights_a[k], v) for k, v in other.state_dict().items())
