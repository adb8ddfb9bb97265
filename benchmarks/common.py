"""What every benchmark report states: when, on what machine, by which command."""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys
from pathlib import Path

import torch


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def header(title: str, script: str) -> list[str]:
    """The report's first lines: title, date, machine, command."""
    return [
        f"# {title}",
        "",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {cpu_model()}; "
        f"Python {platform.python_version()}, torch {torch.__version__} ({torch.get_num_threads()} thread)",
        f"- command: `python benchmarks/{script} {' '.join(sys.argv[1:])}`",
    ]


def write_report(lines: list[str], output: Path | None) -> None:
    text = "\n".join(lines) + "\n"
    print(text)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
