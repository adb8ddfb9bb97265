"""The interface between a learned cost and the TRPO loop, and the adversarial loop itself.

A :class:`RewardModel` turns a batch of policy trajectories into per-step rewards and updates
itself from that batch. GAIL's discriminator and the FEM / GTAL linear costs are reward models;
:func:`train_adversarial` runs the paper's iteration for any of them:

    sample → reward from the current model → GAE → TRPO step → policy normaliser update
           → one model update → value fit on rewards from the updated model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gymnasium as gym
import torch

from gail_pipeline.rl.policies import Policy, ValueFunction, make_policy
from gail_pipeline.rl.sampler import RolloutSampler
from gail_pipeline.rl.seeding import seed_everything
from gail_pipeline.rl.training import RewardModel, TRPOLearner, run_iterations
from gail_pipeline.rl.trpo import TRPOConfig
from gail_pipeline.trajectories import Demonstrations

__all__ = ["AdversarialResult", "RewardModel", "make_learner", "train_adversarial"]


@dataclass
class AdversarialResult:
    curve: list[dict[str, float]]
    """One row per iteration: iteration, env_steps, true return of the training rollouts,
    learned reward, TRPO and reward-model diagnostics."""


def make_learner(
    make_env: Callable[[], gym.Env],
    demonstrations: Demonstrations,
    *,
    seed: int,
    config: TRPOConfig,
    hidden_sizes: Sequence[int] = (100, 100),
    num_envs: int = 8,
    sampler_backend: str = "auto",
    num_workers: int | None = None,
    device: str | torch.device = "cpu",
    update_threads: int | None = None,
    max_episode_steps: int = 1000,
    init_policy: Policy | None = None,
) -> TRPOLearner:
    """A TRPO learner for imitation: the paper's 2×100 tanh policy whose observation standardiser
    starts from the expert data (or, with ``init_policy``, a copy of that policy: BC warm start).
    Its networks update on ``device``, with ``update_threads`` torch threads on the CPU (None: one
    per stepping process)."""
    seed_everything(seed)
    sampler = RolloutSampler(make_env, num_envs, seed, sampler_backend, num_workers)
    policy = make_policy(sampler.observation_space, sampler.action_space, hidden_sizes)
    if demonstrations.observation_dim != policy.obs_dim:
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
    return TRPOLearner(policy.to(device), value_fn.to(device), sampler, config, seed, update_threads)


def train_adversarial(
    learner: TRPOLearner,
    reward_model: RewardModel,
    iterations: int,
    batch_size: int,
    on_iteration: Callable[[dict[str, float]], None] | None = None,
    curve: list[dict[str, float]] | None = None,
) -> AdversarialResult:
    """Run imitation by TRPO on ``reward_model``'s reward until ``learner.iteration == iterations``
    (the loop of :func:`gail_pipeline.rl.training.run_iterations`). Rows are appended to
    ``curve`` when given (a resumed run's earlier rows), else to a new list."""
    rows = run_iterations(
        learner,
        reward_model,
        iterations=iterations,
        batch_size=batch_size,
        curve=curve if curve is not None else [],
        on_iteration=on_iteration,
    )
    return AdversarialResult(rows)
