"""Progress of long training loops on the terminal.

A rich progress bar (iteration, env steps, current return, elapsed and remaining time) when the
output is a terminal and this is the main process; nothing otherwise (CI logs, files, and
ParallelRunner's worker processes, whose bars would overwrite each other — their nodes log a line
every ``log_every`` iterations instead).
"""

from __future__ import annotations

import logging
import multiprocessing
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["progress_enabled", "training_progress", "training_report"]


def progress_enabled() -> bool:
    return sys.stderr.isatty() and multiprocessing.parent_process() is None


@contextmanager
def training_progress(
    description: str, total: int, start: int = 0, enabled: bool | None = None
) -> Iterator[Callable[[dict[str, float]], None]]:
    """Yields ``update(row)`` to call with each learning-curve row (``iteration``, ``env_steps``,
    ``return_mean``)."""
    if not (progress_enabled() if enabled is None else enabled):
        yield lambda row: None
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("steps {task.fields[steps]:,}  return {task.fields[ret]}"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task(description, total=total, completed=start, steps=0, ret="–")

        def update(row: dict[str, float]) -> None:
            progress.update(
                task,
                completed=row["iteration"],
                steps=int(row["env_steps"]),
                ret=f"{row['return_mean']:.1f}",
            )

        yield update


@contextmanager
def training_report(
    where: str, total: int, log_every: int, logger: logging.Logger
) -> Iterator[Callable[[dict[str, float]], None]]:
    """Yields ``report(row)`` for a training loop's ``on_iteration``: a log line every ``log_every``
    iterations and at the last (``<where>: iter i/N  steps …  return mean ± std  kl …  time``),
    and the progress bar of :func:`training_progress`."""
    with training_progress(where, total) as show:

        def report(row: dict[str, float]) -> None:
            if row["iteration"] % log_every == 0 or row["iteration"] == total:
                kl = f"  kl {row['policy_kl']:.4f}" if "policy_kl" in row else ""
                logger.info(
                    "%s: iter %d/%d  steps %d  return %.1f ± %.1f%s  %.0fs",
                    where,
                    row["iteration"],
                    total,
                    row["env_steps"],
                    row["return_mean"],
                    row["return_std"],
                    kl,
                    row["wall_time"],
                )
            show(row)

        yield report
