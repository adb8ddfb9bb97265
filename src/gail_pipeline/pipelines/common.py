"""Helpers shared by the pipeline definitions."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from gail_pipeline.config import ConfigError


class _Bound:
    """``func`` with one keyword argument bound. Unlike ``functools.partial`` it keeps the
    function's name through pickling (node names in logs and Kedro-Viz, ParallelRunner workers)."""

    keyword: str

    def __init__(self, func: Callable[..., Any], value: Any) -> None:
        self.func = func
        self.value = value
        self.__name__ = func.__name__
        self.__qualname__ = func.__qualname__
        self.__doc__ = func.__doc__
        self.__module__ = func.__module__
        signature = inspect.signature(func)
        self.__signature__ = signature.replace(
            parameters=[p for p in signature.parameters.values() if p.name != self.keyword]
        )

    def __call__(self, *args: Any) -> Any:
        return self.func(*args, **{self.keyword: self.value})


class TaskBound(_Bound):
    """``func(..., task_name=…)``."""

    keyword = "task_name"


class UnitBound(_Bound):
    """``func(..., unit=…)`` for the nodes of one imitation unit."""

    keyword = "unit"


def bind_task(func: Callable[..., Any], task_name: str) -> TaskBound:
    return TaskBound(func, task_name)


def check_trained_on(policy: Any, task: Any) -> None:
    """Refuse a policy whose metadata names another environment than the task's."""
    env_id = policy.metadata.get("env_id")
    if env_id is not None and env_id != task.env_id:
        where = policy.metadata.get("path", "the policy")
        raise ConfigError(f"{where}: trained on {env_id!r}, but task {task.name!r} is {task.env_id!r}")


def seed_parameter(params: dict[str, Any], where: str) -> int:
    """The ``seed`` of a stage's section (:class:`gail_pipeline.parameters.StageSettings`)."""
    from gail_pipeline.config import parse_settings
    from gail_pipeline.parameters import StageSettings

    return parse_settings(StageSettings, params, where.rsplit(".", 1)[0]).seed
