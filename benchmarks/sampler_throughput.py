"""Sampler throughput: env steps per second with the policy in the loop, against bare env.step.

    python benchmarks/sampler_throughput.py --output benchmarks/results/sampler_throughput.md

"bare" steps one environment with random actions (drawn with ``action_space.sample()`` before
the clock starts) and resets it when an episode ends: the simulator's own speed plus Gymnasium's
wrappers, on one core. "simulator alone" (MuJoCo envs) replays the same actions and resets with
MuJoCo's ``mj_step`` only (plus ``mj_rnePostConstraint`` where the env's observation needs the
contact forces: Ant, Humanoid): the work no sampler can skip, the ceiling for one core.
"sampler" is ``RolloutSampler.sample`` with a 2×100 tanh policy (the learners' network,
stochastic actions), batches of whole trajectories — everything a training iteration's sampling
does — with ``--num-envs`` environments stepped:

- on one core: in this process (``inprocess``), or by the env's own vectorised code (``native``,
  where Gymnasium has one, e.g. CartPole); for the MuJoCo envs that
  :mod:`gail_pipeline.rl.mujoco_batch` covers, also with each env's own ``step`` instead
  (``batched_physics=False``), to show what the batched results are worth;
- by 1 and by 2 stepping processes (``workers``), each running the stepping loop, policy included,
  on its share of the environments.

Each figure is the best of ``--repeats`` timed batches of ``--steps`` steps, after a warm-up; the
configurations of a task take turns (one batch each per round), so that a drift in the machine's
speed does not favour one of them.
"""

from __future__ import annotations

import argparse
import time
from functools import partial
from pathlib import Path

import mujoco
import numpy as np
import torch
from common import header, write_report
from gymnasium.envs.mujoco.ant_v5 import AntEnv
from gymnasium.envs.mujoco.humanoid_v5 import HumanoidEnv
from gymnasium.envs.mujoco.mujoco_env import MujocoEnv

from gail_pipeline.config_loader import parameters_from_conf
from gail_pipeline.imitation import ImitationSettings
from gail_pipeline.rl.policies import make_policy
from gail_pipeline.rl.sampler import RolloutSampler
from gail_pipeline.tasks import make_env, parse_tasks

ALL_TASKS = [
    "cartpole",
    "acrobot",
    "mountaincar",
    "reacher",
    "hopper",
    "halfcheetah",
    "walker",
    "ant",
    "humanoid",
]


def bare_steps_per_second(task, steps: int) -> tuple[float, list, set[int]]:
    """Steps per second of the bare loop, with its actions and the steps where episodes ended."""
    env = make_env(task)
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(steps)]
    ends = set()
    start = time.perf_counter()
    for k, action in enumerate(actions):
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            ends.add(k)
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed, actions, ends


def simulator_steps_per_second(task, actions: list, ends: set[int]) -> float | None:
    """The bare loop's actions and resets (``ends``) with the simulation only (None: not a
    MuJoCo env)."""
    env = make_env(task)
    unwrapped = env.unwrapped
    if not isinstance(unwrapped, MujocoEnv):
        env.close()
        return None
    env.reset(seed=0)  # (the bare loop's start: the same states follow from the same actions)
    model, data, frame_skip = unwrapped.model, unwrapped.data, unwrapped.frame_skip
    contact_forces = isinstance(unwrapped, AntEnv | HumanoidEnv)
    start = time.perf_counter()
    for k, action in enumerate(actions):
        data.ctrl[:] = action
        mujoco.mj_step(model, data, nstep=frame_skip)
        if contact_forces:
            mujoco.mj_rnePostConstraint(model, data)
        if k in ends:
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return len(actions) / elapsed


def timed_batch(sampler: RolloutSampler, policy, steps: int) -> float:
    start = time.perf_counter()
    trajectories = sampler.sample(policy, min_steps=steps)
    return sum(len(t) for t in trajectories) / (time.perf_counter() - start)


