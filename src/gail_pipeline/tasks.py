"""The task registry: which environment each task is, and the paper's budgets for it.

A task is configuration (``conf/<env>/tasks.yml``), turned here into a typed, validated
:class:`TaskSpec`. Any Gymnasium env id with a ``Box`` or ``Discrete`` action space can be added
by config alone::

    tasks:
      pendulum:
        env_id: Pendulum-v1
        dataset_sizes: [1, 5]
        subsample_interval: 5

No Kedro here: ``TaskSpec.from_config(name, mapping)`` and ``make_env(spec)`` work anywhere.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from gail_pipeline.config import ConfigError
from gail_pipeline.logs import route_mujoco_warnings

__all__ = [
    "ConfigError",
    "ExpertSpec",
    "TaskSpec",
    "check_env_id",
    "make_env",
    "parse_tasks",
]

_TASK_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


EXPERT_TRAINERS = ("trpo", "ppo")


@dataclass(frozen=True)
class ExpertSpec:
    """How the expert of a task is trained (TRPO, or PPO, on the true reward)."""

    hidden_sizes: tuple[int, ...] = (64, 64)
    """Hidden layer widths of the expert's policy (tanh). Any policy class may be an expert."""
    batch_size: int = 5_000
    """Environment steps per TRPO iteration (whole trajectories, at least this many)."""
    iterations: int = 100
    """Number of TRPO iterations."""
    stop_at_return: float | None = None
    """Stop early once the mean return of an iteration's rollouts reaches this (None: never)."""
    stop_window: int = 1
    """With ``stop_at_return``: the mean over the last this many iterations must reach it."""
    num_envs: int = 8
    """Environments stepped side by side in the sampler (in one process)."""
    reward_shaping: str | None = None
    """Name of a potential-based shaping term added to the reward while training the expert only
    (see ``gail_pipeline.rl.shaping``); it leaves the optimal policy unchanged (Ng et al., 1999)."""
    trpo: Mapping[str, Any] = field(default_factory=dict)
    """Overrides of the TRPO hyperparameters (``gail_pipeline.rl.trpo.TRPOConfig``) for this task;
    their discount, GAE and value-function settings serve PPO too."""
    trainer: str = "trpo"
    """``trpo`` (the paper's) or ``ppo`` (``gail_pipeline.rl.ppo``)."""
    ppo: Mapping[str, Any] = field(default_factory=dict)
    """Overrides of the PPO hyperparameters (``gail_pipeline.rl.ppo.PPOConfig``) for this task."""


