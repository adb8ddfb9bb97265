"""Which tasks the pipelines are built for: ``grid.tasks`` of the parameters.

The registry needs the configuration to build one namespaced pipeline per task. During a
``kedro run`` the :class:`~gail_pipeline.hooks.GridConfigHook` supplies the run's parameters
(its ``--env`` and ``--params`` applied); outside a session (``kedro registry list``, tests) the
parameters are read from ``conf/`` with the env of ``KEDRO_ENV`` (default ``local``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gail_pipeline.config_loader import parameters_from_conf
from gail_pipeline.tasks import ConfigError, TaskSpec, parse_tasks

__all__ = ["ALGORITHMS", "Unit", "active_parameters", "selected_tasks", "set_active_parameters", "units"]

ALGORITHMS = ("bc", "fem", "gtal", "gail")


@dataclass(frozen=True)
class Unit:
    """One imitation training unit of the grid."""

    task: TaskSpec
    algorithm: str
    dataset_size: int
    seed: int
    iterations: int

    @property
    def namespace(self) -> str:
        return f"{self.task.name}.{self.algorithm}.n{self.dataset_size}.s{self.seed}"


_active_parameters: dict[str, Any] | None = None


def set_active_parameters(params: Mapping[str, Any]) -> None:
    """Record the run's parameters; the registry is rebuilt from them if they changed."""
    global _active_parameters
    params = dict(params)
    if params == _active_parameters:
        return
    _active_parameters = params
    from kedro.framework.project import pipelines

    pipelines.configure("gail_pipeline.pipeline_registry")


def active_parameters() -> dict[str, Any]:
    """The run's parameters (``--env`` and ``--params`` applied) during a ``kedro run``, else
    those of ``conf/`` for ``KEDRO_ENV``."""
    return dict(_active_parameters) if _active_parameters is not None else parameters_from_conf()


def selected_tasks(params: Mapping[str, Any] | None = None) -> list[TaskSpec]:
    """The validated specs of the tasks listed in ``grid.tasks``, in that order."""
    if params is None:
        params = active_parameters()
    tasks = parse_tasks(params.get("tasks", {}))
    names = (params.get("grid") or {}).get("tasks")
    if names is None:
        raise ConfigError("grid.tasks: missing; list the tasks to run, e.g. grid.tasks: [cartpole]")
    if isinstance(names, str):  # --params grid.tasks=cartpole+hopper (kedro splits --params on ",")
        names = [n for n in re.split(r"[+;,\s]+", names) if n]
    unknown = [n for n in names if n not in tasks]
    if unknown:
        raise ConfigError(f"grid.tasks: unknown task(s) {unknown}; defined: {sorted(tasks)}")
    if not names:
        raise ConfigError("grid.tasks: empty; list at least one task")
    return [tasks[n] for n in names]


def units(params: Mapping[str, Any] | None = None) -> list[Unit]:
    """The imitation units of the grid: task × algorithm × dataset size × seed.

    ``grid.algorithms`` (default: all four), ``grid.dataset_sizes`` (default: each task's own;
    ``extremes``: each task's smallest and largest; a list: the sizes each task also has),
    ``grid.seeds`` (how many, default: each task's
    ``seeds``) and ``grid.iterations`` (default: each task's ``iterations``) narrow it down;
    without ``grid.iterations``, ``grid.env_steps`` sets each unit's budget in env steps instead
    (iterations: env steps / the task's batch size, rounded up), the same for tasks whose batches
    differ.
    """
    if params is None:
        params = active_parameters()
    grid = params.get("grid") or {}
    algorithms = grid.get("algorithms", list(ALGORITHMS))
    if isinstance(algorithms, str):
        algorithms = [a for a in re.split(r"[+;,\s]+", algorithms) if a]
    unknown = [a for a in algorithms if a not in ALGORITHMS]
    if unknown:
        raise ConfigError(f"grid.algorithms: unknown algorithm(s) {unknown}; known: {list(ALGORITHMS)}")
    sizes_override = grid.get("dataset_sizes")
    seeds_override = grid.get("seeds")
    iterations_override = grid.get("iterations")
    env_steps = grid.get("env_steps")
    for key, value in (
        ("seeds", seeds_override),
        ("iterations", iterations_override),
        ("env_steps", env_steps),
    ):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ConfigError(f"grid.{key}: expected a positive integer or null, got {value!r}")
    result = []
    for task in selected_tasks(params):
        sizes = task.dataset_sizes
        if sizes_override == "extremes":
            sizes = tuple(sorted({min(task.dataset_sizes), max(task.dataset_sizes)}))
        elif isinstance(sizes_override, str):
            raise ConfigError(
                f"grid.dataset_sizes: expected null, 'extremes' or a list of sizes, got {sizes_override!r}"
            )
        elif sizes_override is not None:
            sizes = tuple(s for s in task.dataset_sizes if s in set(sizes_override))
            if not sizes:
                raise ConfigError(
                    f"grid.dataset_sizes: none of {list(sizes_override)} is a dataset size of "
                    f"task {task.name!r} ({list(task.dataset_sizes)})"
                )
        seeds = seeds_override or task.seeds
        iterations = iterations_override or task.iterations
        if not iterations_override and env_steps:
            iterations = -(-env_steps // task.batch_size)
        for algorithm in algorithms:
            for size in sizes:
                for seed in range(seeds):
                    result.append(Unit(task, algorithm, size, seed, iterations))
    return result
