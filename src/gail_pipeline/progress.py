"""Progress of long training loops on the terminal.

A rich progress bar (iteration, env steps, current return, elapsed and remaining time) when the
output is a terminal and this is the main process; nothing otherwise (CI logs, files, and
ParallelRunner's worker processes, whose bars would overwrite each other — their nodes log a line
every ``log_every`` iterations instead).
"""

from __future__ import annotations

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

__all__ = ["progress_enabled", "training_progress"]


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