@dataclass(frozen=True)
class TaskSpec:
    """One imitation task: an environment, its expert data and the paper's budgets."""

    name: str
    """Short lowercase name; the Kedro namespace of everything about this task."""
    env_id: str
    """Gymnasium env id (``CartPole-v1``, ``Hopper-v5``, ...)."""
    max_episode_steps: int | None = None
    """Episode limit; None keeps the env's registered limit (the paper uses 200 on classic tasks)."""
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    """Keyword arguments passed to ``gymnasium.make``."""
    dataset_sizes: tuple[int, ...] = (1, 4, 7, 10)
    """Numbers of expert trajectories in the imitation datasets."""
    num_expert_trajectories: int | None = None
    """Expert trajectories to sample; defaults to the largest dataset size."""
    subsample_interval: int = 1
    """Keep every k-th (s, a) pair of each expert trajectory, from a random offset (1: keep all)."""
    seeds: int = 1
    """Number of seeds of each imitation unit."""
    batch_size: int = 5_000
    """Environment steps per imitation (TRPO) iteration."""
    iterations: int = 300
    """Imitation iterations (GAIL, FEM, GTAL)."""
    max_env_steps: int | None = None
    """The env-step budget of FEM, GTAL and GAIL: training ends before the iteration that would
    pass it (judged by the last iteration's length), or at ``iterations``, whichever comes first. A
    batch ends its episodes, so ``iterations × batch_size`` alone may overshoot a budget (Reacher's
    64 environments of 50-step episodes take 12,800 steps per 10,000-step batch). None: no budget
    but the iterations."""
    paper_batch_size: int | None = None
    """The paper's batch size for this task, which GAIL's ``paper`` config runs at (as many env
    steps as the recipe, in fewer or more iterations); None: ``batch_size``."""
    expert: ExpertSpec = field(default_factory=ExpertSpec)
    """How this task's expert is trained."""
    evaluation_episodes: int = 50
    """Episodes used to measure a policy's return (deterministic actions)."""
    reward_sign: str = "positive"
    """Sign of the learned reward (GAIL, FEM, GTAL): ``positive`` −log(1 − D) for tasks that end on
    failure, ``negative`` log D for tasks that end on success (MountainCar, Acrobot)."""
    bc_steps: int = 1001
    """Behavioral-cloning Adam steps (paper: 1,001 classic, 10,001 Reacher, 20,001 MuJoCo)."""
    bc_validate_every: int = 100
    """Behavioral-cloning validation interval (paper: 100 / 500 / 1,000)."""
    imitation: Mapping[str, Any] = field(default_factory=dict)
    """Imitation settings for this task's units, merged key by key over the run's ``imitation``
    section (:func:`gail_pipeline.imitation.configs.unit_settings`): one grid can run the classic
    tasks with conf/base's recipe and the MuJoCo tasks with conf/mujoco's."""

    @property
    def expert_trajectory_count(self) -> int:
        return self.num_expert_trajectories or max(self.dataset_sizes)

    @classmethod
    def from_config(cls, name: str, config: Mapping[str, Any]) -> TaskSpec:
        """Build and validate a task from its config mapping; errors name ``tasks.<name>.<field>``."""
        where = f"tasks.{name}"
        if not isinstance(config, Mapping):
            raise ConfigError(f"{where}: expected a mapping of task settings, got {type(config).__name__}")
        if not _TASK_NAME.match(name):
            raise ConfigError(f"{where}: task names must be lowercase identifiers (a-z, 0-9, _)")
        config = dict(config)
        expert_cfg = config.pop("expert", None) or {}
        known = {f.name for f in dataclasses.fields(cls)} - {"name", "expert"}
        _reject_unknown(where, config, known)
        if "env_id" not in config:
            raise ConfigError(f"{where}.env_id: missing (a Gymnasium env id such as 'CartPole-v1')")
        if not isinstance(expert_cfg, Mapping):
            raise ConfigError(f"{where}.expert: expected a mapping, got {type(expert_cfg).__name__}")
        expert_cfg = dict(expert_cfg)
        _reject_unknown(f"{where}.expert", expert_cfg, {f.name for f in dataclasses.fields(ExpertSpec)})
        if "hidden_sizes" in expert_cfg:
            expert_cfg["hidden_sizes"] = tuple(expert_cfg["hidden_sizes"])
        expert = ExpertSpec(**expert_cfg)
        if not isinstance(config.get("imitation", {}), Mapping):
            raise ConfigError(
                f"{where}.imitation: expected a mapping of imitation settings, "
                f"got {type(config['imitation']).__name__}"
            )
        if "dataset_sizes" in config:
            config["dataset_sizes"] = tuple(config["dataset_sizes"])
        spec = cls(name=name, expert=expert, **config)
        spec.validate()
        return spec

    def validate(self) -> None:
        where = f"tasks.{self.name}"
        if not isinstance(self.env_id, str) or not self.env_id:
            raise ConfigError(f"{where}.env_id: expected a non-empty string, got {self.env_id!r}")
        if self.max_episode_steps is not None:
            _positive_int(f"{where}.max_episode_steps", self.max_episode_steps)
        if not self.dataset_sizes:
            raise ConfigError(f"{where}.dataset_sizes: expected at least one dataset size")
        for size in self.dataset_sizes:
            _positive_int(f"{where}.dataset_sizes", size)
        if len(set(self.dataset_sizes)) != len(self.dataset_sizes):
            raise ConfigError(f"{where}.dataset_sizes: sizes repeat in {list(self.dataset_sizes)}")
        if self.num_expert_trajectories is not None:
            _positive_int(f"{where}.num_expert_trajectories", self.num_expert_trajectories)
            if self.num_expert_trajectories < max(self.dataset_sizes):
                raise ConfigError(
                    f"{where}.dataset_sizes: a dataset of {max(self.dataset_sizes)} trajectories "
                    f"cannot be drawn from num_expert_trajectories={self.num_expert_trajectories}"
                )
        if self.reward_sign not in ("positive", "negative"):
            raise ConfigError(
                f"{where}.reward_sign: expected 'positive' or 'negative', got {self.reward_sign!r}"
            )
        if self.paper_batch_size is not None:
            _positive_int(f"{where}.paper_batch_size", self.paper_batch_size)
        if self.max_env_steps is not None:
            _positive_int(f"{where}.max_env_steps", self.max_env_steps)
        for name in (
            "subsample_interval",
            "seeds",
            "batch_size",
            "iterations",
            "evaluation_episodes",
            "bc_steps",
            "bc_validate_every",
        ):
            _positive_int(f"{where}.{name}", getattr(self, name))
        for name in ("batch_size", "iterations", "num_envs", "stop_window"):
            _positive_int(f"{where}.expert.{name}", getattr(self.expert, name))
        for width in self.expert.hidden_sizes:
            _positive_int(f"{where}.expert.hidden_sizes", width)
        if self.expert.trainer not in EXPERT_TRAINERS:
            raise ConfigError(
                f"{where}.expert.trainer: expected one of {', '.join(EXPERT_TRAINERS)}, "
                f"got {self.expert.trainer!r}"
            )


