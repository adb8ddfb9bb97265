"""A grid's progress, read from the catalog while the grid runs (for days, continued with
``--only-missing-outputs``):

    .venv/bin/python -m gail_pipeline.grid_status --env appendix_b \\
        --output docs/results/appendix_b_progress.md

The grid's own reports (the reporting stage, then ``--pipelines publish``) need every unit. This
writes what there is so far, labelled with what is missing: per task and unit label, how many
units are evaluated, trained but not yet evaluated, and not trained, out of those the grid wants;
the cells with at least one evaluated seed beside the paper's, by the reporting stage's own
comparison (on the seeds evaluated so far: the ``seeds`` column); and the units still missing,
cell by cell. It only reads: nothing is trained or saved.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from gail_pipeline.grid import Unit, units
from gail_pipeline.pipelines.evaluation.nodes import build_results_table
from gail_pipeline.pipelines.reporting.nodes import paper_comparison

__all__ = ["EVALUATED", "NOT_TRAINED", "TRAINED", "progress_table", "status_markdown", "unit_states"]

EVALUATED, TRAINED, NOT_TRAINED = "evaluated", "trained, not evaluated", "not trained (or in training)"
STATES = (EVALUATED, TRAINED, NOT_TRAINED)


def unit_states(grid_units: Iterable[Unit], exists: Callable[[str], bool]) -> list[tuple[Unit, str]]:
    """Each unit with its state, from the datasets the catalog holds (``exists``: the catalog's):
    its policy and its evaluation saved, its policy only, or no policy (a unit in training has only
    its checkpoint; an evaluation whose policy is gone is trained again by ``--only-missing-outputs``)."""
    states = []
    for unit in grid_units:
        if not exists(f"{unit.namespace}.policy"):
            states.append((unit, NOT_TRAINED))
        elif exists(f"{unit.namespace}.evaluation"):
            states.append((unit, EVALUATED))
        else:
            states.append((unit, TRAINED))
    return states


TRAINING_HOURS = "training hours so far"


def progress_table(
    states: Sequence[tuple[Unit, str]], wall_times: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """Per task and unit label (in the grid's order): the units the grid wants, how many are in
    each state, and the training wall time of those trained (``wall_times``: seconds by unit
    namespace, from their learning curves; BC's curve has none)."""
    wall_times = wall_times or {}
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for unit, state in states:
        row = rows.setdefault(
            (unit.task.name, unit.label),
            {
                "task": unit.task.name,
                "unit": unit.label,
                "wanted": 0,
                **dict.fromkeys(STATES, 0),
                "hours": 0.0,
            },
        )
        row["wanted"] += 1
        row[state] += 1
        row["hours"] += wall_times.get(unit.namespace, 0.0) / 3600
    table = pd.DataFrame(list(rows.values()), columns=["task", "unit", "wanted", *STATES, "hours"])
    return table.rename(columns={"hours": TRAINING_HOURS}).round({TRAINING_HOURS: 2})


def _missing_lines(states: Sequence[tuple[Unit, str]]) -> list[str]:
    """The units not evaluated, one line per cell (task, unit label, dataset size): their seeds and
    whether they await their evaluation or their training."""
    cells: dict[tuple[str, str, int], dict[str, list[int]]] = {}
    for unit, state in states:
        if state != EVALUATED:
            cell = cells.setdefault((unit.task.name, unit.label, unit.dataset_size), {})
            cell.setdefault(state, []).append(unit.seed)
    return [
        f"- {task} {label} n{size}: "
        + "; ".join(
            f"{state} seeds {', '.join(map(str, sorted(seeds)))}" for state, seeds in by_state.items()
        )
        for (task, label, size), by_state in cells.items()
    ]


def _markdown_table(table: pd.DataFrame) -> list[str]:
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(str(value) for value in row) + " |" for row in table.itertuples(index=False)]
    return lines


def status_markdown(
    states: Sequence[tuple[Unit, str]],
    comparison_markdown: str | None,
    header: Sequence[str] = (),
    wall_times: Mapping[str, float] | None = None,
) -> str:
    """The progress report: totals, the per-task table, the comparison so far, the missing units."""
    if not states:
        return "\n".join([*header, "", "The grid has no units: its parameters select none."]) + "\n"
    table = progress_table(states, wall_times)
    done = int(table[EVALUATED].sum())
    totals = (
        f"{done} of {len(states)} units evaluated, {int(table[TRAINED].sum())} trained and awaiting "
        f"their evaluation, {int(table[NOT_TRAINED].sum())} {NOT_TRAINED}. Training "
        f"wall time of the trained units: {table[TRAINING_HOURS].sum():.1f} hours (their learning "
        "curves' own, on whatever machine and cores they ran; BC's and the evaluations' not counted)."
    )
    missing = _missing_lines(states)
    lines = [
        *header,
        "",
        totals,
        "",
        *_markdown_table(table),
        "",
        "## The cells so far, beside the paper's",
        "",
        "Over the seeds evaluated so far (`seeds`); a cell's later seeds may move it.",
        "",
        comparison_markdown.strip() if comparison_markdown else "No unit evaluated yet.",
        "",
        "## Still missing",
        "",
        *(missing or ["Nothing: the grid is complete (`--pipelines reporting`, then `publish`)."]),
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", default=None, help="the conf env whose grid to read (as kedro run --env)")
    parser.add_argument(
        "--params",
        default=None,
        help='parameters over the env\'s, as kedro run --params takes them ("grid.tasks=hopper")',
    )
    parser.add_argument("--output", type=Path, default=None, help="a Markdown file (default: print)")
    args = parser.parse_args(argv)

    from omegaconf import OmegaConf

    from gail_pipeline.catalog import project_context

    # "a.b=1,c=x" as kedro run's --params reads it: dotted keys into nested mappings
    items = [item.strip() for item in (args.params or "").split(",") if item.strip()]
    runtime = OmegaConf.to_container(OmegaConf.from_dotlist(items)) if items else None
    context = project_context(env=args.env, params=runtime)
    catalog, params = context.catalog, context.params
    states = unit_states(units(params), catalog.exists)
    evaluated = [unit for unit, state in states if state == EVALUATED]
    wall_times = {}
    for unit, state in states:
        if state != NOT_TRAINED and unit.algorithm != "bc":
            curve = catalog.load(f"{unit.namespace}.learning_curve")
            if "wall_time" in curve and len(curve):
                wall_times[unit.namespace] = float(curve["wall_time"].iloc[-1])
    comparison = None
    if evaluated:
        results = build_results_table(*(catalog.load(f"{unit.namespace}.evaluation") for unit in evaluated))
        comparison = paper_comparison(
            results, catalog.load("paper_results"), catalog.load("paper_expert_random"), params
        )[1]
    command = "python -m gail_pipeline.grid_status" + "".join(
        f" --{name} {value}" for name, value in (("env", args.env), ("params", args.params)) if value
    )
    header = [
        f"# Progress of the grid of `--env {args.env or os.environ.get('KEDRO_ENV', 'local')}`",
        "",
        f"- written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `{command}`, from the catalog",
    ]
    report = status_markdown(states, comparison, header, wall_times)
    if args.output is None:
        print(report)
        return
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    print(f"{args.output}: {len(evaluated)} of {len(states)} units evaluated")


if __name__ == "__main__":
    main()