def measure(task, args) -> dict:
    """Every figure of one task's row; the configurations take turns, one timed batch each per
    round, so a machine whose speed drifts slows them alike (the best round of each counts)."""
    row = {"task": task.name, "env_id": task.env_id}
    probe_env = make_env(task)
    horizon = probe_env.spec.max_episode_steps or 1000
    probe_env.close()
    num_envs = args.num_envs or ImitationSettings().envs_for(task.batch_size, horizon)
    row["num_envs"] = num_envs
    probe = RolloutSampler(partial(make_env, task), 1, seed=0, backend="auto", num_workers=1)
    native = probe.backend == "NativeVectorEnvs"
    batched = getattr(probe.envs, "batched_physics", False)
    probe.close()
    row["single_backend"] = "native" if native else "inprocess"
    configurations = {"single": {"backend": row["single_backend"], "num_workers": 1}}
    if batched:
        configurations["single_own_step"] = {
            "backend": "inprocess",
            "num_workers": 1,
            "batched_physics": False,
        }
    if not native:
        for workers in (1, 2):
            configurations[f"workers{workers}"] = {"backend": "workers", "num_workers": workers}
    samplers = {}
    try:
        for name, settings in configurations.items():
            samplers[name] = RolloutSampler(partial(make_env, task), num_envs, seed=0, **settings)
        torch.manual_seed(0)
        policy = make_policy(
            samplers["single"].observation_space, samplers["single"].action_space, (100, 100)
        )
        for sampler in samplers.values():
            sampler.sample(policy, min_steps=min(args.steps, 2000))  # warm-up
        rounds = {name: [] for name in ["bare", "simulator", *samplers]}
        for _ in range(args.repeats):
            bare, actions, ends = bare_steps_per_second(task, args.steps)
            rounds["bare"].append(bare)
            rounds["simulator"].append(simulator_steps_per_second(task, actions, ends))
            for name, sampler in samplers.items():
                rounds[name].append(timed_batch(sampler, policy, args.steps))
    finally:
        for sampler in samplers.values():
            sampler.close()
    for name, figures in rounds.items():
        row[name] = None if figures[0] is None else max(figures)
    row.setdefault("single_own_step", None)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", nargs="+", default=ALL_TASKS)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument(
        "--num-envs",
        type=int,
        default=None,
        help="default: what imitation runs, ceil(batch / episode limit), at most 64",
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)

    tasks = parse_tasks(parameters_from_conf()["tasks"])
    rows = []
    for name in args.tasks:
        rows.append(measure(tasks[name], args))
        print(rows[-1], flush=True)

    lines = [
        *header("Sampler throughput (env steps per second)", "sampler_throughput.py"),
        (
            f"- {args.steps} steps per timed batch, best of {args.repeats} "
            "rounds (the configurations take turns); envs side by side: "
            f"{args.num_envs or 'as imitation runs them (ceil(batch / episode limit), at most 64)'}; "
            "policy: 2×100 tanh, stochastic actions, acting in numpy"
        ),
        "- per core: the sampler in one process against bare `env.step` with random actions on one core,",
        "  and against the simulator alone (MuJoCo's `mj_step` with the same actions and resets: the",
        '  ceiling); "own step": the same sampler with each env\'s own `step` instead of the batched',
        "  MuJoCo results (`batched_physics=False`);",
        "  across processes: the `workers` backend with 1 and 2 stepping processes (each runs the whole",
        "  stepping loop on its share of the envs, the trainer's process one of them; 1 = the trainer alone,",
        "  through the same code path)",
        "",
        "| task | env | envs | simulator alone, 1 core | bare env.step, "
        "1 core | sampler, 1 core (backend) | sampler, 1 core, own step "
        "| per-core ratio (sampler / bare) | sampler / simulator | 1 "
        "worker | 2 workers | 2 workers / 1 worker | 2 workers / bare |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        one, two = r.get("workers1"), r.get("workers2")
        sim, own = r["simulator"], r["single_own_step"]
        cells = [
            r["task"],
            r["env_id"],
            str(r["num_envs"]),
            f"{sim:,.0f}" if sim else "–",
            f"{r['bare']:,.0f}",
            f"{r['single']:,.0f} ({r['single_backend']})",
            f"{own:,.0f}" if own else "–",
            f"**{r['single'] / r['bare']:.0%}**",
            f"{r['single'] / sim:.0%}" if sim else "–",
            f"{one:,.0f}" if one else "–",
            f"{two:,.0f}" if two else "–",
            f"**{two / one:.2f}×**" if one else "–",
            f"{two / r['bare']:.2f}×" if two else "–",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        (
            "Native vectorised envs run every env in one numpy call, so they are not split over workers "
            '("–"); their per-core figure can exceed the bare single-env rate.'
        ),
    ]
    write_report(lines, args.output)
    return np.mean([r["single"] / r["bare"] for r in rows])


if __name__ == "__main__":
    main()
