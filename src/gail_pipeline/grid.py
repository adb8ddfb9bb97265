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
from gail_pipeline.imitation.configs import GAIL_CONFIGS, RECIPE, config_iterations, defined_configs
from gail_pipeline.tasks import ConfigError, TaskSpec, parse_tasks

__all__ = [
    "ALGORITHMS",
    "Unit",
    "active_parameters",
    "parse_label",
    "selected_tasks",
    "set_active_parameters",
    "unit_label",
    "units",
]

ALGORITHMS = ("bc", "fem", "gtal", "gail")


@dataclass(frozen=True)
class Unit:
    """One imitation training unit of the grid."""

    task: TaskSpec
    algorithm: str
    dataset_size: int
    seed: int
    iterations: int
    config: str = RECIPE
    """GAIL's configuration (:mod:`gail_pipeline.imitation.configs`); ``recipe`` for the others."""

    @property
    def label(self) -> str:
        """The algorithm and its config as one name: ``gail``, ``gail_paper``, ``gail_frozen_d``."""
        return unit_label(self.algorithm, self.config)

    @property
    def namespace(self) -> str:
        return f"{self.task.name}.{self.label}.n{self.dataset_size}.s{self.seed}"


def training_seed(seed: int, dataset_size: int) -> int:
    """The seed a unit trains with: units differ in seed even on one dataset (the benchmarks'
    runs take the same, so that a run and the grid unit of the same training share a checkpoint)."""
    return 1_000 * seed + dataset_size


def unit_label(algorithm: str, config: str = RECIPE) -> str:
    """``algorithm`` under ``config`` as a unit names it (the recipe: the algorithm alone)."""
    return algorithm if config == RECIPE else f"{algorithm}_{config}"


def parse_label(label: str) -> tuple[str, str]:
    """(algorithm, config) of a unit's label: ``gail_frozen_d`` → (``gail``, ``frozen_d``)."""
    algorithm, _, config = label.partition("_")
    return algorithm, config or RECIPE


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


def _sizes(task: TaskSpec, override: Any, where: str) -> tuple[int, ...]:
    """The task's dataset sizes that ``override`` selects (null: all; ``extremes``: the smallest
    and largest; a list: those the task also has)."""
    if override is None:
        return task.dataset_sizes
    if override == "extremes":
        return tuple(sorted({min(task.dataset_sizes), max(task.dataset_sizes)}))
    if isinstance(override, str) or not isinstance(override, (list, tuple)):
        raise ConfigError(f"{where}: expected null, 'extremes' or a list of sizes, got {override!r}")
    sizes = tuple(s for s in task.dataset_sizes if s in set(override))
    if not sizes:
        raise ConfigError(
            f"{where}: none of {list(override)} is a dataset size of task {task.name!r} "
            f"({list(task.dataset_sizes)})"
        )
    return sizes


_GRID_SIZES = object()  # a GAIL config at the grid's dataset sizes


def _gail_configs(
    grid: Mapping[str, Any], algorithms: list[str], params_tasks: Any, defined: Mapping[str, Any]
) -> dict[str, Any]:
    """``grid.gail_configs`` as {config: its sizes override}: null (the recipe alone), a list of
    configs (each at the grid's sizes), or a mapping config → sizes (null: the grid's sizes; a
    mapping task → sizes: those tasks only)."""
    declared = grid.get("gail_configs")
    if declared is None:
        return {RECIPE: _GRID_SIZES}
    if isinstance(declared, str):  # --params grid.gail_configs=recipe+frozen_d
        declared = [c for c in re.split(r"[+;,\s]+", declared) if c]
    if isinstance(declared, (list, tuple)):
        declared = {config: None for config in declared}
    if not isinstance(declared, Mapping) or not declared:
        raise ConfigError(
            "grid.gail_configs: expected a list of configs or a mapping config → dataset sizes, "
            f"got {declared!r}"
        )
    known_configs = [*GAIL_CONFIGS, *defined]
    unknown = [c for c in declared if c not in known_configs]
    if unknown:
        raise ConfigError(
            f"grid.gail_configs: unknown config(s) {unknown}; known: {known_configs} "
            "(gail_config_settings defines others)"
        )
    if "gail" not in algorithms:
        raise ConfigError("grid.gail_configs: GAIL is not among grid.algorithms")
    known = set(params_tasks)
    for config, sizes in declared.items():
        unknown = sorted(set(sizes) - known) if isinstance(sizes, Mapping) else []
        if unknown:
            raise ConfigError(
                f"grid.gail_configs.{config}: unknown task(s) {unknown}; defined: {sorted(known)}"
            )
    return {config: _GRID_SIZES if sizes is None else sizes for config, sizes in declared.items()}


