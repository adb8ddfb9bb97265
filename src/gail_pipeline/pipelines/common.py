"""Helpers shared by the pipeline definitions."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any


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
