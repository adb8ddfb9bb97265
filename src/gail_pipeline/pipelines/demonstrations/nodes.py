"""Nodes of the demonstrations stage: expert rollouts to Parquet, then the paper's datasets."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np

from gail_pipeline.pipelines.common import check_trained_on, seed_parameter
from gail_pipeline.rl.policies import Policy
from gail_pipeline.rl.sampler import RolloutSampler
from gail_pipeline.tasks import ConfigError, TaskSpec, make_env
from gail_pipeline.trajectories import (
    Demonstrations,
    Trajectory,
    check_against_spaces,
    subsample,
)

logger = logging.getLogger(__name__)


def sample_expert_trajectories(
    expert_policy: Policy, task_config: dict[str, Any], params: dict[str, Any], *, task_name: str
) -> Demonstrations:
    """The task's number of trajectories from the **stochastic** expert, actions clipped to the
    action space (what the environment executed)."""
    task = TaskSpec.from_config(task_name, task_config)
    seed = seed_parameter(params, "demonstrations.seed")
    check_trained_on(expert_policy, task)
    trajectories, space = _sample_stochastic(expert_policy, task, seed)
    trajectories = [_clip_actions(t, space) for t in trajectories]
    returns = np.array([t.episode_return for t in trajectories])
    logger.info(
        "%s: %d expert trajectories, %d steps, return %.2f ± %.2f",
        task.name,
        len(trajectories),
        sum(len(t) for t in trajectories),
        returns.mean(),
        returns.std(),
    )
    return Demonstrations(
        trajectories,
        task.env_id,
        {
            "task": task.name,
            "expert_version": expert_policy.metadata.get("version"),
            "expert_path": expert_policy.metadata.get("path"),
            "seed": seed,
            "stochastic_expert": True,
            "return_mean": float(returns.mean()),
            "return_std": float(returns.std()),
        },
    )


def subsample_datasets(
    expert_trajectories: Demonstrations,
    task_config: dict[str, Any],
    params: dict[str, Any],
    *,
    task_name: str,
) -> dict[str, Demonstrations]:
    """One dataset per size: the first n trajectories, every k-th pair from a random offset.

    The trajectories are checked against the task's environment (observation width, action kind
    and width, discrete actions within the action space) before any dataset is returned, so bad
    data stops the run before Kedro saves anything."""
    task = TaskSpec.from_config(task_name, task_config)
    seed = seed_parameter(params, "demonstrations.seed")
    source = f"{task.name}.expert_trajectories"
    if expert_trajectories.metadata.get("path"):
        source += f" ({expert_trajectories.metadata['path']})"
    _check_against_task(expert_trajectories, task, source)
    available = len(expert_trajectories.trajectories)
    datasets = {}
    for size in task.dataset_sizes:
        if size > available:
            raise ConfigError(
                f"tasks.{task.name}.dataset_sizes: a dataset of {size} trajectories cannot be drawn "
                f"from the {available} expert trajectories in {task.name}.expert_trajectories"
            )
        datasets[f"n{size}"] = subsample(expert_trajectories, size, task.subsample_interval, seed=seed + size)
    return datasets


def _sample_stochastic(
    expert_policy: Policy, task: TaskSpec, seed: int
) -> tuple[list[Trajectory], gym.Space]:
    """The task's number of episodes of the stochastic expert, and the action space."""
    sampler = RolloutSampler(partial(make_env, task), min(8, task.expert_trajectory_count), seed)
    try:
        if sampler.observation_space.shape[0] != expert_policy.obs_dim:
            raise ConfigError(
                f"the expert takes {expert_policy.obs_dim} observation values, "
                f"{task.env_id} gives {sampler.observation_space.shape[0]}"
            )
        trajectories = sampler.sample(
            expert_policy, num_episodes=task.expert_trajectory_count, deterministic=False
        )
        return trajectories, sampler.action_space
    finally:
        sampler.close()


def _check_against_task(demonstrations: Demonstrations, task: TaskSpec, source: str) -> None:
    """Observation width, action kind and width, discrete actions within the action space, then
    the env id."""
    env = make_env(task)
    try:
        space = env.action_space
        discrete = isinstance(space, gym.spaces.Discrete)
        check_against_spaces(
            demonstrations,
            observation_dim=int(env.observation_space.shape[0]),
            discrete=discrete,
            action_dim=1 if discrete else int(space.shape[0]),
            source=source,
            num_actions=int(space.n) if discrete else None,
        )
    finally:
        env.close()
    if demonstrations.env_id != task.env_id:
        raise ConfigError(
            f"{task.name}.expert_trajectories: trajectories of {demonstrations.env_id!r}, "
            f"task {task.name!r} is {task.env_id!r}"
        )


def _clip_actions(trajectory: Trajectory, space: gym.Space) -> Trajectory:
    if isinstance(space, gym.spaces.Discrete):
        return trajectory
    trajectory.actions = np.clip(trajectory.actions, space.low, space.high).astype(np.float32)
    return trajectory
