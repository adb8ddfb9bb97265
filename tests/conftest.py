import os

import pytest
import torch

# The networks are small: one intra-op thread is fastest and keeps runs reproducible.
torch.set_num_threads(1)
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")



@pytest.fixture(scope="session")
def cartpole_expert_data():
    """A CartPole (200-step) TRPO expert and 10 of its stochastic trajectories, built once."""
    from functools import partial

    from gail_pipeline.rl.sampler import RolloutSampler
    from gail_pipeline.rl.training import train_trpo
    from gail_pipeline.tasks import TaskSpec, make_env
    from gail_pipeline.trajectories import Demonstrations

    task = TaskSpec(name="cartpole", env_id="CartPole-v1", max_episode_steps=200)
    make = partial(make_env, task)
    expert = train_trpo(make, iterations=20, batch_size=5000, seed=0, max_episode_steps=200).policy
    sampler = RolloutSampler(make, 8, seed=1)
    trajectories = sampler.sample(expert, num_episodes=10)
    return task, expert, Demonstrations(trajectories, task.env_id, {})