def units(params: Mapping[str, Any] | None = None) -> list[Unit]:
    """The imitation units of the grid: task × algorithm (GAIL: × config) × dataset size × seed.

    ``grid.algorithms`` (default: all four), ``grid.dataset_sizes`` (default: each task's own;
    ``extremes``: each task's smallest and largest; a list: the sizes each task also has),
    ``grid.seeds`` (how many, default: each task's ``seeds``; a mapping algorithm → count sets
    them per algorithm, the others keeping the task's) and ``grid.iterations`` (default: each
    task's ``iterations``) narrow it down; without ``grid.iterations``, ``grid.env_steps`` sets
    each unit's budget in env steps instead (iterations: env steps / the task's batch size, rounded
    up), the same for tasks whose batches differ. ``grid.gail_configs`` runs GAIL under several
    configs (:mod:`gail_pipeline.imitation.configs`: ``recipe``, ``paper``, ``frozen_d``), each
    for the same env steps: a list (each at the grid's sizes) or a mapping config → sizes (as
    ``grid.dataset_sizes``; null: the grid's; a mapping task → sizes: on those tasks only).
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
    seeds_per_algorithm = seeds_override if isinstance(seeds_override, Mapping) else {}
    if seeds_per_algorithm:
        unknown = [a for a in seeds_per_algorithm if a not in ALGORITHMS]
        if unknown:
            raise ConfigError(f"grid.seeds: unknown algorithm(s) {unknown}; known: {list(ALGORITHMS)}")
        seeds_override = None
    checked = [
        ("seeds", seeds_override),
        ("iterations", iterations_override),
        ("env_steps", env_steps),
        *((f"seeds.{a}", n) for a, n in seeds_per_algorithm.items()),
    ]
    for key, value in checked:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ConfigError(f"grid.{key}: expected a positive integer or null, got {value!r}")
    gail_configs = _gail_configs(grid, algorithms, params.get("tasks") or {}, defined_configs(params))
    result = []
    for task in selected_tasks(params):
        sizes = _sizes(task, sizes_override, "grid.dataset_sizes")
        default_seeds = seeds_override or task.seeds
        iterations = iterations_override or task.iterations
        if not iterations_override and env_steps:
            iterations = -(-env_steps // task.batch_size)
        for algorithm in algorithms:
            configs = gail_configs if algorithm == "gail" else {RECIPE: _GRID_SIZES}
            for config, config_sizes in configs.items():
                where = f"grid.gail_configs.{config}"
                if isinstance(config_sizes, Mapping):  # per task; a task not listed: not run
                    if task.name not in config_sizes:
                        continue
                    where, config_sizes = f"{where}.{task.name}", config_sizes[task.name]
                    config_sizes = _GRID_SIZES if config_sizes is None else config_sizes
                if config_sizes is not _GRID_SIZES:
                    config_sizes = _sizes(task, config_sizes, where)
                steps = config_iterations(task, config, iterations)
                seeds = seeds_per_algorithm.get(algorithm) or default_seeds
                for size in sizes if config_sizes is _GRID_SIZES else config_sizes:
                    for seed in range(seeds):
                        result.append(Unit(task, algorithm, size, seed, steps, config))
    return result
