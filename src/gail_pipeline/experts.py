"""The experts: how one is trained (:func:`train_expert`), and the ones shipped with the project.

:func:`train_expert` trains a task's expert by TRPO (or PPO, ``tasks.<name>.expert.trainer``) on
the true reward, resumably, from :class:`ExpertSettings` (the ``expert`` section of the
parameters) and the task's ``expert`` budget.

The shipped experts are ``data/01_raw/experts/<task>.pt`` and their manifests.

A new user can run the demonstrations and imitation stages at once: the catalog loads a shipped
expert (and its measured returns) wherever the expert stage has not saved one yet. The manifest
``<task>.json`` holds the reference returns the evaluation stage needs (the expert's and the
uniform random policy's returns over 50 episodes) and how the expert was made: env id, trainer,
seed, iterations, env steps, wall time, machine, and the version it was shipped from.

Ship the latest trained experts with::

    python -m gail_pipeline.experts cartpole acrobot mountaincar hopper
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym

from gail_pipeline import __version__
from gail_pipeline.config import parse_settings, settings_dict
from gail_pipeline.rl.policies import load_policy
from gail_pipeline.rl.ppo import PPOConfig
from gail_pipeline.rl.shaping import shaped_rewards
from gail_pipeline.rl.training import TrainingResult, train_trpo
from gail_pipeline.rl.trpo import TRPOConfig
from gail_pipeline.runtime import RuntimeSettings
from gail_pipeline.tasks import TaskSpec, make_env

__all__ = [
    "SHIPPED_DIR",
    "ExpertSettings",
    "latest_version",
    "machine_description",
    "ship_expert",
    "train_expert",
]

SHIPPED_DIR = Path("data/01_raw/experts")


@dataclass(frozen=True)
class ExpertSettings(RuntimeSettings):
    """The ``expert`` section of the parameters: the settings every task's expert shares (a task's
    ``expert.trpo`` / ``expert.ppo`` in tasks.yml override them), and where it trains."""

    seed: int = 0
    """Seeds the expert's networks, sampler and environments."""
    trpo: TRPOConfig = field(default_factory=TRPOConfig)
    """TRPO's settings (the paper's by default); their discount, GAE and value-function settings
    serve PPO too."""
    ppo: PPOConfig = field(default_factory=PPOConfig)
    """PPO's policy step, for tasks whose ``expert.trainer`` is ``ppo``."""
    log_every: int = 10
    """A log line every this many iterations (and at the last)."""

    def checks(self) -> dict[str, Any]:
        return {**super().checks(), "seed": (self.seed >= 0, "a non-negative integer")}

    @classmethod
    def parse(cls, values: Any, where: str = "expert") -> ExpertSettings:
        """The parameters' ``expert`` section, checked (:func:`gail_pipeline.config.parse_settings`)."""
        return parse_settings(cls, values, where)

    def for_task(self, task: TaskSpec) -> tuple[TRPOConfig, PPOConfig | None]:
        """The TRPO settings with the task's ``expert.trpo`` applied, and PPO's (with its
        ``expert.ppo``) when the task's trainer is PPO."""
        where = f"tasks.{task.name}.expert"
        trpo = parse_settings(TRPOConfig, {**settings_dict(self.trpo), **task.expert.trpo}, f"{where}.trpo")
        if task.expert.trainer != "ppo":
            return trpo, None
        return trpo, parse_settings(PPOConfig, {**settings_dict(self.ppo), **task.expert.ppo}, f"{where}.ppo")


