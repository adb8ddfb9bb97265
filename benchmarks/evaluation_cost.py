"""What one evaluation during training costs, per sampler backend: starting the environments,
sampling ``--episodes`` deterministic episodes of the shipped expert, closing them.

    python benchmarks/evaluation_cost.py --tasks hopper ant humanoid --episodes 10 --repeats 3

Training evaluates its policy every ``eval_every`` iterations (10 episodes: the benchmark's and
conf/base's protocol). ``workers`` starts worker processes for each evaluation and stops them after
it; ``inprocess`` steps the same environments in this process. Both give the same returns (the
report checks it); the times are medians over ``--repeats``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from common import header, write_report

from gail_pipeline.config_loader import parameters_from_conf
from gail_pipeline.rl.policies import load_policy
from gail_pipeline.rl.sampler import RolloutSampler, episode_returns
from gail_pipeline.tasks import TaskSpec, make_env

PROJECT = Path(__file__).resolve().parents[1]
BACKENDS = ("workers", "inprocess")


def one_evaluation(
    task: TaskSpec, policy, episodes: int, backend: str
) -> tuple[dict[str, float], np.ndarray]:
    """(start, sample, close, total seconds; steps) of one evaluation, and its returns."""
    started = time.perf_counter()
    sampler = RolloutSampler(partial(make_env, task), min(10, episodes), 50_000, backend)
    ready = time.perf_counter()
    trajectories = sampler.sample(policy, num_episodes=episodes, deterministic=True)
    sampled = time.perf_counter()
    sampler.close()
    closed = time.perf_counter()
    times = {
        "start": ready - started,
        "sample": sampled - ready,
        "close": closed - sampled,
        "total": closed - started,
        "steps": float(sum(len(t) for t in trajectories)),
    }
    return times, episode_returns(trajectories)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=["hopper", "ant", "humanoid"])
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=PROJECT / "benchmarks/results/evaluation_cost.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    params = parameters_from_conf("mujoco")
    lines = header("One evaluation during training: worker processes or this process", "evaluation_cost.py")
    lines += [
        f"- load average at the start (1 min): {os.getloadavg()[0]:.1f} (other processes on the cores "
        "slow both backends)",
        f"- {args.episodes} deterministic episodes of each task's shipped expert, median of "
        f"{args.repeats} (the backends alternate); seconds",
        "",
        "| task | backend | env steps | start | sample | close | total | same returns |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in args.tasks:
        task = TaskSpec.from_config(name, params["tasks"][name])
        policy = load_policy(PROJECT / "data/01_raw/experts" / f"{name}.pt")
        runs: dict[str, list[dict[str, float]]] = {b: [] for b in BACKENDS}
        returns: dict[str, np.ndarray] = {}
        for _ in range(args.repeats):
            for backend in BACKENDS:
                times, returns[backend] = one_evaluation(task, policy, args.episodes, backend)
                runs[backend].append(times)
        same = bool(np.array_equal(returns["workers"], returns["inprocess"]))
        for backend in BACKENDS:
            median = {k: statistics.median(r[k] for r in runs[backend]) for k in runs[backend][0]}
            lines.append(
                f"| {name} | {backend} | {median['steps']:,.0f} | {median['start']:.2f} | "
                f"{median['sample']:.2f} | {median['close']:.2f} | {median['total']:.2f} | "
                f"{'yes' if same else 'NO'} |"
            )
    write_report(lines, args.output)


if __name__ == "__main__":
    main()
