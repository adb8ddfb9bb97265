"""GAIL's configurations side by side in one grid (``grid.gail_configs``).

- ``recipe``: the run's own ``imitation`` settings (conf/base's recipe, conf/mujoco's, or
  whatever the run's env and ``--params`` make them);
- ``paper``: the paper's exact settings — every learning setting of
  :class:`~gail_pipeline.imitation.ImitationSettings` at its default (the defaults are the paper's)
  and the task's ``paper_batch_size`` — for as many env steps as the recipe; where it runs
  (sampler, device, threads, checkpoints) and how often the curve evaluates the policy are the
  run's, since they do not change the training;
- ``frozen_d``: the recipe with the discriminator's learning rate 0 (its initialisation kept
  throughout), the control that shows what the reward's form alone buys (under the recipe's
  ``neutral_init`` nothing: every reward is 0 and the policy stays where it started, so the
  control scores the start — the untrained policy, or BC's where the recipe starts from BC).

Other configs are named in the parameters' ``gail_config_settings`` (name → imitation settings
merged over the recipe's, e.g. ``entropy_1e3: {gail: {causal_entropy: 0.001}}``). FEM, GTAL and
BC have no config: they run with the run's settings.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from gail_pipeline.config import parse_settings
from gail_pipeline.imitation.train import ImitationSettings
from gail_pipeline.runtime import RuntimeSettings
from gail_pipeline.tasks import ConfigError, TaskSpec

__all__ = [
    "FROZEN_D",
    "GAIL_CONFIGS",
    "PAPER",
    "RECIPE",
    "config_causal_entropy",
    "config_iterations",
    "config_settings",
    "config_task",
    "defined_configs",
    "unit_settings",
]

RECIPE, PAPER, FROZEN_D = "recipe", "paper", "frozen_d"
GAIL_CONFIGS = (RECIPE, PAPER, FROZEN_D)


_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def defined_configs(params: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The parameters' ``gail_config_settings``, checked: GAIL configs beyond the built-in ones,
    each a name (lowercase letters, digits, ``_``) and the imitation settings it merges over the
    recipe's."""
    defined = params.get("gail_config_settings") or {}
    if not isinstance(defined, Mapping):
        raise ConfigError(
            f"gail_config_settings: expected a mapping name → imitation settings, got {defined!r}"
        )
    for name, settings in defined.items():
        where = f"gail_config_settings.{name}"
        if name in GAIL_CONFIGS or not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(
                f"{where}: a config's name is lowercase letters, digits and _, "
                f"and not one of {list(GAIL_CONFIGS)}"
            )
        if not isinstance(settings, Mapping) or not settings:
            raise ConfigError(f"{where}: expected a mapping of imitation settings, got {settings!r}")
    return dict(defined)


def _check(config: str) -> None:
    if config not in GAIL_CONFIGS:
        raise ConfigError(f"GAIL config {config!r}: expected one of {', '.join(GAIL_CONFIGS)}")


def config_settings(settings: ImitationSettings, config: str) -> ImitationSettings:
    """The imitation settings GAIL runs with under ``config``, from the run's ``settings``."""
    _check(config)
    if config == RECIPE:
        return settings
    if config == FROZEN_D:
        return dataclasses.replace(settings, gail=dataclasses.replace(settings.gail, learning_rate=0.0))
    kept = [f.name for f in dataclasses.fields(RuntimeSettings)] + ["eval_every", "eval_episodes"]
    return dataclasses.replace(ImitationSettings(), **{name: getattr(settings, name) for name in kept})


def _merged(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def unit_settings(
    imitation: Mapping[str, Any] | None,
    task: TaskSpec,
    config: str = RECIPE,
    config_params: Mapping[str, Any] | None = None,
) -> ImitationSettings:
    """The settings a unit of ``task`` trains with: the run's ``imitation`` section with the task's
    own ``imitation`` merged over it key by key, then ``config``'s changes: a built-in config's, or
    a named config's settings (``config_params``, from ``gail_config_settings``) merged over."""
    where = f"tasks.{task.name}.imitation" if task.imitation else "imitation"
    merged = _merged(imitation or {}, task.imitation)
    if config not in GAIL_CONFIGS:
        if config_params is None:
            raise ConfigError(f"GAIL config {config!r}: not built in, and no gail_config_settings.{config}")
        merged, where = _merged(merged, config_params), f"gail_config_settings.{config}"
        config = RECIPE
    return config_settings(parse_settings(ImitationSettings, merged, where), config)


def config_task(task: TaskSpec, config: str) -> TaskSpec:
    """The task as a GAIL unit under ``config`` runs it: ``paper`` at the task's
    ``paper_batch_size``; the others unchanged."""
    if config != PAPER or task.paper_batch_size is None:
        return task
    return dataclasses.replace(task, batch_size=task.paper_batch_size)


def config_iterations(task: TaskSpec, config: str, iterations: int) -> int:
    """The iterations of a GAIL unit under ``config`` for the recipe's ``iterations`` of ``task``:
    as many env steps (rounded up to whole iterations) at the config's batch size."""
    batch = config_task(task, config).batch_size
    return -(-task.batch_size * iterations // batch)


def config_causal_entropy(params: Mapping[str, Any]) -> dict[str, float]:
    """The causal-entropy weight λ each GAIL config trains with at the run's level (its
    ``imitation`` section; a task's own ``imitation`` may differ): the built-in configs' and those
    named in ``gail_config_settings``. For results saved before units recorded their λ."""
    imitation = params.get("imitation") or {}
    run = parse_settings(ImitationSettings, imitation, "imitation")
    weights = {RECIPE: run.gail.causal_entropy, FROZEN_D: run.gail.causal_entropy}
    weights[PAPER] = ImitationSettings().gail.causal_entropy
    for name, settings in defined_configs(params).items():
        merged = parse_settings(
            ImitationSettings, _merged(imitation, settings), f"gail_config_settings.{name}"
        )
        weights[name] = merged.gail.causal_entropy
    return weights
