"""Helpers shared by the pipeline definitions."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any


class TaskBound:
    """``func`` with ``task_name=`` bound. Unlike ``functools.partial`` it keeps the function's
    name through pickling (node names in logs and Kedro-Viz, ParallelRunner's worker processes)."""

    def __init__(self, func: Callable[..., Any], task_name: str) -> None:
        self.func = func
        self.task_name = task_name
        self.__name__ = func.__name__
        self.__qualname__ = func.__qualname__
        self.__doc__ = func.__doc__
        self.__module__ = func.__module__
        signature = inspect.signature(func)
        self.__signature__ = signature.replace(
            parameters=[p for p in signature.parameters.values() if p.name != "task_name"]
        )

    def __call__(self, *args: Any) -> Any:
        return self.func(*args, task_name=self.task_name)


def bind_task(func: Callable[..., Any], task_name: str) -> TaskBound:
    return TaskBound(func, task_name)
