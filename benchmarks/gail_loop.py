"""The whole GAIL training loop: env steps per wall second, where an iteration's time goes, memory.

    python benchmarks/gail_loop.py --tasks cartpole hopper --iterations 20 \
        --output benchmarks/results/gail_loop.md

Runs the imitation stage's own node function (``train_learner``, the code ``kedro run`` runs) for
one GAIL unit per task on the latest demonstrations of ``--size`` trajectories (default: 4, or
the task's smallest dataset where it has no 4-trajectory one: Humanoid's 80), with the
task's batch size and the imitation parameters of the project in the current directory (conf's,
for ``KEDRO_ENV`` or local; sampler settings included; override with ``--backend``,
``--num-workers``, ``--num-envs``). The demonstrations are loaded through the project's catalog
(``data_root`` included), in a process of their own, and handed to the unit's process: no
process measured starts a Kedro session. Each task runs in its own process, so the
peak memory figures are per unit: the training process's peak resident set, and the largest
environment worker's (when the sampler uses worker processes).

Reports: env steps per second over the timed iterations (the first ``--warmup`` iterations, which
include worker start-up, are excluded), and the mean wall time per iteration of each phase:
sampling, reward (discriminator forward, its graph kept for the update), advantages (value
forward + GAE; for GAIL also, after its update, the discriminator's forward for the value fit's
rewards + GAE again), TRPO step, reward update (one discriminator step), value fit.

And what the updates' arithmetic allows: a second, short run of the same unit
(``--flop-iterations`` iterations, 0 to skip) under torch's ``FlopCounterMode`` counts the
matrix-product FLOPs of an iteration (every ``mm`` / ``addmm`` of the training process: the
networks' forward and backward passes, the Fisher-vector products; acting is numpy in the
stepping processes), and this machine's rate on the updates' dominant product (a 4,096-row chunk
through a 100 × 100 layer, best of 200, on the updates' threads) turns that count into a floor:
the least time the updates could take if every one of their products ran at that rate and
nothing else took time, and so the least share of an iteration they could have beside the
sampling measured.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
from pathlib import Path
from queue import Empty

import numpy as np
from common import header, write_report

PHASES = ["sample", "reward", "advantages", "policy_step", "reward_update", "value_fit"]


def dataset_size(task: dict, size: int | None) -> int:
    """``size`` if given, else 4 where the task has 4-trajectory datasets, else its smallest."""
    if size is not None:
        return size
    sizes = task.get("dataset_sizes") or [4]
    return 4 if 4 in sizes else min(sizes)


def matrix_product_rate(threads: int, rows: int, width: int = 100, repeats: int = 200) -> float:
    """GFLOP/s of ``addmm`` on a ``rows × width`` chunk through a ``width × width`` layer with
    bias, the best of ``repeats`` calls on ``threads`` torch threads."""
    import time

    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        x, weight, bias = torch.randn(rows, width), torch.randn(width, width), torch.randn(width)
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            torch.addmm(bias, x, weight.t())
            best = min(best, time.perf_counter() - start)
    finally:
        torch.set_num_threads(previous)
    return 2 * rows * width * width / best / 1e9


def update_flops(demos, task: dict, imitation: dict, unit, iterations: int) -> float:
    """Matrix-product FLOPs per iteration of the training process (``FlopCounterMode``) over a
    fresh run of ``iterations`` iterations of ``unit``."""
    from dataclasses import replace

    from torch.utils.flop_counter import FlopCounterMode

    from gail_pipeline.pipelines.imitation.nodes import train_learner

    counter = FlopCounterMode(display=False)
    with counter:  # (no checkpoints: nothing of the timed run is resumed or written)
        train_learner(
            demos, task, {**imitation, "checkpoint_dir": None}, unit=replace(unit, iterations=iterations)
        )
    return counter.get_total_flops() / iterations


def load_unit_inputs(task_name: str, size: int | None, queue) -> None:
    """``(size, demonstrations, parameters)`` of a task's unit, loaded through the catalog of the
    project in the current directory, put on ``queue``. In a process of its own: a process's peak
    memory starts from its parent's at the fork, so the Kedro session (some 200 MB of modules)
    stays out of the main process and of the units' figures."""
    from kedro.io import DatasetError

    from gail_pipeline.catalog import project_context

    project = project_context()
    params = project.config_loader["parameters"]
    size = dataset_size(params["tasks"][task_name], size)
    try:
        demos = project.catalog.load(f"{task_name}.demonstrations_n{size}")
    except DatasetError as exc:
        raise SystemExit(f"{exc} (run the demonstrations pipeline for this task first)") from exc
    queue.put((size, demos, params))


