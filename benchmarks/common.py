"""What every benchmark report states: when, on what machine, by which command."""

from __future__ import annotations

import datetime as dt
import platform
import sys
from pathlib import Path

import torch

from gail_pipeline.experts import machine_description


def header(title: str, script: str, arguments: list[str] | None = None) -> list[str]:
    """The report's first lines: title, date, machine, command (``arguments``: the command's
    arguments as the report should show them; the process's own by default)."""
    arguments = sys.argv[1:] if arguments is None else arguments
    return [
        f"# {title}",
        "",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        (
            f"- machine: {machine_description()}; Python {platform.python_version()}, "
            f"torch {torch.__version__}"
        ),
        f"- command: `python benchmarks/{script} {' '.join(arguments)}`",
    ]


def write_report(lines: list[str], output: Path | None) -> None:
    text = "\n".join(lines) + "\n"
    print(text)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