def train_expert(
    task: TaskSpec,
    settings: ExpertSettings | None = None,
    *,
    make_env_fn: Callable[[], gym.Env] | None = None,
    on_iteration: Callable[[dict[str, float]], None] | None = None,
) -> TrainingResult:
    """Train ``task``'s expert on the true reward with the task's ``expert`` budget; resumes from
    ``settings.checkpoint_dir`` (``<dir>/<task>/expert_seed<seed>.pt``) when a run of the same
    settings left one. The policy's ``metadata`` records env, trainer, seed, budget, final
    training return and the machine."""
    settings = ExpertSettings.parse(settings if settings is not None else ExpertSettings())
    trpo, ppo = settings.for_task(task)
    make = make_env_fn or partial(make_env, task)
    probe = make()
    horizon = probe.spec.max_episode_steps if probe.spec and probe.spec.max_episode_steps else 1000
    probe.close()
    checkpoint = None
    if settings.checkpoint_dir:
        checkpoint = Path(settings.checkpoint_dir) / task.name / f"expert_seed{settings.seed}.pt"
    shaping = None
    if task.expert.reward_shaping:
        shaping = partial(shaped_rewards, potential=task.expert.reward_shaping)
    started = time.time()
    result = train_trpo(
        make,
        iterations=task.expert.iterations,
        batch_size=task.expert.batch_size,
        seed=settings.seed,
        config=trpo,
        hidden_sizes=task.expert.hidden_sizes,
        num_envs=task.expert.num_envs,
        **settings.sampler_kwargs(),
        device=settings.torch_device("expert"),
        update_threads=settings.threads(),
        max_episode_steps=horizon,
        stop_at_return=task.expert.stop_at_return,
        stop_window=task.expert.stop_window,
        reward_shaping=shaping,
        checkpoint_path=checkpoint,
        checkpoint_every=settings.checkpoint_every,
        checkpoint_key=json.dumps(
            {
                "env_id": task.env_id,
                "env_kwargs": dict(task.env_kwargs),
                "shaping": task.expert.reward_shaping,
            },
            sort_keys=True,
        ),
        on_iteration=on_iteration,
        ppo=ppo,
    )
    last = result.curve[-1]
    result.policy.metadata = {
        "task": task.name,
        "env_id": task.env_id,
        "max_episode_steps": horizon,
        "trainer": task.expert.trainer,
        "seed": settings.seed,
        "iterations": int(last["iteration"]),
        "env_steps": int(last["env_steps"]),
        "wall_time_s": float(last["wall_time"]),
        "final_training_return": float(last["return_mean"]),
        "resumed_from_iteration": result.resumed_from_iteration,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(started)),
        "gail_pipeline_version": __version__,
        "machine": machine_description(),
    }
    return result


def machine_description() -> str:
    """CPU model and core count, e.g. for manifests and benchmark reports."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores, {model}"


def latest_version(path: Path) -> Path:
    """The newest saved version of a versioned dataset path (``<path>/<version>/<name>``)."""
    versions = sorted(p for p in path.iterdir() if p.is_dir()) if path.is_dir() else []
    if not versions:
        raise FileNotFoundError(f"{path}: no saved version yet; run the pipeline that writes it first")
    return versions[-1] / path.name


def ship_expert(task: str, data_dir: Path = Path("data"), target_dir: Path | None = None) -> dict[str, Any]:
    """Copy the latest expert of ``task`` and write its manifest; returns the manifest."""
    target_dir = target_dir or data_dir / "01_raw" / "experts"
    policy_path = latest_version(data_dir / "06_models" / task / "expert_policy.pt")
    returns_path = latest_version(data_dir / "08_reporting" / task / "reference_returns.json")
    policy = load_policy(policy_path)
    returns = json.loads(returns_path.read_text())
    version = policy_path.parent.name
    if returns.get("expert_version") not in (None, version):
        raise ValueError(
            f"{returns_path} measured expert {returns.get('expert_version')}, the latest expert is "
            f"{version}: run the expert stage's measure_reference_returns node first"
        )
    meta = policy.metadata
    manifest = {
        "task": task,
        "env_id": meta.get("env_id", returns.get("env_id")),
        "return_mean": returns["expert_return_mean"],
        "return_std": returns["expert_return_std"],
        "episodes": returns["episodes"],
        "deterministic": True,
        "trainer": meta.get("trainer", "trpo"),
        "seed": meta.get("seed"),
        "iterations": meta.get("iterations"),
        "env_steps": meta.get("env_steps"),
        "wall_time_s": meta.get("wall_time_s"),
        "trained": meta.get("created"),
        "machine": meta.get("machine", machine_description()),
        "shipped_from_version": version,
        "gail_pipeline_version": meta.get("gail_pipeline_version"),
        # The reference returns, as the expert stage writes them (the evaluation stage reads these).
        **returns,
    }
    target_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(policy_path, target_dir / f"{task}.pt")
    (target_dir / f"{task}.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Ship the latest trained experts with the project.")
    parser.add_argument("tasks", nargs="+")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    args = parser.parse_args(argv)
    for task in args.tasks:
        manifest = ship_expert(task, args.data_dir)
        print(
            f"{task}: {manifest['env_id']} {manifest['return_mean']:.2f} ± {manifest['return_std']:.2f} "
            f"over {manifest['episodes']} episodes ({manifest['trainer']}, {manifest['env_steps']} env steps)"
        )


if __name__ == "__main__":
    main()
