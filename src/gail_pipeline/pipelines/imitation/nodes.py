"""Nodes of the imitation stage: one learner on one dataset with one seed."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym
import pandas as pd

from gail_pipeline.imitation.adversarial import make_learner, train_adversarial
from gail_pipeline.imitation.apprenticeship import LinearCostReward
from gail_pipeline.imitation.bc import BCConfig, train_bc
from gail_pipeline.imitation.gail import DiscriminatorConfig, GAILReward
from gail_pipeline.pipelines.common import (
    device_setting,
    num_envs_setting,
    sampler_settings,
    update_threads_setting,
)
from gail_pipeline.progress import training_progress
from gail_pipeline.rl.policies import Policy, make_policy
from gail_pipeline.rl.seeding import seed_everything
from gail_pipeline.rl.training import Checkpoint
from gail_pipeline.rl.trpo import TRPOConfig
from gail_pipeline.tasks import ConfigError, TaskSpec, make_env
from gail_pipeline.trajectories import Demonstrations, check_against_spaces

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class UnitSpec:
    """What a node needs to know of its unit (bound when the pipeline is built)."""

    task_name: str
    algorithm: str
    dataset_size: int
    seed: int
    iterations: int


def train_learner(
    demonstrations: Demonstrations,
    task_config: dict[str, Any],
    params: dict[str, Any],
    *,
    unit: UnitSpec,
) -> tuple[Policy, pd.DataFrame]:
    """Train ``unit.algorithm`` on the dataset; returns the policy and its learning curve.

    BC keeps its best-validation iterate; FEM, GTAL and GAIL their last iterate (the paper).
    """
    task = TaskSpec.from_config(unit.task_name, task_config)
    make = partial(make_env, task)
    env = make()
    horizon = env.spec.max_episode_steps or 1000
    _check_data(demonstrations, env, task, unit)
    seed = 1_000 * unit.seed + unit.dataset_size  # units differ in seed even on one dataset
    hidden = tuple(params.get("policy_hidden_sizes", (100, 100)))
    where = f"{unit.task_name}.{unit.algorithm}.n{unit.dataset_size}.s{unit.seed}"
    metadata = {
        "task": task.name,
        "env_id": task.env_id,
        "algorithm": unit.algorithm,
        "dataset_size": unit.dataset_size,
        "seed": unit.seed,
        "dataset_version": demonstrations.metadata.get("version"),
    }

    bc_config = _bc_config(task, params)
    device = device_setting(params, "imitation")
    seed_everything(seed)
    if unit.algorithm == "bc":
        policy = make_policy(env.observation_space, env.action_space, hidden).to(device)
        result = train_bc(policy, demonstrations, bc_config, seed)
        logger.info("%s: best validation NLL at step %d", where, result.best_step)
        policy = policy.cpu()
        policy.metadata = {**metadata, "best_step": result.best_step}
        return policy, pd.DataFrame(result.curve)

    trpo_config = _trpo_config(params, unit)
    checkpoint = _unit_checkpoint(params, task_config, unit, demonstrations)
    state = checkpoint.load() if checkpoint is not None else None
    init_policy = None
    gail_params = dict(params.get("gail", {}))
    if unit.algorithm == "gail" and gail_params.pop("bc_warm_start", False) and state is None:
        init_policy = make_policy(env.observation_space, env.action_space, hidden).to(device)
        train_bc(init_policy, demonstrations, bc_config, seed)
    learner = make_learner(
        make,
        demonstrations,
        seed=seed,
        config=trpo_config,
        hidden_sizes=hidden,
        num_envs=num_envs_setting(
            params.get("num_envs", "auto"), task.batch_size, horizon, "imitation.num_envs"
        ),
        max_episode_steps=horizon,
        init_policy=init_policy,
        device=device,
        update_threads=update_threads_setting(params, "imitation"),
        **sampler_settings(params, "imitation"),
    )
    action_dim = (
        env.action_space.n if isinstance(env.action_space, gym.spaces.Discrete) else env.action_space.shape[0]
    )
    if unit.algorithm == "gail":
        gail_params.pop("causal_entropy", None)
        try:
            disc_config = DiscriminatorConfig(
                **{**gail_params, "hidden_sizes": tuple(gail_params.get("hidden_sizes", (100, 100)))},
                reward_sign=task.reward_sign,
            )
        except TypeError as exc:  # an unknown key
            raise ConfigError(f"imitation.gail: {exc}") from exc
        try:
            disc_config.validate("imitation.gail")
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        reward_model = GAILReward(demonstrations, disc_config, seed, int(action_dim), device)
    else:
        reward_model = LinearCostReward(demonstrations, unit.algorithm, task.reward_sign, int(action_dim))
    log_every = int(params.get("log_every", 25))
    curve: list[dict[str, float]] = []  # run_iterations appends to it
    resumed_from = 0
    warm_started = init_policy is not None
    if state is not None:
        warm_started = bool(state["bc_warm_start"])
        learner.load_state_dict(state["learner"])
        reward_model.load_state_dict(state["reward_model"])
        curve = list(state["curve"])
        resumed_from = learner.iteration
        logger.info("%s: resumed from %s at iteration %d", where, checkpoint.path, resumed_from)

    def after_iteration(row: dict[str, float]) -> None:
        """Log every ``log_every`` iterations; checkpoint when due."""
        if row["iteration"] % log_every == 0 or row["iteration"] == unit.iterations:
            logger.info(
                "%s: iter %d/%d  steps %d  return %.1f ± %.1f",
                where,
                row["iteration"],
                unit.iterations,
                row["env_steps"],
                row["return_mean"],
                row["return_std"],
            )
        if checkpoint is not None and checkpoint.due(learner.iteration, unit.iterations):
            checkpoint.save(
                {
                    "learner": learner.state_dict(),
                    "reward_model": reward_model.state_dict(),
                    "curve": curve,
                    "bc_warm_start": warm_started,
                }
            )

    with training_progress(where, unit.iterations, start=resumed_from) as show:
        result = train_adversarial(
            learner,
            reward_model,
            unit.iterations,
            task.batch_size,
            on_iteration=lambda row: (after_iteration(row), show(row)),
            curve=curve,
        )
    learner.sampler.close()
    if checkpoint is not None:
        # Finished: the outputs are the record now. A rerun of a finished unit trains it again
        # (with `--only-missing-outputs`, Kedro skips it instead).
        checkpoint.remove()
    learner.policy = learner.policy.cpu()
    learner.policy.metadata = {
        **metadata,
        "iterations": unit.iterations,
        "env_steps": learner.env_steps,
        "bc_warm_start": warm_started,
        "resumed_from_iteration": resumed_from,
    }
    return learner.policy, pd.DataFrame(result.curve)


def _unit_checkpoint(
    params: dict[str, Any], task_config: dict[str, Any], unit: UnitSpec, demonstrations: Demonstrations
) -> Checkpoint | None:
    """Where the unit checkpoints (``imitation.checkpoint_dir``, null: nowhere), fingerprinted by
    everything that decides its numbers: the task's and the imitation settings (not how the work
    is spread: sampler, device, threads, logging), the unit, and the dataset's version."""
    directory = params.get("checkpoint_dir")
    if directory is None:
        return None
    every = params.get("checkpoint_every", 10)
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ConfigError(f"imitation.checkpoint_every: expected a positive integer, got {every!r}")
    runtime_only = {"sampler", "device", "update_threads", "log_every", "checkpoint_dir", "checkpoint_every"}
    settings = {
        "task": task_config,
        "imitation": {k: v for k, v in params.items() if k not in runtime_only},
        "unit": {k: v for k, v in dataclasses.asdict(unit).items() if k != "iterations"},
        "dataset": [demonstrations.metadata.get("version"), demonstrations.num_steps],
    }
    digest = hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:12]
    name = f"{unit.task_name}.{unit.algorithm}.n{unit.dataset_size}.s{unit.seed}-{digest}.pt"
    return Checkpoint(Path(directory) / name, settings, every=every)


