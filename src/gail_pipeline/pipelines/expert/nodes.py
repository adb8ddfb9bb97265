"""Nodes of the expert stage: unpack parameters, call ``gail_pipeline.rl``, return artifacts."""

from __future__ import annotations

import json
import logging
import time
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from gail_pipeline import __version__
from gail_pipeline.experts import machine_description
from gail_pipeline.pipelines.common import (
    check_trained_on,
    device_setting,
    sampler_settings,
    seed_parameter,
    update_threads_setting,
)
from gail_pipeline.progress import training_progress
from gail_pipeline.rl.evaluation import evaluate
from gail_pipeline.rl.policies import Policy, RandomPolicy
from gail_pipeline.rl.ppo import PPOConfig
from gail_pipeline.rl.shaping import shaped_rewards
from gail_pipeline.rl.training import train_trpo
from gail_pipeline.rl.trpo import TRPOConfig
from gail_pipeline.tasks import ConfigError, TaskSpec, make_env

logger = logging.getLogger(__name__)


def train_expert(
    task_config: dict[str, Any], expert_params: dict[str, Any], *, task_name: str
) -> tuple[Policy, pd.DataFrame]:
    """Train the task's expert by TRPO (or PPO: ``expert.trainer``) on the true reward.

    Returns the policy (its metadata records env, seed, budget and final training return) and the
    learning curve, one row per iteration.
    """
    task = TaskSpec.from_config(task_name, task_config)
    seed = seed_parameter(expert_params, "expert.seed")
    trpo_overrides = {**expert_params.get("trpo", {}), **task.expert.trpo}
    try:
        config = TRPOConfig.from_mapping(trpo_overrides, where=f"tasks.{task.name}.expert.trpo")
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    ppo = None
    if task.expert.trainer == "ppo":
        try:
            ppo = PPOConfig.from_mapping(
                {**expert_params.get("ppo", {}), **task.expert.ppo}, where=f"tasks.{task.name}.expert.ppo"
            )
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
    make = partial(make_env, task)
    probe = make()
    horizon = probe.spec.max_episode_steps or 1000
    probe.close()
    checkpoint = None
    if expert_params.get("checkpoint_dir"):
        checkpoint = Path(expert_params["checkpoint_dir"]) / task.name / f"expert_seed{seed}.pt"
    shaping = None
    if task.expert.reward_shaping:
        shaping = partial(shaped_rewards, potential=task.expert.reward_shaping)
    log_every = int(expert_params.get("log_every", 10))

    def report(row: dict[str, float]) -> None:
        if row["iteration"] % log_every == 0 or row["iteration"] == task.expert.iterations:
            logger.info(
                "%s expert: iter %d/%d  steps %d  return %.1f ± %.1f  kl %.4f  %.0fs",
                task.name,
                row["iteration"],
                task.expert.iterations,
                row["env_steps"],
                row["return_mean"],
                row["return_std"],
                row["policy_kl"],
                row["wall_time"],
            )

    started = time.time()
    with training_progress(f"{task.name} expert", task.expert.iterations) as show:
        result = train_trpo(
            make,
            iterations=task.expert.iterations,
            batch_size=task.expert.batch_size,
            seed=seed,
            config=config,
            hidden_sizes=task.expert.hidden_sizes,
            num_envs=task.expert.num_envs,
            **sampler_settings(expert_params, "expert"),
            device=device_setting(expert_params, "expert"),
            update_threads=update_threads_setting(expert_params, "expert"),
            max_episode_steps=horizon,
            stop_at_return=task.expert.stop_at_return,
            stop_window=task.expert.stop_window,
            reward_shaping=shaping,
            checkpoint_path=checkpoint,
            checkpoint_key=json.dumps(
                {
                    "env_id": task.env_id,
                    "env_kwargs": dict(task.env_kwargs),
                    "shaping": task.expert.reward_shaping,
                },
                sort_keys=True,
            ),
            on_iteration=lambda row: (report(row), show(row)),
            ppo=ppo,
        )
    curve = pd.DataFrame(result.curve)
    last = result.curve[-1]
    result.policy.metadata = {
        "task": task.name,
        "env_id": task.env_id,
        "max_episode_steps": horizon,
        "trainer": task.expert.trainer,
        "seed": seed,
        "iterations": int(last["iteration"]),
        "env_steps": int(last["env_steps"]),
        "wall_time_s": float(last["wall_time"]),
        "final_training_return": float(last["return_mean"]),
        "resumed_from_iteration": result.resumed_from_iteration,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(started)),
        "gail_pipeline_version": __version__,
        "machine": machine_description(),
    }
    return result.policy, curve


def measure_reference_returns(
    expert_policy: Policy, task_config: dict[str, Any], expert_params: dict[str, Any], *, task_name: str
) -> dict[str, Any]:
    """Expert (deterministic) and uniform-random returns over the task's evaluation episodes:
    the 0 and 1 of every normalised score."""
    task = TaskSpec.from_config(task_name, task_config)
    check_trained_on(expert_policy, task)
    seed = seed_parameter(expert_params, "expert.seed") + 10_000  # episodes unseen during training
    make = partial(make_env, task)
    expert = evaluate(make, expert_policy, task.evaluation_episodes, seed, deterministic=True)
    env = make()
    random_actor = RandomPolicy(env.action_space, seed)
    env.close()
    random = evaluate(make, random_actor, task.evaluation_episodes, seed + 1)
    logger.info(
        "%s: expert %.2f ± %.2f, random %.2f ± %.2f over %d episodes",
        task.name,
        expert.mean(),
        expert.std(),
        random.mean(),
        random.std(),
        task.evaluation_episodes,
    )
    return {
        "task": task.name,
        "env_id": task.env_id,
        "episodes": task.evaluation_episodes,
        "expert_return_mean": float(expert.mean()),
        "expert_return_std": float(expert.std()),
        "random_return_mean": float(random.mean()),
        "random_return_std": float(random.std()),
        "expert_version": expert_policy.metadata.get("version"),
        "expert_returns": [float(x) for x in expert],
        "random_returns": [float(x) for x in random],
    }
