"""Every benchmark, one command: ``make benchmark`` (or ``python benchmarks/run_all.py``).

Writes one report per benchmark under ``benchmarks/results/`` (or ``--results``), each stating the
date, the machine and its exact command:

(a) ``sampler_throughput.md`` — sampler steps/s per task against bare ``env.step`` and the
    simulator alone, 1 and 2 workers;
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


def run(script: str, *args: str) -> None:
    # Paths inside the project are passed relative to it, so that reports quote a command that
    # runs from any clone.
    args = tuple(a.removeprefix(f"{PROJECT}/") for a in args)
    command = [sys.executable, str(HERE / script), *args]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, cwd=PROJECT, check=True)


def to_expert(catalog, args: argparse.Namespace) -> None:
    """gail_to_expert.py: the classic tasks, the CartPole ablations, then the MuJoCo tasks."""
    out = [
        "--csv",
        str(args.results / "gail_to_expert.csv"),
        "--output",
        str(args.results / "gail_to_expert.md"),
    ]
    seeds = ["--seeds", "0"] if args.quick else ["--seeds", "0", "1", "2"]
    budget = ["--budget", "20000"] if args.quick else []
    classic = [t for t in ("cartpole", "acrobot", "mountaincar") if ensure_demonstrations(catalog, t, 4)]
    # The recipe with each option removed, the paper's settings with each option added; these runs
    # end once they reach 0.9. The gradient penalty is conf/mujoco's: on CartPole it is added.
    removed = [
        *("recipe-batch", "recipe-logit", "recipe-absorbing", "recipe-replay", "recipe-d_epochs"),
        "recipe-neutral",
    ]
    added = ["paper+batch", "paper+logit", "paper+absorbing", "paper+d_epochs", "paper+gp", "paper+neutral"]
    if classic:
        run("gail_to_expert.py", "--tasks", *classic, *seeds, *budget, *out)
        run("gail_to_expert.py", "--tasks", *classic, *seeds, *budget, "--configs", "recipe+gp", *out)
        cartpole = ["--tasks", "cartpole", *seeds, *budget, "--stop-at-target", *out]
        run("gail_to_expert.py", *cartpole, "--configs", *removed, *added)
    mujoco = [
        t
        for t in ("hopper", "halfcheetah", "walker", "ant", "reacher", "humanoid")
        if ensure_demonstrations(catalog, t, 80 if t == "humanoid" else 4)
    ]
    if mujoco:
        common = ["--env", "mujoco", *seeds, *budget, "--eval-every", "5", *out]
        run("gail_to_expert.py", "--tasks", *mujoco, *common)
        # Where the recipe starts from BC's policy, frozen_d does too; without it, the reward's form alone.
        started = [t for t in mujoco if bc_started(t)]
        if started:
            run("gail_to_expert.py", "--tasks", *started, *common, "--configs", "frozen_d-bc")
        ablated = [t for t in ("hopper", "halfcheetah", "walker", "ant") if t in mujoco]
        stop = [*common, "--stop-at-target", "--configs"]
        # (without the replay and without the neutral start: full-budget runs below)
        stopping = [c for c in removed if c not in ("recipe-replay", "recipe-neutral")] + ["recipe-gp"]
        for with_bc in (True, False):  # the BC start removed where the recipe has it, else added
            tasks = [t for t in ablated if bc_started(t) == with_bc]
            if tasks:
                bc = "recipe-bc" if with_bc else "recipe+bc"
                run("gail_to_expert.py", "--tasks", *tasks, *stop, *stopping, bc)
        # Without the replay, Hopper reaches 0.9 and then cycles; without the cap on the absorbing
        # reward, the policy learns to fall late (Ant) or early (Humanoid); without the neutral
        # initialisation, a frozen D's random logits pay for surviving (Hopper's control ends near
        # the expert): these run the whole budget, on the tasks that end early (HalfCheetah and
        # Reacher never do: the same runs).
        falling = [t for t in ("hopper", "walker", "ant", "humanoid") if t in mujoco]
        if falling:
            configs = ["recipe-replay", "recipe-cap", "recipe-neutral", "frozen_d-neutral"]
            run("gail_to_expert.py", "--tasks", *falling, *common, "--configs", *configs)
        if "hopper" in mujoco:
            run("gail_to_expert.py", "--tasks", "hopper", *stop, *added)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--results", type=Path, default=HERE / "results")
    parser.add_argument(
        "--only", nargs="+", choices=["sampler", "loop", "to_target", "to_expert", "dask"], default=None
    )
    parser.add_argument("--quick", action="store_true")
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
        to_expert(catalog, args)
    if "dask" in only:
        iterations = ["--iterations", "2"] if args.quick else []
        run("dask_vs_sequential.py", *iterations, "--output", str(args.results / "dask_vs_sequential.md"))


if __name__ == "__main__":
    main()
