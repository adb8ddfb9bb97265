"""Train one imitation learner — BC, FEM, GTAL or GAIL — from a task, its demonstrations and
typed settings: the library's entry point, which the Kedro node and the benchmarks call.

    from gail_pipeline.imitation import ImitationSettings, train_imitation
    from gail_pipeline.tasks import TaskSpec

    task = TaskSpec(name="hopper", env_id="Hopper-v5", batch_size=10_000)
    result = train_imitation(task, "gail", demonstrations, seed=0, iterations=150)
    result.policy, result.curve

Everything that decides a learner's numbers is assembled here, in this order: the policy
(2×100 tanh, observation standardiser from the expert data), the BC warm start
(``gail.bc_warm_start``), the causal-entropy bonus λ (``gail.causal_entropy``, as TRPO's entropy
weight), the reward model (GAIL's discriminator or FEM's / GTAL's linear cost, with the task's
reward sign), and the training loop of :mod:`gail_pipeline.rl.loop` (Algorithm 1), resumable
from ``settings.checkpoint_dir``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch

from gail_pipeline.config import ConfigError, parse_settings, positive_int, settings_dict
from gail_pipeline.imitation.apprenticeship import LinearCostReward
from gail_pipeline.imitation.bc import BCConfig, train_bc
from gail_pipeline.imitation.gail import GAILConfig, GAILReward
from gail_pipeline.rl import loop
from gail_pipeline.rl.checkpoint import Checkpoint, held
from gail_pipeline.rl.evaluation import evaluate
from gail_pipeline.rl.policies import Policy, ValueFunction, make_policy
from gail_pipeline.rl.ppo import PPOConfig
from gail_pipeline.rl.sampler import RolloutSampler
from gail_pipeline.rl.seeding import seed_everything
from gail_pipeline.rl.training import PPOLearner, TRPOLearner
from gail_pipeline.rl.trpo import TRPOConfig
from gail_pipeline.runtime import RUNTIME_FIELDS, RuntimeSettings
from gail_pipeline.tasks import TaskSpec, make_env
from gail_pipeline.trajectories import Demonstrations, check_against_spaces

__all__ = [
    "ALGORITHMS",
    "ImitationResult",
    "ImitationSettings",
    "check_demonstrations",
    "make_learner",
    "over_env_step_budget",
    "train_imitation",
]

logger = logging.getLogger(__name__)

ALGORITHMS = ("bc", "fem", "gtal", "gail")


@dataclass(frozen=True)
class ImitationSettings(RuntimeSettings):
    """The ``imitation`` section of the parameters: the learners' settings (defaults: the paper's)
    and where they run (:class:`~gail_pipeline.runtime.RuntimeSettings`). The per-task budgets
    (batch size, iterations, BC steps, reward sign) are the task's (:class:`TaskSpec`)."""

    policy_hidden_sizes: tuple[int, ...] = (100, 100)
    """The learners' policy MLP widths (tanh): 2×100 in the paper."""
    policy_log_std_init: float = 0.0
    """Initial log σ of the Gaussian policies (continuous actions): 0 in the paper (σ = 1, half the
    width of a [−1, 1] action range, so a third of the sampled actions are clipped)."""
    num_envs: int | str = "auto"
    """Environments stepped side by side; ``auto``: batch size / episode limit, between 1 and 64
    (a batch of full-length episodes is then one episode per env)."""
    trpo: TRPOConfig = field(default_factory=TRPOConfig)
    """The policy step and value fit of FEM, GTAL and GAIL."""
    bc: BCConfig = field(default_factory=BCConfig)
    """Behavioral cloning (and GAIL's BC warm start); its ``steps`` and ``validate_every`` are the
    task's ``bc_steps`` and ``bc_validate_every``."""
    gail: GAILConfig = field(default_factory=GAILConfig)
    """GAIL's discriminator, causal entropy and warm start."""
    policy_step: str = "trpo"
    """The policy update of FEM, GTAL and GAIL: ``trpo`` (the paper) or ``ppo`` (``ppo`` below;
    the ``trpo`` section still sets the discount, GAE and the value fit)."""
    ppo: PPOConfig = field(default_factory=PPOConfig)
    """PPO's policy step, when ``policy_step`` is ``ppo``."""
    eval_every: int = 0
    """Every this many iterations (and at the last), ``eval_episodes`` deterministic episodes of
    the current policy go into the curve (``eval_return_mean``, ``eval_return_std``); 0: never.
    Their own seeded environments: the training's numbers do not change."""
    eval_episodes: int = 10
    """Episodes of each evaluation during training."""

    def checks(self) -> dict[str, Any]:
        auto = self.num_envs == "auto"
        return {
            **super().checks(),
            "policy_hidden_sizes": all(h >= 1 for h in self.policy_hidden_sizes),
            "policy_log_std_init": (math.isfinite(self.policy_log_std_init), "a finite number"),
            "num_envs": (auto or positive_int(self.num_envs), "a positive integer or 'auto'"),
            "policy_step": (self.policy_step in ("trpo", "ppo"), "trpo or ppo"),
            "eval_every": (self.eval_every >= 0, "a non-negative integer"),
            "eval_episodes": (self.eval_episodes >= 1, "a positive integer"),
        }

    @classmethod
    def parse(cls, values: Any, where: str = "imitation") -> ImitationSettings:
        """The parameters' ``imitation`` section, checked (:func:`gail_pipeline.config.parse_settings`)."""
        return parse_settings(cls, values, where)

    def envs_for(self, batch_size: int, horizon: int) -> int:
        """``num_envs`` for a batch size and episode limit (``auto`` resolved)."""
        if self.num_envs == "auto":
            return max(1, min(64, -(-int(batch_size) // max(int(horizon), 1))))
        return int(self.num_envs)


@dataclass
class ImitationResult:
    policy: Policy
    """The learned policy (on the CPU; ``policy.metadata`` says how it was made): BC's
    best-validation iterate, the last iterate of the others (the paper's protocol)."""
    curve: list[dict[str, float]]
    """BC: one row per validation (step, train_nll, validation_nll). The others: one row per
    iteration (see :class:`gail_pipeline.rl.loop.LoopResult`)."""
    resumed_from_iteration: int = 0
    """The iteration a checkpointed run continued from (0: from scratch; always 0 for BC)."""


def train_imitation(
    task: TaskSpec,
    algorithm: str,
    demonstrations: Demonstrations,
    *,
    seed: int,
    iterations: int | None = None,
    settings: ImitationSettings | None = None,
    make_env_fn: Callable[[], gym.Env] | None = None,
    on_iteration: Callable[[dict[str, float]], None] | None = None,
    stop: Callable[[list[dict[str, float]]], bool] | None = None,
) -> ImitationResult:
    """Train ``algorithm`` on ``demonstrations`` of ``task``'s environment.

    Args:
        task: the environment and its budgets (``batch_size``, ``iterations``, ``max_env_steps``,
            ``reward_sign``, ``bc_steps``, ``bc_validate_every``).
        algorithm: ``bc``, ``fem``, ``gtal`` or ``gail``.
        demonstrations: the expert (s, a) pairs (:class:`~gail_pipeline.trajectories.Demonstrations`).
        seed: seeds the networks, the sampler, the environments and the reward model.
        iterations: policy iterations of FEM, GTAL and GAIL (None: ``task.iterations``).
        settings: the learners' settings (None: the paper's, on the CPU or GPU ``auto`` finds).
        make_env_fn: builds one environment (None: :func:`gail_pipeline.tasks.make_env` of the task).
        on_iteration: called with each curve row (logging, progress display).
        stop: called with the curve before each iteration; True ends the run early (e.g. once a
            target score is reached). A run it ends keeps its checkpoint (a longer run of the same
            training continues it); one that ends at ``iterations`` or ``task.max_env_steps``
            removes it.
    """
    settings = ImitationSettings.parse(settings if settings is not None else ImitationSettings())
    if algorithm not in ALGORITHMS:
        raise ConfigError(f"algorithm: expected one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
    iterations = task.iterations if iterations is None else iterations
    make = make_env_fn or partial(make_env, task)
    env = make()
    horizon = env.spec.max_episode_steps if env.spec and env.spec.max_episode_steps else 1000
    check_demonstrations(demonstrations, task, env)
    env_spaces = (env.observation_space, env.action_space)
    env.close()
    device = settings.torch_device("imitation")
    bc_config = dataclasses.replace(settings.bc, steps=task.bc_steps, validate_every=task.bc_validate_every)
    metadata = {
        "task": task.name,
        "env_id": task.env_id,
        "algorithm": algorithm,
        "dataset_size": len(demonstrations.trajectories),
        "dataset_version": demonstrations.metadata.get("version"),
        "dataset_digest": demonstrations.digest(),
        "trained_settings": trained_settings(
            dataclasses.replace(task, iterations=iterations), algorithm, settings
        ),
    }

    def new_policy() -> Policy:
        """The learners' policy for the task's spaces, as the settings build it (BC's, the warm start's)."""
        log_std = settings.policy_log_std_init
        return make_policy(*env_spaces, settings.policy_hidden_sizes, log_std_init=log_std).to(device)

    seed_everything(seed)
    if algorithm == "bc":
        policy = new_policy()
        fit = train_bc(policy, demonstrations, bc_config, seed)
        logger.info("%s bc: best validation NLL at step %d", task.name, fit.best_step)
        policy = policy.cpu()
        policy.metadata = {**metadata, "best_step": fit.best_step}
        return ImitationResult(policy, fit.curve)

    checkpoint = _checkpoint(task, algorithm, demonstrations, seed, settings)
    # held for this process while it trains: a second run of the same training stops at once
    with held(checkpoint):
        saved = checkpoint.load() if checkpoint is not None else None
        if saved is not None and _past_budget(saved, iterations, task.max_env_steps):
            # the same training run further elsewhere (budgets are not in the fingerprint): this run
            # trains without the checkpoint and leaves it to the run it belongs to
            logger.warning("%s holds a run past this one's budget: training without it", checkpoint.path)
            checkpoint, saved = None, None
        # BC warm start (the paper's suggestion; off in its settings): the policy starts from the BC
        # solution — unless a checkpoint holds the run's own later state.
        init_policy = None
        if algorithm == "gail" and settings.gail.bc_warm_start and saved is None:
            init_policy = new_policy()
            train_bc(init_policy, demonstrations, bc_config, seed)
        trpo = settings.trpo
        if algorithm == "gail" and settings.gail.causal_entropy:
            # The causal-entropy regulariser −λH(π) of the paper's objective, as TRPO's entropy bonus.
            trpo = dataclasses.replace(trpo, entropy_coef=settings.gail.causal_entropy)
        learner = make_learner(
            make,
            demonstrations,
            seed=seed,
            config=trpo,
            ppo=settings.ppo if settings.policy_step == "ppo" else None,
            hidden_sizes=settings.policy_hidden_sizes,
            log_std_init=settings.policy_log_std_init,
            num_envs=settings.envs_for(task.batch_size, horizon),
            max_episode_steps=horizon,
            init_policy=init_policy,
            device=device,
            update_threads=settings.threads(),
            **settings.sampler_kwargs(),
        )
        action_space = env_spaces[1]
        discrete = isinstance(action_space, gym.spaces.Discrete)
        action_dim = action_space.n if discrete else action_space.shape[0]
        if algorithm == "gail":
            reward_model = GAILReward(
                demonstrations,
                settings.gail,
                seed,
                int(action_dim),
                device,
                reward_sign=task.reward_sign,
                gamma=learner.discount()[0],
                horizon=horizon,
            )
        else:
            reward_model = LinearCostReward(demonstrations, algorithm, task.reward_sign, int(action_dim))

        def ends(curve: list[dict[str, float]]) -> bool:
            return over_env_step_budget(curve, task.max_env_steps) or (stop is not None and stop(curve))

        try:
            run = loop.train(
                learner,
                reward_model,
                iterations=iterations,
                batch_size=task.batch_size,
                checkpoint=checkpoint,
                extra_state={"bc_warm_start": init_policy is not None},
                on_iteration=_with_evaluation(
                    on_iteration, learner, make, settings, iterations, seed, task.max_env_steps
                ),
                stop=ends,
                frozen_policy_iterations=settings.gail.warmup_iterations if algorithm == "gail" else 0,
            )
        finally:
            learner.sampler.close()
        if checkpoint is not None and (
            learner.iteration >= iterations or over_env_step_budget(run.curve, task.max_env_steps)
        ):
            # Finished: the outputs are the record now. A rerun of a finished unit trains it again
            # (with `--only-missing-outputs`, Kedro skips it instead). A run that `stop` ended
            # before its budget keeps its checkpoint: a longer run of the same training continues it.
            checkpoint.remove()
    policy = learner.policy.cpu()
    policy.metadata = {
        **metadata,
        "iterations": iterations,
        "env_steps": learner.env_steps,
        "bc_warm_start": bool(run.extra_state.get("bc_warm_start")),
        "resumed_from_iteration": run.resumed_from_iteration,
    }
    return ImitationResult(policy, run.curve, run.resumed_from_iteration)


def _past_budget(state: dict[str, Any], iterations: int, max_env_steps: int | None) -> bool:
    """Whether a saved run went past ``iterations`` or ``max_env_steps`` (a benchmark run to 5M
    env steps beside a grid unit of 150 iterations of the same training): whether this run would
    have ended before the saved run's last iteration. Its last iteration may end a few steps past
    ``max_env_steps`` (the budget's rule estimates an iteration's length from the one before, see
    :func:`over_env_step_budget`): this run would have taken that iteration too."""
    curve = state.get("curve") or []
    return state["learner"]["iteration"] > iterations or over_env_step_budget(curve[:-1], max_env_steps)


def over_env_step_budget(curve: list[dict[str, float]], max_env_steps: int | None) -> bool:
    """Whether the next iteration would pass ``max_env_steps`` (None: never), taking it as long as
    the last one: a run under an env-step budget ends before it."""
    if max_env_steps is None or not curve:
        return False
    last = curve[-1]["env_steps"] - (curve[-2]["env_steps"] if len(curve) > 1 else 0)
    return curve[-1]["env_steps"] + last > max_env_steps


def make_learner(
    make_env: Callable[[], gym.Env],
    demonstrations: Demonstrations,
    *,
    seed: int,
    config: TRPOConfig,
    hidden_sizes: Sequence[int] = (100, 100),
    log_std_init: float = 0.0,
    num_envs: int = 8,
    sampler_backend: str = "auto",
    num_workers: int | None = None,
    device: str | torch.device = "cpu",
    update_threads: int | None = None,
    max_episode_steps: int = 1000,
    init_policy: Policy | None = None,
    ppo: PPOConfig | None = None,
) -> TRPOLearner:
    """A TRPO learner for imitation: the paper's 2×100 tanh policy (Gaussian: log σ starting at
    ``log_std_init``) whose observation standardiser
    starts from the expert data (or, with ``init_policy``, a copy of that policy: BC warm start).
    Its networks update on ``device``, with ``update_threads`` torch threads on the CPU (None: one
    per stepping process). With ``ppo``, the policy steps are PPO's (a :class:`PPOLearner`)."""
    seed_everything(seed)
    sampler = RolloutSampler(make_env, num_envs, seed, sampler_backend, num_workers)
    spaces = (sampler.observation_space, sampler.action_space)
    policy = make_policy(*spaces, hidden_sizes, log_std_init=log_std_init)
    if demonstrations.observation_dim != policy.obs_dim:
        sampler.close()
        raise ValueError(
            f"the demonstrations have {demonstrations.observation_dim} observation values, "
            f"the environment {policy.obs_dim}"
        )
    if init_policy is not None:
        policy.load_state_dict(init_policy.state_dict())
    else:
        policy.obs_normalizer.update(demonstrations.observations())
    value_fn = ValueFunction(policy.obs_dim, config.value_hidden_sizes, max_episode_steps=max_episode_steps)
    value_fn.obs_normalizer.load_state_dict(policy.obs_normalizer.state_dict())
    device = torch.device(device)
    if ppo is not None:
        return PPOLearner(policy.to(device), value_fn.to(device), sampler, config, seed, update_threads, ppo)
    return TRPOLearner(policy.to(device), value_fn.to(device), sampler, config, seed, update_threads)


def _with_evaluation(
    on_iteration: Callable[[dict[str, float]], None] | None,
    learner: TRPOLearner,
    make: Callable[[], gym.Env],
    settings: ImitationSettings,
    iterations: int,
    seed: int,
    max_env_steps: int | None = None,
) -> Callable[[dict[str, float]], None] | None:
    """``on_iteration`` preceded, every ``settings.eval_every`` iterations and at the last (the
    last of ``iterations``, or the last within ``max_env_steps``), by a deterministic evaluation
    of the current policy written into the row (``eval_return_mean``, ``eval_return_std``, its
    wall time ``time_evaluation``; its own environments, seeded apart from the training's;
    deterministic actions draw no random numbers)."""
    if settings.eval_every <= 0:
        return on_iteration
    rows: list[dict[str, float]] = []  # the last two rows: the budget rule's input

    def evaluate_then(row: dict[str, float]) -> None:
        rows[:] = [*rows[-1:], row]
        last = row["iteration"] == iterations or (
            len(rows) == 2 and over_env_step_budget(rows, max_env_steps)
        )
        if row["iteration"] % settings.eval_every == 0 or last:
            started = time.perf_counter()
            # In this process: worker processes for a few episodes cost more to start and stop
            # than they save (MuJoCo, 10 episodes: ~3 s of ~4-7 s), and the returns are the same.
            returns = evaluate(
                make, learner.policy, settings.eval_episodes, seed + 50_000, deterministic=True, num_workers=1
            )
            row["eval_return_mean"] = float(returns.mean())
            row["eval_return_std"] = float(returns.std())
            row["time_evaluation"] = time.perf_counter() - started
        if on_iteration is not None:
            on_iteration(row)

    return evaluate_then


def check_demonstrations(
    demonstrations: Demonstrations,
    task: TaskSpec,
    env: gym.Env,
    source: str = "demonstrations",
    expected_trajectories: int | None = None,
) -> None:
    """Refuse demonstrations of another environment, of other spaces (a discrete action outside
    the env's actions included), or (``expected_trajectories``) of another size; the message
    names ``source``."""
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
        num_actions=int(space.n) if discrete else None,
    )
    count = len(demonstrations.trajectories)
    if expected_trajectories is not None and count != expected_trajectories:
        raise ConfigError(f"{source}: holds {count} trajectories, expected {expected_trajectories}")


# Settings of the evaluations in training (their own seeded environments: the training does not
# depend on them), left out of a checkpoint's fingerprint and of a unit's trained settings.
_EVALUATION_CADENCE = ("eval_every", "eval_episodes")
# Learning settings added after checkpoints existed, each with the value that trains as the code
# before it did: at that value they stay out of the fingerprint, so those checkpoints stay valid.
# (Checkpoints written before the fingerprint took the dataset's content for its catalog version,
# 2026-12-06, are not found again: their runs start over.)
_ADDED_LATER = {("gail", "neutral_init"): False}


def _learning_settings(settings: ImitationSettings) -> dict[str, Any]:
    """Every setting but the runtime ones (where and how the work is spread)."""
    return {k: v for k, v in settings_dict(settings).items() if k not in RUNTIME_FIELDS}


def _fingerprinted(settings: ImitationSettings) -> dict[str, Any]:
    """The learning settings a checkpoint depends on (not runtime ones, not later additions at
    their earlier behaviour)."""
    fields = _learning_settings(settings)
    for (section, name), before in _ADDED_LATER.items():
        if fields[section][name] == before:
            fields[section] = {k: v for k, v in fields[section].items() if k != name}
    return fields


# What decides a unit's training besides its data and seed (`trained_settings`): the task fields
# that reach the learners, and the settings sections each algorithm reads.
_TRAINING_TASK_FIELDS = (
    *("env_id", "max_episode_steps", "env_kwargs", "subsample_interval", "batch_size", "iterations"),
    *("max_env_steps", "reward_sign", "bc_steps", "bc_validate_every"),
)
_BUDGETS = (
    "iterations",
    "max_env_steps",
)  # a continued run may extend them: not in a checkpoint's fingerprint
_NOT_READ_BY = {
    "bc": {"gail", "trpo", "ppo", "policy_step", "num_envs"},
    "fem": {"gail", "bc"},
    "gtal": {"gail", "bc"},
    "gail": set(),
}


def trained_settings(task: TaskSpec, algorithm: str, settings: ImitationSettings) -> dict[str, Any]:
    """What decides a unit's training besides its data and seed, as plain values (recorded in the
    policy's metadata): the task's fields that reach the learners (``iterations`` included) and the
    learning settings the algorithm reads (not the runtime ones, nor the evaluation's cadence)."""
    fields = _learning_settings(settings)
    skipped = {*_EVALUATION_CADENCE, *_NOT_READ_BY.get(algorithm, ())}
    return json.loads(
        json.dumps(
            {
                "task": {name: getattr(task, name) for name in _TRAINING_TASK_FIELDS},
                "algorithm": algorithm,
                "imitation": {k: v for k, v in fields.items() if k not in skipped},
            },
            default=str,
        )
    )


def _checkpoint(
    task: TaskSpec, algorithm: str, demonstrations: Demonstrations, seed: int, settings: ImitationSettings
) -> Checkpoint | None:
    """Where the run checkpoints (``settings.checkpoint_dir``; None: nowhere), fingerprinted by
    everything that decides its numbers: the task fields that reach the learners (less the
    iteration and env-step budgets, which a continued run may extend), the learners' settings
    (not how the work is spread — sampler, device, threads, logging — nor the evaluations'
    cadence), the algorithm,
    the seed, and the dataset's content (not its catalog version: demonstrations sampled again,
    bit for bit the same, continue the same checkpoint). So a benchmark run and a grid unit of the
    same training share one checkpoint."""
    if settings.checkpoint_dir is None:
        return None
    fingerprint = {
        "task": {name: getattr(task, name) for name in _TRAINING_TASK_FIELDS if name not in _BUDGETS},
        "imitation": {k: v for k, v in _fingerprinted(settings).items() if k not in _EVALUATION_CADENCE},
        "algorithm": algorithm,
        "seed": seed,
        "dataset": demonstrations.digest(),
    }
    digest = hashlib.sha1(json.dumps(fingerprint, sort_keys=True, default=str).encode()).hexdigest()[:12]
    name = f"{task.name}.{algorithm}.n{len(demonstrations.trajectories)}.seed{seed}-{digest}.pt"
    return Checkpoint(Path(settings.checkpoint_dir) / name, fingerprint, every=settings.checkpoint_every)
