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


def check_trained_on(policy: Any, task: Any) -> None:
    """Refuse a policy whose metadata names another environment than the task's."""
    from gail_pipeline.tasks import ConfigError

    env_id = policy.metadata.get("env_id")
    if env_id is not None and env_id != task.env_id:
        where = policy.metadata.get("path", "the policy")
        raise ConfigError(f"{where}: trained on {env_id!r}, but task {task.name!r} is {task.env_id!r}")


def seed_parameter(params: dict[str, Any], where: str) -> int:
    """``params["seed"]`` (default 0), checked to be a non-negative integer."""
    from gail_pipeline.tasks import ConfigError

    seed = params.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"{where}: expected a non-negative integer, got {seed!r}")
    return seed


def sampler_settings(params: dict[str, Any], where: str) -> dict[str, Any]:
    """``params["sampler"]`` (``backend``, ``num_workers``), checked, as the keyword arguments
    ``sampler_backend`` and ``num_workers`` of the training functions."""
    from gail_pipeline.rl.vector import BACKENDS
    from gail_pipeline.tasks import ConfigError

    settings = dict(params.get("sampler") or {})
    unknown = set(settings) - {"backend", "num_workers"}
    if unknown:
        raise ConfigError(
            f"{where}.sampler: unknown setting(s) {sorted(unknown)}; known: backend, num_workers"
        )
    backend = settings.get("backend", "auto")
    if backend not in BACKENDS:
        raise ConfigError(f"{where}.sampler.backend: expected one of {', '.join(BACKENDS)}, got {backend!r}")
    workers = settings.get("num_workers")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ConfigError(
            f"{where}.sampler.num_workers: expected a positive integer or null, got {workers!r}"
        )
    return {"sampler_backend": backend, "num_workers": workers}


def update_threads_setting(params: dict[str, Any], where: str) -> int | None:
    """``params["update_threads"]``: a positive integer, or ``auto`` (default) → None
    (:func:`gail_pipeline.rl.device.auto_update_threads`)."""
    from gail_pipeline.tasks import ConfigError

    value = params.get("update_threads", "auto")
    if value == "auto":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where}.update_threads: expected a positive integer or 'auto', got {value!r}")
    return value


def num_envs_setting(value: Any, batch_size: int, horizon: int, where: str) -> int:
    """``num_envs``: a positive integer, or ``auto`` = ceil(batch / episode limit), between 1 and
    64 — enough envs that a batch of full-length episodes is one episode per env (no overshoot
    of the batch size), few enough to keep the batch's whole-trajectory overshoot small."""
    from gail_pipeline.tasks import ConfigError

    if value == "auto":
        return max(1, min(64, -(-int(batch_size) // max(int(horizon), 1))))
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where}: expected a positive integer or 'auto', got {value!r}")
    return value


def device_setting(params: dict[str, Any], where: str) -> Any:
    """``params["device"]`` (auto | cpu | cuda | cuda:N, default auto) as a ``torch.device``."""
    from gail_pipeline.rl.device import resolve_device
    from gail_pipeline.tasks import ConfigError

    try:
        return resolve_device(params.get("device", "auto"), f"{where}.device")
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