def receive(context, target, args: tuple, what: str):
    """What ``target(*args, queue)``, run in a process of its own, puts on its queue."""
    queue = context.Queue()
    proc = context.Process(target=target, args=(*args, queue))
    proc.start()
    while True:
        try:
            result = queue.get(timeout=5)
            break
        except Empty:
            if not proc.is_alive():  # it said why on stderr
                raise SystemExit(f"{what} exited (code {proc.exitcode}) before reporting") from None
    proc.join()
    return result


def run_unit(task_name: str, size: int, demos, params: dict, args: dict, queue) -> None:
    import torch

    torch.set_num_threads(1)  # as the nodes' hook sets it; the training loop sets its own count
    from gail_pipeline.imitation import ImitationSettings
    from gail_pipeline.pipelines.imitation.nodes import UnitSpec, train_learner
    from gail_pipeline.tasks import make_env, parse_tasks

    imitation = dict(params["imitation"])
    sampler = dict(imitation.get("sampler") or {})
    if args["backend"]:
        sampler["backend"] = args["backend"]
    if args["num_workers"]:
        sampler["num_workers"] = args["num_workers"]
    imitation["sampler"] = sampler
    if args["num_envs"]:
        imitation["num_envs"] = args["num_envs"]
    task = parse_tasks(params["tasks"])[task_name]
    env = make_env(task)
    horizon = env.spec.max_episode_steps if env.spec and env.spec.max_episode_steps else 1000
    env.close()
    num_envs = ImitationSettings.parse(imitation).envs_for(task.batch_size, horizon)  # "auto" resolved
    # This process is a child: say what a unit alone in `kedro run` (SequentialRunner) would use.
    from gail_pipeline.rl.device import available_cpus

    imitation["update_threads"] = args["update_threads"] or available_cpus()
    imitation["log_every"] = 10**9
    unit = UnitSpec(task_name, "gail", size, 0, args["iterations"])
    _, curve = train_learner(demos, params["tasks"][task_name], imitation, unit=unit)
    timed = curve.iloc[args["warmup"] :]
    wall = float(curve["wall_time"].iloc[-1] - curve["wall_time"].iloc[args["warmup"] - 1])
    steps = float(timed["env_steps"].iloc[-1] - curve["env_steps"].iloc[args["warmup"] - 1])
    phases = {p: float(timed[f"time_{p}"].mean()) for p in PHASES if f"time_{p}" in timed}
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the count's run
    worker_peak_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    flops = rate = None
    if args["flop_iterations"]:
        from gail_pipeline.rl.policies import CHUNK_ROWS

        flops = update_flops(demos, params["tasks"][task_name], imitation, unit, args["flop_iterations"])
        rate = matrix_product_rate(imitation["update_threads"], CHUNK_ROWS)
    updates_s = sum(phases.values()) - phases.get("sample", 0)
    queue.put(
        {
            "task": task_name,
            "size": size,
            "batch_steps": float(curve["env_steps"].diff().iloc[args["warmup"] :].mean()),
            "steps_per_s": steps / wall,
            "iteration_s": wall / len(timed),
            "phases": phases,
            "updates_s": updates_s,
            "peak_rss_mb": peak_rss_mb,
            "worker_peak_rss_mb": worker_peak_rss_mb,
            "sampler": sampler,
            "num_envs": num_envs,
            "update_threads": imitation["update_threads"],
            "return_last": float(curve["return_mean"].iloc[-1]),
            "update_gflop": None if flops is None else flops / 1e9,
            "matrix_gflop_per_s": rate,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", nargs="+", default=["cartpole", "hopper"])
    parser.add_argument(
        "--size",
        type=int,
        default=None,
        help="expert trajectories (default: 4, or the task's smallest dataset size where it has no 4)",
    )
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--backend", default=None)
    parser.add_argument("--num-workers", type=int, default=None)
    parser.add_argument("--num-envs", type=int, default=None)
    parser.add_argument(
        "--update-threads",
        type=int,
        default=None,
        help="torch threads for the updates (default: all CPUs, as for a unit alone in `kedro run`)",
    )
    parser.add_argument(
        "--flop-iterations",
        type=int,
        default=2,
        help="iterations of the second run that counts the updates' FLOPs (0: no count, no floor)",
    )
    parser.add_argument("--output", type=Path)
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args()
    if args.iterations <= args.warmup:
        parser.error("--iterations must exceed --warmup")
    rows = []
    context = mp.get_context("spawn")
    for name in args.tasks:
        size, demos, params = receive(
            context, load_unit_inputs, (name, args.size), f"{name}: loading its inputs"
        )
        row = receive(context, run_unit, (name, size, demos, params, vars(args)), f"{name}: the unit")
        del demos
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))

    lines = [
        *header("The GAIL training loop: throughput, time split, memory", "gail_loop.py"),
        (
            "- one GAIL unit per task on the expert trajectories given, the task's batch size, "
            f"{args.iterations} iterations of which the first {args.warmup} are not timed; "
            f"updates on {rows[0]['update_threads']} torch thread(s) (what `imitation.update_threads: auto` "
            "gives a unit training alone), acting in numpy"
        ),
        "",
        "| task | expert trajectories | sampler | batch (env steps) | s / iteration | "
        "**env steps / s** | peak memory, trainer (MB) | peak memory, one env worker (MB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        sampler = f"{r['sampler'].get('backend', 'auto')}, {r['num_envs']} envs"
        if r["sampler"].get("num_workers"):
            sampler += f", {r['sampler']['num_workers']} workers"
        worker = f"{r['worker_peak_rss_mb']:.0f}" if r["worker_peak_rss_mb"] > 0 else "–"
        lines.append(
            f"| {r['task']} | {r['size']} | {sampler} | {r['batch_steps']:,.0f} | {r['iteration_s']:.3f} | "
            f"**{r['steps_per_s']:,.0f}** | {r['peak_rss_mb']:.0f} | {worker} |"
        )
    lines += [
        "",
        "Mean wall time per iteration by phase (share of the iteration):",
        "",
        "| task | " + " | ".join(PHASES) + " | updates (all but sampling) |",
        "|---|" + "---|" * (len(PHASES) + 1),
    ]
    for r in rows:
        total = sum(r["phases"].values())
        cells = [
            f"{r['phases'].get(p, 0) * 1000:.1f} ms ({r['phases'].get(p, 0) / total:.0%})" for p in PHASES
        ]
        lines.append(f"| {r['task']} | " + " | ".join(cells) + f" | {r['updates_s'] / total:.0%} |")
    counted = [r for r in rows if r["update_gflop"] is not None]
    if counted:
        from gail_pipeline.rl.policies import CHUNK_ROWS

        lines += [
            "",
            (
                "The updates' arithmetic against this machine's "
                "matrix-product rate (FLOPs counted over "
                f"{args.flop_iterations} iterations of a second "
                f"run; rate: a {CHUNK_ROWS:,} × 100 by 100 × 100 "
                f"`addmm`, best of 200, on {rows[0]['update_threads']} thread(s)). The floor is the time the "
                "counted products would take at that rate, with nothing else taking time; the least share is "
                "that floor beside the sampling time above:"
            ),
            "",
            "| task | matrix GFLOP / iteration | updates, measured | achieved "
            "GFLOP/s | rate GFLOP/s | floor | least updates' share |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in counted:
            updates = r["updates_s"]
            floor = r["update_gflop"] / r["matrix_gflop_per_s"]
            least = floor / (floor + r["phases"].get("sample", 0))
            lines.append(
                f"| {r['task']} | {r['update_gflop']:.1f} | {updates * 1000:.0f} ms | "
                f"{r['update_gflop'] / updates:.0f} | "
                f"{r['matrix_gflop_per_s']:.0f} | {floor * 1000:.0f} ms | "
                f"{least:.0%} |"
            )
    write_report(lines, args.output)
    return np.mean([r["steps_per_s"] for r in rows])


if __name__ == "__main__":
    main()
