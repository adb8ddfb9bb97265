"""Sampler throughput: env steps per second with the policy in the loop, against bare env.step.

    python benchmarks/sampler_throughput.py --tasks hopper cartpole --output benchmarks/results/sampler_throughput.md

"bare" steps one environment with random actions (``action_space.sample()``) and resets it when
an episode ends: the simulator's own speed plus Gymnasium's wrappers, on one core.
"policy" is ``RolloutSampler.sample`` with a 2×100 tanh policy (the learners' network, stochastic
actions), ``num_envs`` environments in one process, batches of whole trajectories — everything a
training iteration's sampling does. Each figure is the best of ``--repeats`` timed runs.
"""

from __future__ import annotations

import argparse
import time
from functools import partial
from pathlib import Path

import torch
from common import header, write_report

from gail_pipeline.grid import _parameters_from_conf
from gail_pipeline.rl.policies import make_policy
from gail_pipeline.rl.sampler import RolloutSampler
from gail_pipeline.tasks import make_env, parse_tasks


def bare_steps_per_second(task, steps: int) -> float:
    env = make_env(task)
    env.reset(seed=0)
    env.action_space.seed(0)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def sampler_steps_per_second(task, steps: int, num_envs: int) -> float:
    sampler = RolloutSampler(partial(make_env, task), num_envs, seed=0)
    torch.manual_seed(0)
    policy = make_policy(sampler.observation_space, sampler.action_space, (100, 100))
    sampler.sample(policy, min_steps=min(steps, 2000))  # warm-up
    start = time.perf_counter()
    trajectories = sampler.sample(policy, min_steps=steps)
    elapsed = time.perf_counter() - start
    sampler.close()
    return sum(len(t) for t in trajectories) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["hopper", "cartpole"])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--num-envs", type=int, nargs="+", default=[1, 8, 16])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)  # one core: the figure is per core

    tasks = parse_tasks(_parameters_from_conf()["tasks"])
    rows = []
    for name in args.tasks:
        task = tasks[name]
        bare = max(bare_steps_per_second(task, args.steps) for _ in range(args.repeats))
        row = {"task": name, "env_id": task.env_id, "bare": bare}
        for n in args.num_envs:
            row[n] = max(sampler_steps_per_second(task, args.steps, n) for _ in range(args.repeats))
        rows.append(row)
        print(row, flush=True)

    table_header = "| task | env | bare env.step (random actions) | " + " | ".join(
        f"sampler, {n} env{'s' if n > 1 else ''} (policy)" for n in args.num_envs
    ) + " |"
    lines = [
        *header("Sampler throughput (env steps per second, one core)", "sampler_throughput.py"),
        f"- {args.steps} steps per timed run, best of {args.repeats}; policy: 2×100 tanh, stochastic actions",
        "",
        table_header,
        "|" + "---|" * (3 + len(args.num_envs)),
    ]
    for row in rows:
        cells = [f"{row[n]:,.0f} ({row[n] / row['bare']:.0%})" for n in args.num_envs]
        lines.append(f"| {row['task']} | {row['env_id']} | {row['bare']:,.0f} | " + " | ".join(cells) + " |")
    write_report(lines, args.output)


if __name__ == "__main__":
    main()
