"""Variants of GAIL beside the paper's: env steps to reach a normalised score.

    python benchmarks/gail_warm_start.py --tasks cartpole acrobot --size 1 --seeds 0 1 2 \
        --output benchmarks/results/gail_warm_start.md
    python benchmarks/gail_warm_start.py --tasks cartpole --variants plain gradient_penalty \
        --output benchmarks/results/gail_gradient_penalty_cartpole.md

Variants: ``plain`` (the paper's GAIL), ``bc_warm_start`` (the policy starts from the BC
solution), ``gradient_penalty`` (a gradient penalty of weight ``--gradient-penalty`` on the
discriminator).

Uses the latest expert reference returns (else the shipped expert's manifest) and demonstration
datasets of the project in the current directory, loaded through its catalog (``data_root``
included; run the demonstrations pipeline first), and the paper's imitation settings (conf/paper;
the recipe's are measured by gail_to_expert.py). A run stops when the mean true return of an
iteration's (stochastic) training rollouts first reaches the target normalised score, or after the
task's iteration budget. BC's own updates use no env steps.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
import torch
from common import header, write_report

from gail_pipeline.catalog import project_context
from gail_pipeline.imitation import ImitationSettings, train_imitation
from gail_pipeline.rl.device import auto_update_threads
from gail_pipeline.tasks import parse_tasks

VARIANT_NAMES = {
    "plain": "plain GAIL",
    "bc_warm_start": "BC warm start",
    "gradient_penalty": "gradient penalty",
}


def run(
    catalog,
    task,
    size: int,
    seed: int,
    variant: str,
    target: float,
    params: dict,
    gradient_penalty: float,
    max_env_steps: int | None = None,
) -> dict:
    # The latest measured reference returns, else the shipped expert's manifest (the catalog's fallback).
    reference = catalog.load(f"{task.name}.reference_returns")
    expert, random = reference["expert_return_mean"], reference["random_return_mean"]
    demos = catalog.load(f"{task.name}.demonstrations_n{size}")
    settings = ImitationSettings.parse(params)
    gail = dataclasses.replace(
        settings.gail,
        bc_warm_start=variant == "bc_warm_start",
        gradient_penalty=gradient_penalty
        if variant == "gradient_penalty"
        else settings.gail.gradient_penalty,
    )
    settings = dataclasses.replace(settings, gail=gail, checkpoint_dir=None)

    def score(row: dict) -> float:
        return (row["return_mean"] - random) / (expert - random)

    def stop(curve: list[dict]) -> bool:
        over_budget = max_env_steps is not None and curve[-1]["env_steps"] >= max_env_steps
        return score(curve[-1]) >= target or over_budget

    start = time.perf_counter()
    curve = train_imitation(task, "gail", demos, seed=seed, settings=settings, stop=stop).curve
    reached = next((row for row in curve if score(row) >= target), None)
    score_last = score(curve[-1])
    return {
        "task": task.name,
        "size": size,
        "seed": seed,
        "variant": variant,
        "iterations": reached["iteration"] if reached else None,
        "env_steps": reached["env_steps"] if reached else None,
        "wall_s": time.perf_counter() - start,
        "wall_to_target_s": reached["wall_time"] if reached else None,
        "score_last": score_last,
        "budget_env_steps": curve[-1]["env_steps"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", nargs="+", default=["cartpole", "acrobot"])
    parser.add_argument("--size", type=int, default=1)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument(
        "--variants", nargs="+", choices=list(VARIANT_NAMES), default=["plain", "bc_warm_start"]
    )
    parser.add_argument("--gradient-penalty", type=float, default=10.0)
    parser.add_argument(
        "--max-env-steps", type=int, default=None, help="stop a run after this many env steps"
    )
    parser.add_argument(
        "--batch-size", type=int, default=None, help="env steps per iteration (default: the task's)"
    )
    parser.add_argument(
        "--trpo",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="TRPO overrides, e.g. max_kl=0.02 value_fit=adam",
    )
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)  # BC pre-training; the GAIL loop sets its own (imitation.update_threads)
    context = project_context()  # the project in the current directory: its datasets
    catalog = context.catalog
    # The paper's settings (conf/paper), which the variants change one at a time; the paper env's
    # grid and labels play no part here.
    params = project_context(env="paper").config_loader["parameters"]
    for override in args.trpo:
        key, value = override.split("=", 1)
        params["imitation"].setdefault("trpo", {})[key] = value if key == "value_fit" else float(value)
    if args.batch_size:
        for task_config in params["tasks"].values():
            task_config["batch_size"] = args.batch_size
    tasks = parse_tasks(params["tasks"])
    rows = []
    for name in args.tasks:
        for seed in args.seeds:
            for variant in args.variants:
                row = run(
                    catalog,
                    tasks[name],
                    args.size,
                    seed,
                    variant,
                    args.target,
                    params["imitation"],
                    args.gradient_penalty,
                    args.max_env_steps,
                )
                print(row, flush=True)
                rows.append(row)

    def fmt(values):
        done = [v for v in values if v is not None]
        if len(done) < len(values):
            return (
                f"{np.mean(done):,.0f} ({len(values) - len(done)} of {len(values)} never reached)"
                if done
                else "never reached"
            )
        return f"{np.mean(done):,.0f}"

    names = [VARIANT_NAMES[v] for v in args.variants]
    lines = [
        *header(
            f"GAIL variants ({', '.join(names)}): env steps to a normalised score of {args.target}",
            "gail_warm_start.py",
        ),
        f"- {args.size} expert trajectory(ies), seeds {args.seeds}; score of the mean true return of an",
        "  iteration's stochastic training rollouts; budget: the task's iterations × batch",
        (
            f"- GAIL updates on {params['imitation'].get('update_threads', 'auto')} torch threads "
            f"(auto: {auto_update_threads(1)} here, in the main process)"
        ),
    ]
    if "gradient_penalty" in args.variants:
        lines.append(f"- gradient penalty weight {args.gradient_penalty}")
    if args.batch_size or args.trpo:
        lines.append(
            "- beyond the paper's settings: batch "
            f"{args.batch_size or 'task default'}, TRPO {args.trpo or 'paper'}"
        )
    if args.max_env_steps:
        lines.append(f"- each run stops at the target or after {args.max_env_steps:,} env steps")
    lines += [
        "",
        "| task | variant | env steps to target (mean over seeds) | iterations | wall time to target (s) |",
        "|---|---|---|---|---|",
    ]
    for name in args.tasks:
        for variant in args.variants:
            sel = [r for r in rows if r["task"] == name and r["variant"] == variant]
            lines.append(
                f"| {name} | {VARIANT_NAMES[variant]} | {fmt([r['env_steps'] for r in sel])} "
                f"| {fmt([r['iterations'] for r in sel])} | {fmt([r['wall_to_target_s'] for r in sel])} |"
            )
    lines += [
        "",
        "Per run:",
        "",
        "| task | seed | variant | iterations to target | env steps to "
        "target | score at the end | run's env steps | run's wall time (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['task']} | {r['seed']} | {r['variant']} | {r['iterations']} | {r['env_steps']} "
            f"| {r['score_last']:.3f} | {r['budget_env_steps']:,} | {r['wall_s']:.0f} |"
        )
    write_report(lines, args.output)


if __name__ == "__main__":
    main()
