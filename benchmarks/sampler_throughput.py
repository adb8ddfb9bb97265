"""Sampler throughput: env steps per second with the policy in the loop, against bare env.step.

    python benchmarks/sampler_throughput.py --output benchmarks/results/sampler_throughput.md

"bare" steps one environment with random actions (drawn with ``action_space.sample()`` before
the clock starts) and resets it when an episode ends: the simulator's own speed plus Gymnasium's
wrappers, on one core.
"sampler" is ``RolloutSampler.sample`` with a 2×100 tanh policy (the learners' network,
stochastic actions), batches of whole trajectories — everything a training iteration's sampling
does — with ``--num-envs`` environments stepped:

- on one core: in this process (``inprocess``), or by the env's own vectorised code (``native``,
  where Gymnasium has one, e.g. CartPole);
- by 1 and by 2 stepping processes (``workers``), each running the stepping loop, policy included,
  on its share of the environments.

Each figure is the best of ``--repeats`` timed batches of ``--steps`` steps, after a warm-up.
"""

from __future__ import annotations

import argparse
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from common import header, write_report

from gail_pipeline.grid import _parameters_from_conf
from gail_pipeline.pipelines.common import num_envs_setting
from gail_pipeline.rl.policies import make_policy
from gail_pipeline.rl.sampler import RolloutSampler
from gail_pipeline.tasks import make_env, parse_tasks

ALL_TASKS = ["cartpole", "acrobot", "mountaincar", "reacher", "hopper", "halfcheetah", "walker", "ant", "humanoid"]


def bare_steps_per_second(task, steps: int) -> float:
    env = make_env(task)
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(steps)]
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def sampler_steps_per_second(task, steps: int, num_envs: int, backend: str, workers: int, repeats: int) -> float:
    sampler = RolloutSampler(partial(make_env, task), num_envs, seed=0, backend=backend, num_workers=workers)
    torch.manual_seed(0)
    policy = make_policy(sampler.observation_space, sampler.action_space, (100, 100))
    best = 0.0
    try:
        sampler.sample(policy, min_steps=min(steps, 2000))  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            trajectories = sampler.sample(policy, min_steps=steps)
            best = max(best, sum(len(t) for t in trajectories) / (time.perf_counter() - start))
    finally:
        sampler.close()
    return best


def measure(task, args) -> dict:
    row = {"task": task.name, "env_id": task.env_id}
    probe_env = make_env(task)
    horizon = probe_env.spec.max_episode_steps or 1000
    probe_env.close()
    num_envs = args.num_envs or num_envs_setting("auto", task.batch_size, horizon, "num_envs")
    row["num_envs"] = num_envs
    row["bare"] = max(bare_steps_per_second(task, args.steps) for _ in range(args.repeats))
    probe = RolloutSampler(partial(make_env, task), 1, seed=0, backend="auto", num_workers=1)
    native = probe.backend == "NativeVectorEnvs"
    probe.close()
    row["single_backend"] = "native" if native else "inprocess"
    row["single"] = sampler_steps_per_second(task, args.steps, num_envs, row["single_backend"], 1, args.repeats)
    if not native:
        for workers in (1, 2):
            row[f"workers{workers}"] = sampler_steps_per_second(
                task, args.steps, num_envs, "workers", workers, args.repeats
            )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=ALL_TASKS)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--num-envs", type=int, default=None,
                        help="default: what imitation runs, ceil(batch / episode limit), at most 64")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)

    tasks = parse_tasks(_parameters_from_conf()["tasks"])
    rows = []
    for name in args.tasks:
        rows.append(measure(tasks[name], args))
        print(rows[-1], flush=True)

    lines = [
        *header("Sampler throughput (env steps per second)", "sampler_throughput.py"),
        (
            f"- {args.steps} steps per timed batch, best of {args.repeats}; envs side by side: "
            f"{args.num_envs or 'as imitation runs them (ceil(batch / episode limit), at most 64)'}; "
            "policy: 2×100 tanh, stochastic actions, acting in numpy"
        ),
        "- per core: the sampler in one process against bare `env.step` with random actions on one core;",
        "  across processes: the `workers` backend with 1 and 2 stepping processes (each runs the whole",
        "  stepping loop on its share of the envs, the trainer's process one of them; 1 = the trainer alone,",
        "  through the same code path)",
        "",
        "| task | env | envs | bare env.step, 1 core | sampler, 1 core (backend) | per-core ratio | 1 worker | 2 workers | 2 workers / 1 worker | 2 workers / bare |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        one, two = r.get("workers1"), r.get("workers2")
        cells = [
            r["task"], r["env_id"], str(r["num_envs"]), f"{r['bare']:,.0f}", f"{r['single']:,.0f} ({r['single_backend']})",
            f"**{r['single'] / r['bare']:.0%}**",
            f"{one:,.0f}" if one else "–", f"{two:,.0f}" if two else "–",
            f"**{two / one:.2f}×**" if one else "–", f"{two / r['bare']:.2f}×" if two else "–",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        (
            "Native vectorised envs run every env in one numpy call, so they are not split over workers "
            "(\"–\"); their per-core figure can exceed the bare single-env rate."
        ),
    ]
    write_report(lines, args.output)
    return np.mean([r["single"] / r["bare"] for r in rows])


if __name__ == "__main__":
    main()
