import pytest

TINY_TASK = {
    "env_id": "CartPole-v1",
    "max_episode_steps": 50,
    "dataset_sizes": [1, 3],
    "subsample_interval": 5,
    "evaluation_episodes": 5,
    "expert": {"hidden_sizes": [16], "batch_size": 400, "iterations": 3, "num_envs": 2},
}


@pytest.fixture
def tiny_params():
    return {
        "tasks": {"cartpole": TINY_TASK},
        "grid": {"tasks": ["cartpole"]},
        "expert": {"seed": 0, "trpo": {}, "checkpoint_dir": None, "log_every": 1},
        "demonstrations": {"seed": 0},
    }
