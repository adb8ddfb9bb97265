"""Which tasks the pipelines are built for: ``grid.tasks`` of the parameters.

The registry needs the configuration to build one namespaced pipeline per task. During a
``kedro run`` the :class:`~gail_pipeline.hooks.GridConfigHook` supplies the run's parameters
(its ``--env`` and ``--params`` applied); outside a session (``kedro registry list``, tests) the
parameters are read from ``conf/`` with the env of ``KEDRO_ENV`` (default ``local``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gail_pipeline.tasks import ConfigError, TaskSpec, parse_tasks

__all__ = ["selected_tasks", "set_active_parameters"]

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


def _parameters_from_conf() -> dict[str, Any]:
    from kedro.config import OmegaConfigLoader

    from gail_pipeline import settings

    conf_source = Path.cwd() / "conf"
    if not conf_source.is_dir():
        conf_source = Path(__file__).resolve().parents[2] / "conf"
    loader = OmegaConfigLoader(
        conf_source=str(conf_source),
        env=os.environ.get("KEDRO_ENV"),
        **settings.CONFIG_LOADER_ARGS,
    )
    return dict(loader["parameters"])


def selected_tasks(params: Mapping[str, Any] | None = None) -> list[TaskSpec]:
    """The validated specs of the tasks listed in ``grid.tasks``, in that order."""
    if params is None:
        params = _active_parameters if _active_parameters is not None else _parameters_from_conf()
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