def parse_tasks(config: Mapping[str, Any]) -> dict[str, TaskSpec]:
    """Parse the ``tasks:`` mapping of the parameters into validated specs, in config order."""
    if not isinstance(config, Mapping) or not config:
        raise ConfigError("tasks: expected a non-empty mapping of task name to settings")
    return {name: TaskSpec.from_config(name, cfg) for name, cfg in config.items()}


def check_env_id(env_id: str) -> None:
    """Fail with one clear message if ``env_id`` is not a registered Gymnasium environment."""
    if env_id in gym.registry:
        return
    close = difflib.get_close_matches(env_id, list(gym.registry), n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise ConfigError(f"env_id {env_id!r} is not a registered Gymnasium environment.{hint}")


def make_env(task: TaskSpec, render_mode: str | None = None) -> gym.Env:
    """Create the task's environment with its episode limit; only Box and Discrete actions."""
    check_env_id(task.env_id)
    kwargs = dict(task.env_kwargs)
    if task.max_episode_steps is not None:
        kwargs["max_episode_steps"] = task.max_episode_steps
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    route_mujoco_warnings()
    try:
        env = gym.make(task.env_id, **kwargs)
    except Exception as exc:  # missing extras (mujoco, box2d), bad kwargs ...
        raise ConfigError(f"tasks.{task.name}: gymnasium.make({task.env_id!r}) failed: {exc}") from exc
    if not isinstance(env.action_space, gym.spaces.Box | gym.spaces.Discrete):
        env.close()
        raise ConfigError(
            f"tasks.{task.name}: {task.env_id} has action space {env.action_space}; "
            "only Box and Discrete action spaces are supported"
        )
    if not isinstance(env.observation_space, gym.spaces.Box) or len(env.observation_space.shape) != 1:
        env.close()
        raise ConfigError(
            f"tasks.{task.name}: {task.env_id} has observation space {env.observation_space}; "
            "only flat Box observations are supported"
        )
    return env


def _reject_unknown(where: str, config: Mapping[str, Any], known: set[str]) -> None:
    for key in config:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{where}.{key}: unknown setting{hint}; known: {', '.join(sorted(known))}")


def _positive_int(where: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{where}: expected a positive integer, got {value!r}")
