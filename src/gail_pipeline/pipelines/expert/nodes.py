"""Nodes of the expert stage: unpack parameters, call ``gail_pipeline.rl``, return artifacts
(the policy, its curve, the reference returns and a rollout video)."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import pandas as pd

from gail_pipeline import experts
from gail_pipeline.config import parse_settings
from gail_pipeline.experts import ExpertSettings
from gail_pipeline.parameters import EvaluationSettings
from gail_pipeline.pipelines.common import check_trained_on
from gail_pipeline.progress import training_report
from gail_pipeline.rl.evaluation import evaluate
from gail_pipeline.rl.policies import Policy, RandomPolicy
from gail_pipeline.tasks import TaskSpec, make_env
from gail_pipeline.video import Video, render_rollout

logger = logging.getLogger(__name__)


def train_expert(
    task_config: dict[str, Any], expert_params: dict[str, Any], *, task_name: str
) -> tuple[Policy, pd.DataFrame]:
    """Train the task's expert by TRPO (or PPO: ``expert.trainer``) on the true reward
    (:func:`gail_pipeline.experts.train_expert`); returns the policy and its learning curve."""
    task = TaskSpec.from_config(task_name, task_config)
    settings = ExpertSettings.parse(expert_params)
    with training_report(f"{task.name} expert", task.expert.iterations, settings.log_every, logger) as report:
        result = experts.train_expert(task, settings, on_iteration=report)
    return result.policy, pd.DataFrame(result.curve)


def measure_reference_returns(
    expert_policy: Policy, task_config: dict[str, Any], expert_params: dict[str, Any], *, task_name: str
) -> dict[str, Any]:
    """Expert (deterministic) and uniform-random returns over the task's evaluation episodes:
    the 0 and 1 of every normalised score."""
    task = TaskSpec.from_config(task_name, task_config)
    check_trained_on(expert_policy, task)
    seed = ExpertSettings.parse(expert_params).seed + 10_000  # episodes unseen during training
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


def render_expert_video(
    expert_policy: Policy,
    task_config: dict[str, Any],
    expert_params: dict[str, Any],
    evaluation_params: dict[str, Any],
    *,
    task_name: str,
) -> Video:
    """One deterministic episode of the expert, rendered (``evaluation.video``), from the first
    seed of its reference episodes."""
    task = TaskSpec.from_config(task_name, task_config)
    check_trained_on(expert_policy, task)
    seed = ExpertSettings.parse(expert_params).seed + 10_000
    settings = parse_settings(EvaluationSettings, evaluation_params, "evaluation").video
    return render_rollout(task, expert_policy, seed, settings, label=f"{task.name} expert")
