"""Every benchmark, one command: ``make benchmark`` (or ``python benchmarks/run_all.py``).

Writes one report per benchmark under ``benchmarks/results/`` (or ``--results``), each stating the
date, the machine and its exact command:

(a) ``sampler_throughput.md`` — sampler steps/s per task against bare ``env.step`` and the
    simulator alone, 1 and 2 workers; ``evaluation_cost.md`` — one evaluation during training
    with worker processes or in the training's process;
(b, c, e) ``gail_loop.md`` — a whole GAIL training loop on CartPole and each MuJoCo task: env
    steps per wall second, the split of an iteration between sampling, reward, TRPO step, value
    fit and discriminator step, the peak memory of a unit, and the updates' matrix-product FLOPs
    against this machine's rate (the least time and share they could take);
(d) ``gail_to_0.9_mujoco.md`` — env steps and wall time for GAIL, plain and with BC warm start, to
    reach 0.9 normalised score with 4 trajectories on Hopper, HalfCheetah and Walker2d, with the
    paper's settings; ``gail_to_0.9_mujoco_batch10k.md`` the same with conf/mujoco's (10,000-step
    batches, Adam value fit). Older reports kept beside them, each naming its own command:
    ``gail_to_0.9_walker.md`` and ``gail_to_0.9_<task>_batch10k.md`` (one task at a time),
    ``gail_to_0.9_walker_batch10k_seeds12.md`` (seeds 1 and 2) and
    ``gail_to_0.9_halfcheetah_batch10k_gradient_penalty.md`` (a gradient penalty);
``gail_to_expert.md`` / ``gail_to_expert.csv`` — the deterministic normalised score of GAIL
    during training: env steps and wall time to 0.9 and the score at a fifth of the paper's budget,
    for the paper's settings, the recipe and its frozen-discriminator control (on MuJoCo, where
    the recipe starts from BC, with and without that start), 4 trajectories
    (Humanoid 80), 3 seeds, on the classic tasks and (conf/mujoco's budgets) the six MuJoCo tasks;
    and the ablations (runs end at 0.9): each option of the recipe removed on CartPole, Hopper,
    HalfCheetah, Walker2d and Ant (conf/mujoco's BC warm start too: added on HalfCheetah, whose
    recipe has none), each added to the paper's
    settings on CartPole and Hopper; the recipe without the absorbing replay and without the cap
    on the absorbing reward on the MuJoCo tasks that end early, to the whole budget;
``dask_vs_sequential.md`` — a small grid through SequentialRunner and DaskRunner (2 local workers):
    wall times, identical results.

The GAIL-to-expert runs go one process per (task, config, seed): ``--jobs N`` runs N at a time,
``--missing-only`` skips those whose rows the CSV holds, and each checkpoints to ``--checkpoints``
(the Kedro grid's folder), so an interrupted campaign continues where it stopped.

Demonstrations a benchmark needs are sampled first (from the latest trained or the shipped
expert) when missing from the project's catalog (under conf's ``data_root``); a task without any
expert is skipped and named in the output. ``--quick`` shortens every benchmark (a smoke test of
the command, not figures to report).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

LOOP_TASKS = ("cartpole", "hopper", "reacher", "halfcheetah", "walker", "ant", "humanoid")
"""The GAIL loop's tasks: CartPole's and Hopper's throughput targets, every MuJoCo task's time split."""

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent


def has_expert(catalog, task: str) -> bool:
    """A trained expert in the catalog, or the one shipped with the project (its fallback)."""
    return catalog.exists(f"{task}.expert_policy") or (PROJECT / f"data/01_raw/experts/{task}.pt").exists()


def ensure_demonstrations(catalog, task: str, size: int) -> bool:
    """Whether ``task`` has its ``size``-trajectory demonstrations in the project's catalog, after
    running the demonstrations pipeline for it where they are missing and it has an expert."""
    if catalog.exists(f"{task}.demonstrations_n{size}"):
        return True
    if not has_expert(catalog, task):
        print(
            f"skipping {task}: no trained or shipped expert (run `kedro "
            f"run --pipelines expert --params grid.tasks={task}`)"
        )
        return False
    kedro = Path(sys.executable).with_name("kedro")
    subprocess.run(
        [str(kedro), "run", "--pipelines", "demonstrations", "--params", f"grid.tasks={task}"],
        cwd=PROJECT,
        check=True,
    )
    return True


def bc_started(task: str, env: str = "mujoco") -> bool:
    """Whether ``env``'s recipe starts ``task``'s GAIL from BC (conf/mujoco: not on HalfCheetah and
    Reacher, whose ``imitation`` turns it off), as gail_to_expert.py reads the recipe."""
    from gail_to_expert import settings_for

    return settings_for("recipe", env, task).gail.bc_warm_start


def run(script: str, *args: str, log: Path | None = None) -> int:
    """Run a benchmark script from the project's root (its output to ``log`` when given, where a
    failure is returned; else shown, and a failure raised)."""
    # Paths inside the project are passed relative to it, so that reports quote a command that
    # runs from any clone.
    args = tuple(a.removeprefix(f"{PROJECT}/") for a in args)
    command = [sys.executable, str(HERE / script), *args]
    print("$", " ".join(command), *([f"> {log}"] if log else []), flush=True)
    if log is None:
        return subprocess.run(command, cwd=PROJECT, check=True).returncode
    with open(log, "w") as out:
        return subprocess.run(command, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT).returncode


def to_expert_runs(catalog, args: argparse.Namespace) -> list[list[str]]:
    """gail_to_expert.py's runs, one (task, config, seed) each, in the order they matter: the
    classic tasks; the MuJoCo tasks' recipe and its control; the paper's settings; the reward's
    form alone; the ablations that end at 0.9; the ablations that run the whole budget."""
    seeds = ["0"] if args.quick else ["0", "1", "2"]
    flags = [
        "--csv",
        str(args.results / "gail_to_expert.csv"),
        "--output",
        str(args.results / "gail_to_expert.md"),
    ]
    flags += ["--budget", "20000"] if args.quick else []
    flags += ["--missing-only"] if args.missing_only else []
    flags += ["--checkpoints", str(args.checkpoints)] if args.checkpoints else []
    flags += ["--update-threads", "1"] if args.jobs > 1 else []
    runs: list[list[str]] = []

    def add(tasks, configs, *extra: str) -> None:
        for task in tasks:
            for config in configs:
                runs.extend(
                    ["--tasks", task, "--configs", config, "--seeds", seed, *extra, *flags] for seed in seeds
                )

    classic = [t for t in ("cartpole", "acrobot", "mountaincar") if ensure_demonstrations(catalog, t, 4)]
    # The recipe with each option removed, the paper's settings with each option added; these runs
    # end once they reach 0.9. The gradient penalty is conf/mujoco's: on CartPole it is added.
    removed = [
        *("recipe-batch", "recipe-logit", "recipe-absorbing", "recipe-replay", "recipe-d_epochs"),
        "recipe-neutral",
    ]
    added = [
        *("paper+batch", "paper+logit", "paper+absorbing", "paper+d_epochs", "paper+gp", "paper+neutral"),
        *("paper+sn", "paper+scale", "paper+ppo", "paper+bc", "paper+negative"),
    ]
    add(classic, ["recipe", "frozen_d", "paper", "recipe+gp"])
    add([t for t in classic if t == "cartpole"], [*removed, *added], "--stop-at-target")
    mujoco = [
        t
        for t in ("hopper", "halfcheetah", "walker", "ant", "reacher", "humanoid")
        if ensure_demonstrations(catalog, t, 80 if t == "humanoid" else 4)
    ]
    every = ["--env", "mujoco", "--eval-every", "5"]
    add(mujoco, ["recipe", "frozen_d"], *every)
    add(mujoco, ["paper"], *every)
    # Where the recipe starts from BC's policy, frozen_d does too; without it, the reward's form alone.
    add([t for t in mujoco if bc_started(t)], ["frozen_d-bc"], *every)
    # (without the replay and without the neutral start: full-budget runs below; without absorbing
    # states, without their cap too, which needs them)
    stopping = [c for c in removed if c not in ("recipe-replay", "recipe-neutral")] + ["recipe-gp"]
    stopping = [c + "-cap" if c == "recipe-absorbing" else c for c in stopping]
    for task in (t for t in ("hopper", "halfcheetah", "walker", "ant") if t in mujoco):
        # the BC start removed where the recipe has it, else added
        add([task], [*stopping, "recipe-bc" if bc_started(task) else "recipe+bc"], *every, "--stop-at-target")
    if "hopper" in mujoco:
        add(["hopper"], added, *every, "--stop-at-target")
    # Without the replay, Hopper reaches 0.9 and then cycles; without the cap on the absorbing
    # reward, the policy learns to fall late (Ant) or early (Humanoid); without the neutral
    # initialisation, a frozen D's random logits pay for surviving (Hopper's control ends near
    # the expert): these run the whole budget, on the tasks that end early (HalfCheetah and
    # Reacher never do: the same runs).
    falling = [t for t in ("hopper", "walker", "ant", "humanoid") if t in mujoco]
    add(falling, ["recipe-replay", "recipe-cap", "recipe-neutral", "frozen_d-neutral"], *every)
    return runs


def run_in_parallel(script: str, runs: list[list[str]], jobs: int, logs: Path) -> None:
    """Each run a process of its own, ``jobs`` at a time, in the list's order (its output in
    ``logs``); one failure is reported when the rest have run."""
    from concurrent.futures import ThreadPoolExecutor

    if jobs == 1:
        for args in runs:
            run(script, *args)
        return
    logs.mkdir(parents=True, exist_ok=True)

    def one(args: list[str]) -> int:
        name = "_".join(args[args.index(flag) + 1] for flag in ("--tasks", "--configs", "--seeds"))
        return run(script, *args, log=logs / f"{name}.log")

    with ThreadPoolExecutor(jobs) as pool:
        failed = [args for args, code in zip(runs, pool.map(one, runs)) if code != 0]
    if failed:
        raise SystemExit(f"{len(failed)} of {len(runs)} runs failed, the first: {' '.join(failed[0])}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--results", type=Path, default=HERE / "results")
    parser.add_argument(
        "--only", nargs="+", choices=["sampler", "loop", "to_target", "to_expert", "dask"], default=None
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--jobs", type=int, default=1, help="GAIL-to-expert runs at a time, each a process (one per core)"
    )
    parser.add_argument(
        "--missing-only",
        action="store_true",
        help="skip the GAIL-to-expert runs whose rows the CSV holds: an interrupted campaign continues",
    )
    parser.add_argument(
        "--checkpoints",
        type=Path,
        default=PROJECT / "data/06_models/checkpoints/imitation",
        help="the GAIL-to-expert runs' checkpoints (a killed run continues from its own; the default, "
        "the Kedro grid's folder, lets the grid unit of the same training continue a finished run)",
    )
    parser.add_argument(
        "--logs",
        type=Path,
        default=PROJECT / "data/08_reporting/benchmark_logs",
        help="each parallel run's output",
    )
    args = parser.parse_args()
    only = set(args.only or ["sampler", "loop", "to_target", "to_expert", "dask"])
    args.results.mkdir(parents=True, exist_ok=True)
    if only & {"loop", "to_target", "to_expert"}:
        from gail_loop import dataset_size

        from gail_pipeline.catalog import project_context

        project = project_context(PROJECT)
        catalog, task_params = project.catalog, project.config_loader["parameters"]["tasks"]

    if "sampler" in only:
        extra = ["--steps", "3000", "--repeats", "1", "--tasks", "cartpole", "hopper"] if args.quick else []
        run("sampler_throughput.py", "--output", str(args.results / "sampler_throughput.md"), *extra)
        extra = ["--tasks", "hopper", "--repeats", "1"] if args.quick else []
        run("evaluation_cost.py", "--output", str(args.results / "evaluation_cost.md"), *extra)
    if "loop" in only:
        tasks = ("cartpole", "hopper") if args.quick else LOOP_TASKS
        tasks = [t for t in tasks if ensure_demonstrations(catalog, t, dataset_size(task_params[t], None))]
        iterations = ["--iterations", "4"] if args.quick else ["--iterations", "12"]
        run("gail_loop.py", "--tasks", *tasks, *iterations, "--output", str(args.results / "gail_loop.md"))
    if "to_target" in only:
        tasks = [t for t in ("hopper", "halfcheetah", "walker") if ensure_demonstrations(catalog, t, 4)]
        budget = ["--max-env-steps", "100000"] if args.quick else ["--max-env-steps", "5000000"]
        common = ["--tasks", *tasks, "--size", "4", "--seeds", "0", "--target", "0.9"]
        common += ["--variants", "plain", "bc_warm_start", *budget]
        if tasks:
            run("gail_warm_start.py", *common, "--output", str(args.results / "gail_to_0.9_mujoco.md"))
            # The workstation settings of conf/mujoco: 10,000-step batches, Adam value fit.
            workstation = ["--batch-size", "10000", "--trpo", "value_fit=adam"]
            run(
                "gail_warm_start.py",
                *common,
                *workstation,
                "--output",
                str(args.results / "gail_to_0.9_mujoco_batch10k.md"),
            )
    if "to_expert" in only:
        run_in_parallel("gail_to_expert.py", to_expert_runs(catalog, args), args.jobs, args.logs)
        run(
            "gail_to_expert.py",
            "--report-only",
            "--csv",
            str(args.results / "gail_to_expert.csv"),
            "--output",
            str(args.results / "gail_to_expert.md"),
        )
    if "dask" in only:
        iterations = ["--iterations", "2"] if args.quick else []
        run("dask_vs_sequential.py", *iterations, "--output", str(args.results / "dask_vs_sequential.md"))


if __name__ == "__main__":
    main()
