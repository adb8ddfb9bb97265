"""Nodes of the evaluation stage: deterministic rollouts, normalised scores, the results table,
a rollout video per learned policy."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import pandas as pd

from gail_pipeline.config import parse_settings
from gail_pipeline.parameters import EvaluationSettings
from gail_pipeline.pipelines.common import check_trained_on
from gail_pipeline.pipelines.imitation.nodes import UnitSpec
from gail_pipeline.reporting import UNIT_COLUMNS, in_grid_order
from gail_pipeline.rl.evaluation import evaluate
from gail_pipeline.rl.policies import Policy
from gail_pipeline.tasks import TaskSpec, make_env
from gail_pipeline.video import Video, render_rollout

logger = logging.getLogger(__name__)

RESULT_COLUMNS = [
    "task",
    "algorithm",
    "config",
    "n_trajectories",
    "seed",
    "return_mean",
    "return_std",
    "normalized_score",
    "expert_return_mean",
    "random_return_mean",
    "episodes",
    "env_steps",
    "causal_entropy",
]


def normalized_score(returns: float, expert: float, random: float) -> float:
    """(return − random) / (expert − random): 0 for the random policy, 1 for the expert."""
    if expert == random:
        raise ValueError(f"expert and random returns are equal ({expert}); the score is undefined")
    return (returns - random) / (expert - random)


def evaluate_unit(
    policy: Policy,
    reference_returns: dict[str, Any],
    task_config: dict[str, Any],
    params: dict[str, Any],
    *,
    unit: UnitSpec,
) -> dict[str, Any]:
    """Returns of ``evaluation_episodes`` deterministic episodes and the normalised score."""
    task = TaskSpec.from_config(unit.task_name, task_config)
    check_trained_on(policy, task)
    seed = parse_settings(EvaluationSettings, params, "evaluation").seed + 100_000 + unit.training_seed
    returns = evaluate(partial(make_env, task), policy, task.evaluation_episodes, seed, deterministic=True)
    expert, random = reference_returns["expert_return_mean"], reference_returns["random_return_mean"]
    score = normalized_score(float(returns.mean()), expert, random)
    logger.info(
        "%s: return %.2f ± %.2f, normalised %.3f",
        unit.name,
        returns.mean(),
        returns.std(),
        score,
    )
    return {
        "task": unit.task_name,
        "algorithm": unit.algorithm,
        "config": unit.config,
        "n_trajectories": unit.dataset_size,
        "seed": unit.seed,
        "return_mean": float(returns.mean()),
        "return_std": float(returns.std()),
        "normalized_score": float(score),
        "expert_return_mean": float(expert),
        "random_return_mean": float(random),
        "episodes": len(returns),
        "env_steps": int(policy.metadata.get("env_steps", 0)),  # BC: none
        "causal_entropy": _causal_entropy(policy),
        "returns": [float(r) for r in returns],
    }


def _causal_entropy(policy: Policy) -> float | None:
    """GAIL's λ, which the paper's Reacher rows are compared at, from the settings the policy
    recorded (other algorithms, and policies saved before they recorded them: None)."""
    gail = policy.metadata.get("trained_settings", {}).get("imitation", {}).get("gail")
    return None if gail is None else gail["causal_entropy"]


def render_unit_video(
    policy: Policy, task_config: dict[str, Any], params: dict[str, Any], *, unit: UnitSpec
) -> Video:
    """One deterministic episode of the learned policy, rendered (``evaluation.video``); the
    episode's seed is that of the unit's first evaluation episode's sampler."""
    task = TaskSpec.from_config(unit.task_name, task_config)
    check_trained_on(policy, task)
    settings = parse_settings(EvaluationSettings, params, "evaluation")
    seed = settings.seed + 100_000 + unit.training_seed
    return render_rollout(task, policy, seed, settings.video, label=unit.name)


# Columns that evaluations saved before they existed lack: their value for such an evaluation.
_EARLIER_DEFAULTS = {"config": "recipe", "env_steps": None, "causal_entropy": None}


def build_results_table(*evaluations: dict[str, Any]) -> pd.DataFrame:
    """One tidy row per unit, sorted by task, algorithm, config, dataset size and seed."""
    rows = [{k: e[k] if k in e else _EARLIER_DEFAULTS[k] for k in RESULT_COLUMNS} for e in evaluations]
    return in_grid_order(pd.DataFrame(rows, columns=RESULT_COLUMNS), UNIT_COLUMNS)