def _check_data(demonstrations: Demonstrations, env: gym.Env, task: TaskSpec, unit: UnitSpec) -> None:
    source = f"{task.name}.demonstrations_n{unit.dataset_size}"
    if demonstrations.env_id != task.env_id:
        raise ConfigError(
            f"{source}: trajectories of {demonstrations.env_id!r}, task {task.name!r} is {task.env_id!r}"
        )
    space = env.action_space
    discrete = isinstance(space, gym.spaces.Discrete)
    check_against_spaces(
        demonstrations,
        int(env.observation_space.shape[0]),
        discrete,
        1 if discrete else int(space.shape[0]),
        source,
    )
    if len(demonstrations.trajectories) != unit.dataset_size:
        raise ConfigError(
            f"{source}: holds {len(demonstrations.trajectories)} trajectories, expected {unit.dataset_size}"
        )


def _trpo_config(params: dict[str, Any], unit: UnitSpec) -> TRPOConfig:
    overrides = dict(params.get("trpo", {}))
    if unit.algorithm == "gail":
        causal = params.get("gail", {}).get("causal_entropy", 0.0)
        if causal:
            overrides["entropy_coef"] = causal
    try:
        return TRPOConfig.from_mapping(overrides, where="imitation.trpo")
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def _bc_config(task: TaskSpec, params: dict[str, Any]) -> BCConfig:
    bc = dict(params.get("bc", {}))
    try:
        config = BCConfig(steps=task.bc_steps, validate_every=task.bc_validate_every, **bc)
        config.validate("imitation.bc")
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"imitation.bc: {exc}") from exc
    return config
