"""GAIL to the expert: env steps and wall time until the deterministic normalised score first
reaches 0.9, and the score at the end of the budget, for the paper's settings, the recipe, its
frozen-discriminator control and the ablations.

    python benchmarks/gail_to_expert.py --tasks cartpole acrobot mountaincar --seeds 0 1 2 \
        --configs paper recipe frozen_d
    python benchmarks/gail_to_expert.py --tasks cartpole --seeds 0 1 2 --stop-at-target \
        --configs recipe-logit recipe-absorbing recipe-replay recipe-d_epochs paper+logit paper+absorbing
    python benchmarks/gail_to_expert.py --env mujoco --tasks hopper --seeds 0 --configs recipe paper frozen_d

Configs: ``paper`` (the paper's exact settings at the paper's batch sizes, value fit included:
``grid.gail_configs``'s ``paper``, so that a run is the Appendix-B grid's ``gail_paper`` unit of
the same seed), ``recipe`` (the settings ``--env`` trains the task with: its
``imitation`` section, the task's own ``tasks.<task>.imitation`` merged over it — the recipe of
conf/base, with conf/mujoco's value fit, gradient penalty, absorbing-reward cap and, but on
HalfCheetah and Reacher, BC warm start for the MuJoCo tasks),
``frozen_d`` (the recipe with the discriminator's learning rate 0: what the reward's form alone
buys, and where conf/mujoco starts from BC the BC start with it — ``frozen_d-bc`` is the form alone there;
``frozen_d-<option>`` / ``+<option>`` is the control of ``recipe-<option>`` / ``+<option>``),
``recipe-<option>`` (the recipe with an option put back to the paper's; several chain:
``recipe-gp-replay``), then ``+<option>`` after either (an option added: ``recipe+gp``,
``paper+logit``, ``recipe-replay+gp``). A step that changes nothing is refused.
``paper`` runs at the paper's batch sizes (each task's ``paper_batch_size``, as the grid's
``paper`` units), the recipe at the env's (conf/base: 1,000 env steps per iteration on the classic
tasks; conf/mujoco: 10,000), the same env steps in all.
Options: ``batch`` (the recipe's batch size instead of the paper's), ``logit`` (the reward
log D − log(1 − D) instead of the task's sign), ``absorbing`` (absorbing states, with their
replay), ``replay`` (the policy's absorbing pairs kept at their share so far), ``d_epochs`` (5
minibatch epochs at lr 1e-3 instead of one full-batch step at 1e-2) — each at conf/base's value —,
``gp`` (gradient penalty, weight 10), ``sn`` (spectral normalisation), ``positive`` (the reward
−log(1 − D)), ``negative`` (the reward log D), ``scale`` (rewards divided by their running std),
``ppo`` (PPO's policy step instead of TRPO's), ``narrow`` (the policy's initial σ e⁻¹ instead of
1), ``bc`` (BC warm start, then 10
iterations that train only the discriminator), ``entropy`` (the causal-entropy bonus λ = 0.01),
``horizon`` (each absorbing pair weighted by the steps left to the time limit), ``cap`` (the
absorbing state's reward at most the batch's mean per-step reward), ``neutral`` (D's output layer
starting at zero: logit 0 everywhere until D learns).

Every ``--eval-every`` iterations the current policy's deterministic return over
``--eval-episodes`` episodes is measured (its own seeded environments: the training is unchanged)
and normalised by the task's reference returns (the catalog's: measured by the expert stage, else
the shipped expert's manifest). "Env steps to 0.9" is the training env-step count at the first
such evaluation at or above 0.9; the wall time is the training's up to that iteration (the
evaluations' own time excluded). The budget is a fifth of the paper's env steps (for a task the
paper did not run, a fifth of the task's batch × iterations) unless
``--budget`` says otherwise; a run ends before the iteration that would pass it, judged by the
last iteration's length (a batch ends its episodes, so an iteration may run a little longer than
that: the CSV's ``budget_env_steps`` is the run's own count). The final score is
the policy's at that end, over ``--final-episodes`` deterministic episodes (50, the evaluation
stage's protocol). ``--checkpoints DIR`` lets a long run (Humanoid) be killed and continued: the
same command resumes it from its last checkpoint, its curve and wall time included. Datasets and
reference returns come from the project's catalog: run
the demonstrations stage for the tasks first. Rows go to ``--csv`` (a row per task, config,
seed and dataset size, replacing the same key's earlier row) and a Markdown report to ``--output``.
"""

from __future__ import annotations

import argparse
import copy
import csv
import dataclasses
import fcntl
import os
import statistics
from functools import cache, partial
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from common import header, write_report

from gail_pipeline.catalog import project_context
from gail_pipeline.config import ConfigError
from gail_pipeline.config_loader import parameters_from_conf
from gail_pipeline.grid import training_seed
from gail_pipeline.imitation import ImitationSettings, over_env_step_budget, train_imitation
from gail_pipeline.imitation.configs import PAPER, config_settings, config_task, unit_settings
from gail_pipeline.pipelines.evaluation.nodes import normalized_score
from gail_pipeline.rl.evaluation import evaluate
from gail_pipeline.tasks import TaskSpec, make_env

COLUMNS = [
    "task",
    "config",
    "seed",
    "n_trajectories",
    "budget_env_steps",
    "env_steps_to_0_9",
    "wall_s_to_0_9",
    "final_score",
]
ROW_KEY = ("task", "config", "seed", "n_trajectories")  # a run's row: a later run of the same key replaces it
TARGET = 0.9
# A fifth of the paper's env steps (batch × iterations in the paper: 5,000 × 300 classic,
# 50,000 × 200 Reacher, 50,000 × 500 MuJoCo, 50,000 × 1,500 Humanoid).
BUDGETS = {
    "cartpole": 300_000,
    "acrobot": 300_000,
    "mountaincar": 300_000,
    "reacher": 2_000_000,
    "halfcheetah": 5_000_000,
    "hopper": 5_000_000,
    "walker": 5_000_000,
    "ant": 5_000_000,
    "humanoid": 15_000_000,
}
FROZEN = "frozen_d"  # the recipe (with the same removals and additions) with a frozen discriminator
# The configs whose rows are the targets' evidence: run to the budget, their last checkpoints kept
# for the Appendix-B grid's units of the same trainings (gail, gail_frozen_d, gail_paper)
FULL_BUDGET = ("recipe", FROZEN, "paper")
BATCH = "batch"  # the recipe's task batch sizes (conf/base: classic 1,000; conf/mujoco: 10,000)
RECIPE_OPTIONS = {  # option → its settings (imitation.gail.*), at the recipe's values
    "logit": ("reward",),
    "absorbing": ("absorbing_states", "absorbing_replay"),
    "replay": ("absorbing_replay",),
    "d_epochs": ("learning_rate", "epochs", "minibatch_size"),
}
OTHER_OPTIONS = {  # option → its settings' values (imitation.gail.*, else imitation.*)
    "gp": {"gradient_penalty": 10.0},
    "sn": {"spectral_norm": True},
    "positive": {"reward": "positive"},
    "negative": {"reward": "negative"},
    "scale": {"reward_scale": "running_std"},
    "ppo": {"policy_step": "ppo"},
    "narrow": {"policy_log_std_init": -1.0},
    "bc": {"bc_warm_start": True, "warmup_iterations": 10},
    "entropy": {"causal_entropy": 0.01},
    "horizon": {"absorbing_horizon": True},
    "cap": {"absorbing_reward_cap": True},
    "neutral": {"neutral_init": True},
}


def dataset_size(task: str) -> int:
    """The benchmark's dataset size: 4 expert trajectories (Humanoid: 80, its smallest)."""
    return 80 if task == "humanoid" else 4


def config_steps(config: str) -> tuple[str, list[str], list[str]]:
    """A config's start (``recipe``, ``paper``, ``frozen_d``), its removed and its added options."""
    name, *added = config.split("+")
    start, *removed = name.split("-")
    return start, removed, added


@cache
def _conf_parameters(env: str) -> dict[str, Any]:
    """``conf/<env>``'s parameters, read once per process (a campaign asks for hundreds of configs)."""
    return parameters_from_conf(env)


def conf_parameters(env: str) -> dict[str, Any]:
    return copy.deepcopy(_conf_parameters(env))


def settings_for(config: str, env: str, task: str | None = None) -> ImitationSettings:
    """The imitation settings of a config (see the module docstring): ``recipe``, ``frozen_d`` or
    ``paper`` followed by ``-<option>`` removals (not after paper) and ``+<option>`` additions. The
    recipe is ``env``'s ``imitation`` section with ``task``'s own ``imitation`` merged over it, as a
    Kedro run of that env trains the task. A step that changes nothing (removing an option the
    recipe does not have, adding one it has) is refused, so that a row's name always says what
    differs."""
    params = conf_parameters(env)
    sign = None  # the reward form the paper's "task" reward is for the task (compared, not applied)
    if task is None:
        recipe = ImitationSettings.parse(params["imitation"])
    else:
        spec = TaskSpec.from_config(task, params["tasks"][task])
        recipe, sign = unit_settings(params["imitation"], spec), spec.reward_sign
    paper = config_settings(recipe, PAPER)  # the values an option removed from the recipe goes back to
    base_recipe = ImitationSettings.parse(conf_parameters("base")["imitation"]).gail
    start, removed, added = config_steps(config)
    if start in ("recipe", FROZEN):
        settings = recipe
    elif start == "paper" and not removed:
        settings = paper  # the grid's: its units share the checkpoints
    else:
        raise SystemExit(f"unknown config {config!r}; see --help")

    def keys(option: str) -> tuple[str, ...]:
        if option not in RECIPE_OPTIONS and option not in OTHER_OPTIONS:
            raise SystemExit(f"unknown option {option!r} in config {config!r}; see --help")
        return RECIPE_OPTIONS.get(option) or tuple(OTHER_OPTIONS[option])

    def at(of: ImitationSettings, option: str) -> dict[str, Any]:
        """The option's settings as ``of`` has them (imitation.gail.*, else imitation.*)."""
        return {k: getattr(of.gail if hasattr(of.gail, k) else of, k) for k in keys(option)}

    def apply(changes: dict[str, Any]) -> ImitationSettings:
        gail = {k: v for k, v in changes.items() if hasattr(settings.gail, k)}
        top = {k: v for k, v in changes.items() if not hasattr(settings.gail, k)}
        return dataclasses.replace(settings, gail=dataclasses.replace(settings.gail, **gail), **top)

    def wanted(option: str) -> dict[str, Any]:
        """The option's values: conf/base's for the recipe's options, its own for the others."""
        if option in OTHER_OPTIONS:
            return dict(OTHER_OPTIONS[option])
        return at(dataclasses.replace(recipe, gail=base_recipe), option)  # (refuses an unknown one)

    def same(one: dict[str, Any], other: dict[str, Any]) -> bool:
        """Whether two options' values train alike: the reward ``task`` is the task's own sign."""
        return resolved(one) == resolved(other)

    def resolved(values: dict[str, Any]) -> dict[str, Any]:
        return {k: sign if (k, v) == ("reward", "task") and sign else v for k, v in values.items()}

    whose = f"--env {env}" + (f" for {task}" if task else "")  # for the refusals below
    removed = [option for option in removed if option != BATCH]  # a task budget: see task_for
    added = [option for option in added if option != BATCH]
    for option in removed:
        if not same(at(settings, option), wanted(option)) or same(at(settings, option), at(paper, option)):
            raise SystemExit(f"config {config!r}: the recipe of {whose} has no {option!r} to remove")
        settings = apply(at(paper, option))
    for option in added:
        if same(at(settings, option), wanted(option)):
            raise SystemExit(f"config {config!r}: {start} under {whose} has {option!r} already")
        settings = apply(wanted(option))
    if start == FROZEN:  # the same settings, the discriminator never learning
        settings = apply({"learning_rate": 0.0})
    return ImitationSettings.parse(dataclasses.replace(settings, checkpoint_dir=None))


def task_for(task: TaskSpec, config: str, env: str) -> TaskSpec:
    """The task's batch size under a config: the env's (the recipe's), or the paper's (the task's
    ``paper_batch_size``, as the grid's ``paper`` units take it) for ``paper`` and for
    ``recipe-batch``; ``paper+batch`` takes the env's. A ``batch`` step that changes nothing for
    the task is refused like any other, and so is a ``batch`` step for a task that names no paper
    batch (``paper`` itself then runs at the task's batch, as the grid's unit does). The budget, not
    the batch, sets the iterations."""
    start, removed, added = config_steps(config)
    wants_paper_batch = (start == "paper" and BATCH not in added) or BATCH in removed
    if BATCH in removed or BATCH in added:
        allowed = {("recipe", True, False), (FROZEN, True, False), ("paper", False, True)}
        if (start, BATCH in removed, BATCH in added) not in allowed:
            raise SystemExit(
                f"config {config!r}: {BATCH!r} can only be removed from recipe or frozen_d, or added to paper"
            )
        if task.paper_batch_size is None:
            raise SystemExit(f"config {config!r}: {task.name} names no paper_batch_size (tasks.{task.name})")
        if task.paper_batch_size == task.batch_size:
            raise SystemExit(f"config {config!r}: --env {env} runs {task.name} at the paper's batch already")
    return config_task(task, PAPER) if wants_paper_batch else task


def iterations_for(budget: int, batch_size: int, shared: bool) -> int:
    """The iteration count a run of ``budget`` env steps is given. A run whose checkpoint the grid
    continues (``shared``) gets one iteration more than the budget holds, so that the env-step stop,
    not the iteration count, ends it: a run ended by its iteration count is finished and removes its
    checkpoint, which a task whose episodes never end early (HalfCheetah: 500 batches of exactly
    10,000 steps) would otherwise always do."""
    whole_batches = -(-budget // batch_size)
    return whole_batches + 1 if shared else whole_batches


def run(task: TaskSpec, config: str, seed: int, size: int, args: argparse.Namespace, context: Any) -> dict:
    budget = args.budget or BUDGETS.get(task.name, task.batch_size * task.iterations // 5)
    task = task_for(task, config, args.env)
    demos = context.catalog.load(f"{task.name}.demonstrations_n{size}")
    reference = context.catalog.load(f"{task.name}.reference_returns")
    expert, random = reference["expert_return_mean"], reference["random_return_mean"]
    settings = dataclasses.replace(
        settings_for(config, args.env, task.name),
        eval_every=args.eval_every,
        eval_episodes=args.eval_episodes,
        update_threads=args.update_threads,
        checkpoint_dir=None if args.checkpoints is None else str(args.checkpoints),
        checkpoint_every=args.checkpoint_every,
    )
    # The recipe, its control and the paper's settings are the Appendix-B grid's own trainings:
    # their runs end at the budget as a stop, which keeps the last checkpoint for the grid unit to
    # continue. Every other config ends there as a finished run (its checkpoint removed: a rerun
    # trains it again).
    shared = config in FULL_BUDGET
    iterations = iterations_for(budget, task.batch_size, shared)
    if not shared:
        task = dataclasses.replace(task, max_env_steps=budget)

    def score(row: dict) -> float | None:
        value = row.get("eval_return_mean")
        return None if value is None else normalized_score(value, expert, random)

    def stop(curve: list[dict]) -> bool:
        # A batch ends its episodes, so an iteration takes a little more than the batch size: end
        # before the iteration that would pass the budget (taken as long as the last one), by the
        # rule of a Kedro unit's `max_env_steps`.
        over_budget = shared and over_env_step_budget(curve, budget)
        return over_budget or (args.stop_at_target and (score(curve[-1]) or -1.0) >= TARGET)

    curve_path = args.curves / f"{task.name}.{config}.n{size}.s{seed}.csv" if args.curves else None
    rows_so_far: list[dict] = []

    def progress(row: dict) -> None:
        """Each evaluation as it comes, and the curve so far with it: long runs are watched."""
        rows_so_far.append(row)
        if score(row) is not None:
            print(
                f"{task.name} {config} seed {seed}: {row['env_steps']:,} env steps, "
                f"score {score(row):.3f}, {row['wall_time']:.0f} s",
                flush=True,
            )
            if curve_path is not None:
                curve_path.parent.mkdir(parents=True, exist_ok=True)
                pd.DataFrame(rows_so_far).to_csv(curve_path, index=False)

    result = train_imitation(
        task,
        "gail",
        demos,
        seed=training_seed(seed, size),  # the grid unit's: the two share a checkpoint
        iterations=iterations,
        settings=settings,
        on_iteration=progress,
        stop=stop,
    )
    curve = result.curve
    # The final score: the policy at the end of the budget (or at 0.9 with --stop-at-target) by the
    # evaluation stage's protocol, --final-episodes deterministic episodes (10 during training),
    # seeded as that stage seeds them, apart from the evaluations in training.
    returns = evaluate(
        partial(make_env, task), result.policy, args.final_episodes, training_seed(seed, size) + 100_000, True
    )
    final = normalized_score(float(returns.mean()), expert, random)
    print(
        f"{task.name} {config} seed {seed}: final {final:.3f} over {args.final_episodes} episodes", flush=True
    )
    if curve_path is not None:
        curve_path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(curve).to_csv(curve_path, index=False)
    evaluated = [(row, score(row)) for row in curve if score(row) is not None]
    reached = next((row for row, s in evaluated if s >= TARGET), None)
    # The training's wall time to that iteration: less the evaluations before it (each row's
    # wall_time includes the earlier rows' evaluations, not its own).
    wall_to_target = None
    if reached is not None:
        earlier = sum(r.get("time_evaluation", 0.0) for r in curve if r["iteration"] < reached["iteration"])
        wall_to_target = reached["wall_time"] - earlier
    row = {
        "task": task.name,
        "config": config,
        "seed": seed,
        "n_trajectories": size,
        "budget_env_steps": curve[-1]["env_steps"] if not args.stop_at_target else budget,
        "env_steps_to_0_9": reached["env_steps"] if reached else "",
        "wall_s_to_0_9": round(wall_to_target, 1) if reached else "",
        "final_score": round(final, 4),
    }
    print(row, {"scores": [round(s, 2) for _, s in evaluated]}, flush=True)
    return row


def merged_rows(path: Path, rows: list[dict]) -> list[dict]:
    """The CSV's rows with ``rows`` replacing those of the same task, config, seed and size."""
    key = ROW_KEY
    old = []
    if path.exists():
        with path.open() as f:
            old = list(csv.DictReader(f))
    new_keys = {tuple(str(r[k]) for k in key) for r in rows}
    kept = [r for r in old if tuple(r[k] for k in key) not in new_keys]
    return kept + rows


def save_rows(path: Path, rows: list[dict]) -> None:
    """Merge ``rows`` into the CSV, holding a lock (several benchmark processes may share it) and
    replacing the file whole (a process killed while writing loses nothing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        all_rows = merged_rows(path, rows)
        partial_path = path.with_suffix(".csv.partial")
        with partial_path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(all_rows)
        os.replace(partial_path, path)


def saved_rows(path: Path) -> list[dict]:
    """The CSV's rows, read under the lock."""
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        return merged_rows(path, [])


def notes_path(csv_path: Path) -> Path:
    """The notes kept beside the CSV (``<csv stem>_notes.txt``, one note per line): how the rows of
    earlier runs were made, in every report written from that CSV."""
    return csv_path.with_name(f"{csv_path.stem}_notes.txt")


def report(rows: list[dict], args: argparse.Namespace) -> list[str]:
    title = "GAIL to 0.9 of the expert: paper settings, recipe, frozen-discriminator control"
    kept = notes_path(args.csv)
    notes = [line.strip() for line in kept.read_text().splitlines() if line.strip()] if kept.exists() else []
    first = len(notes) + 1  # the command's own notes follow the kept ones
    notes += args.note
    if args.report_only:  # rows of many runs: their protocols are in the notes, not in this command
        arguments = ["--report-only", *(f"--note <note {i}>" for i in range(first, len(notes) + 1))]
        protocol = (
            f"- written from the rows of `{args.csv}` (each row's run and protocol: the notes below); "
            "budget: a fifth of the paper's env steps unless stated"
        )
    else:
        arguments = None
        protocol = (
            f"- conf env: `{args.env}`; {args.eval_episodes} deterministic episodes every "
            f"{args.eval_every} iterations, final score over {args.final_episodes}; budget: a fifth of "
            f"the paper's env steps unless stated; CSV: `{args.csv}`"
        )
    lines = [
        *header(title, "gail_to_expert.py", arguments),
        protocol,
        *([f"- notes 1–{first - 1}: kept in `{kept}`"] if first > 1 else []),
        *(f"- note {i}: {note}" for i, note in enumerate(notes, 1)),
        "",
        *against_targets(rows),
        "",
        *ablations(rows),
        "",
        "## Every row",
        "",
        "| task | config | n | seeds | reached 0.9 | median env steps to 0.9 | median wall s to 0.9 "
        "| final scores |",
        "|---|---|---|---|---|---|---|---|",
    ]
    cells: dict[tuple, list[dict]] = {}
    for row in rows:
        cells.setdefault((row["task"], row["config"], str(row["n_trajectories"])), []).append(row)
    for (task, config, size), cell in sorted(cells.items()):
        reached = [r for r in cell if str(r["env_steps_to_0_9"]) != ""]
        steps = statistics.median(int(r["env_steps_to_0_9"]) for r in reached) if reached else None
        wall = statistics.median(float(r["wall_s_to_0_9"]) for r in reached) if reached else None
        finals = ", ".join(
            f"{float(r['final_score']):.2f}" for r in sorted(cell, key=lambda r: int(r["seed"]))
        )
        lines.append(
            f"| {task} | {config} | {size} | {len(cell)} | {len(reached)}/{len(cell)} | "
            f"{f'{steps:,.0f}' if steps is not None else '–'} | "
            f"{f'{wall:.0f}' if wall is not None else '–'} | {finals} |"
        )
    return lines


# A run ends before the iteration that would pass its budget, judged by the last iteration's
# length; a batch ends its episodes, so the last may run a few hundred steps longer than judged.
BUDGET_SLACK = 0.01
FINAL_AT_LEAST = 0.85  # the score the recipe must hold at the end of its budget
ABOVE_CONTROL = 0.5  # how far above its frozen-discriminator control it must end


def counted_rows(rows: list[dict]) -> dict[tuple[str, str, int], dict]:
    """The rows the targets and the ablations are judged on, by (task, config, seed): at the task's
    benchmark dataset size and within a fifth of the paper's budget (the slack: see BUDGET_SLACK)."""
    by = {}
    for row in rows:
        budget = BUDGETS.get(row["task"])
        if str(row["n_trajectories"]) == str(dataset_size(row["task"])) and (
            budget is None or int(row["budget_env_steps"]) <= budget * (1 + BUDGET_SLACK)
        ):
            by[(row["task"], row["config"], int(row["seed"]))] = row
    return by


def against_targets(rows: list[dict]) -> list[str]:
    """Per task (at its benchmark dataset size), the recipe against its targets: 0.9 reached
    within the budget on every seed, every final score ≥ 0.85, every seed ≥ 0.5 above its own
    frozen-discriminator control; the paper settings' wall time to 0.9 beside the recipe's, over
    the seeds both reached it on."""
    by = counted_rows(rows)

    def seeds(task: str, config: str) -> list[int]:
        return sorted(seed for (t, c, seed) in by if (t, c) == (task, config))

    def reached(task: str, config: str) -> list[int]:
        return [s for s in seeds(task, config) if str(by[(task, config, s)]["env_steps_to_0_9"]) != ""]

    def median(task: str, config: str, among: list[int], column: str) -> float:
        return statistics.median(float(by[(task, config, s)][column]) for s in among)

    lines = [
        "## The recipe against its targets",
        "",
        f"`recipe` at each task's benchmark dataset size (4 trajectories; Humanoid 80) and budget "
        f"(a fifth of the paper's env steps; rows that ran more than {BUDGET_SLACK:.0%} past it do not "
        "count), 3 seeds: 0.9 "
        f"reached within a fifth of the paper's env steps on every seed, every final score ≥ "
        f"{FINAL_AT_LEAST}, every seed ≥ {ABOVE_CONTROL} above its `frozen_d` control (the same seed). "
        "Wall times are medians over the seeds that reached 0.9; `paper`'s beside the recipe's over "
        "the seeds where both did.",
        "",
        "| task | recipe seeds | reached 0.9 | median env steps to 0.9 | median wall s to 0.9 "
        "| lowest final | control finals | lowest margin over control "
        "| paper: reached 0.9, median wall s (recipe's on those seeds) | targets met |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for task in BUDGETS:
        ran, hit = seeds(task, "recipe"), reached(task, "recipe")
        if not ran:
            lines.append(f"| {task} | none | – | – | – | – | – | – | – | not run |")
            continue
        finals = [float(by[(task, "recipe", s)]["final_score"]) for s in ran]
        controls = {s: float(by[(task, FROZEN, s)]["final_score"]) for s in ran if (task, FROZEN, s) in by}
        margins = [float(by[(task, "recipe", s)]["final_score"]) - c for s, c in controls.items()]
        paper_ran, paper_hit = seeds(task, "paper"), reached(task, "paper")
        both = [s for s in hit if s in paper_hit]
        paper = (
            f"{len(paper_hit)}/{len(paper_ran)}"
            + (
                f": {median(task, 'paper', both, 'wall_s_to_0_9'):,.0f} "
                f"({median(task, 'recipe', both, 'wall_s_to_0_9'):,.0f})"
                if both
                else ""
            )
            if paper_ran
            else "not run"
        )
        failed = (
            len(hit) < len(ran) or min(finals) < FINAL_AT_LEAST or min(margins, default=1) < ABOVE_CONTROL
        )
        missing = [f"{3 - len(ran)} recipe seed(s)"] if len(ran) < 3 else []
        missing += [f"seed {s}'s control" for s in ran if s not in controls]
        verdict = "no" if failed else ("not yet: " + ", ".join(missing) if missing else "yes")
        lines.append(
            f"| {task} | {', '.join(map(str, ran))} | {len(hit)}/{len(ran)} | "
            + (
                f"{median(task, 'recipe', hit, 'env_steps_to_0_9'):,.0f} | "
                f"{median(task, 'recipe', hit, 'wall_s_to_0_9'):,.0f} | "
                if hit
                else "– | – | "
            )
            + f"{min(finals):.2f} | {', '.join(f'{controls[s]:.2f}' for s in ran if s in controls) or '–'} | "
            f"{f'{min(margins):.2f}' if margins else '–'} | {paper} | {verdict} |"
        )
    return lines


CLEAR_EFFECT = 1.5  # a median env-step ratio past which (either way) an option's effect is named


def ablation_change(config: str) -> str | None:
    """What an ablation config changes from its start (``recipe`` or ``paper``): one option removed
    or added (absorbing states go with their cap, which needs them); None for any other config."""
    start, removed, added = config_steps(config)
    if start not in ("recipe", "paper") or (start == "paper" and removed):
        return None
    if len(removed) + len(added) == 1:
        return f"without {removed[0]}" if removed else f"with {added[0]}"
    if sorted(removed) == ["absorbing", "cap"] and not added:
        return "without absorbing (and its cap)"
    return None


def ablations(rows: list[dict]) -> list[str]:
    """Per task, each option removed from the recipe (or added to it) and each option added to the
    paper's settings, against its start on the same seeds: how many reach 0.9, the median env steps
    to 0.9 (a seed that never reaches it counts as never: the median is "never" once half the seeds
    miss), their ratio to the start's, and the effect that says: fewer or more seeds reaching 0.9
    first, then a ratio past ``CLEAR_EFFECT`` either way."""
    by = counted_rows(rows)
    never = float("inf")

    def steps(task: str, config: str, seed: int) -> float:
        value = str(by[(task, config, seed)]["env_steps_to_0_9"])
        return float(value) if value != "" else never

    def shown(value: float) -> str:
        return "never" if value == never else f"{value:,.0f}"

    lines = [
        "## Ablations",
        "",
        "Each option of the recipe removed (put back to the paper's), or added, and each option added "
        "to the paper's settings, at the benchmark's dataset size and budget; compared with its start "
        "(`recipe` or `paper`) on the same seeds. Most ablation runs end once they reach 0.9 (their "
        "final score is the policy's there); those without the replay, the cap or the neutral start, "
        "and the classic rows named so, ran the whole budget (their final is at its end). A seed that "
        "never reaches 0.9 counts as `never` in the median. Env steps to 0.9 are counted at the "
        "evaluations (CartPole: every 10,000 env steps; MuJoCo: every 5 iterations, 50,000 env steps "
        "for the recipe, 250,000 for the paper's settings), so a difference within one such interval "
        "is below their resolution, whatever its label. Effect: a change in how many seeds reach 0.9 "
        f"first, then a median ratio past ×{CLEAR_EFFECT} either way; else `no clear effect` (with 2-3 "
        "seeds only large effects show).",
        "",
        "| task | start | change | seeds | reached 0.9 (start) | median env steps to 0.9 (start) "
        "| × start | finals | effect |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def order(task_config: tuple[str, str]) -> tuple:  # the targets' task order, the recipe's rows first
        task, config = task_config
        return (
            list(BUDGETS).index(task) if task in BUDGETS else len(BUDGETS),
            task,
            config.startswith("paper"),
            config,
        )

    for task, config in sorted(
        {(task, config) for task, config, _ in by if ablation_change(config)}, key=order
    ):
        start = config_steps(config)[0]
        seeds = sorted(s for t, c, s in by if (t, c) == (task, config) and (task, start, s) in by)
        if not seeds:
            ran = sorted(s for t, c, s in by if (t, c) == (task, config))
            lines.append(
                f"| {task} | {start} | {ablation_change(config)} | {', '.join(map(str, ran))} | "
                f"no `{start}` row on these seeds | – | – | – | – |"
            )
            continue
        mine = statistics.median(steps(task, config, s) for s in seeds)
        theirs = statistics.median(steps(task, start, s) for s in seeds)
        hit = sum(steps(task, config, s) != never for s in seeds)
        start_hit = sum(steps(task, start, s) != never for s in seeds)
        ratio = mine / theirs if never not in (mine, theirs) else None
        if hit != start_hit:
            effect = f"{'fewer' if hit < start_hit else 'more'} seeds reach 0.9"
        elif ratio is not None and ratio >= CLEAR_EFFECT:
            effect = f"slower ×{ratio:.1f}"
        elif ratio is not None and ratio <= 1 / CLEAR_EFFECT:
            effect = f"faster ×{1 / ratio:.1f}"
        else:
            effect = "no clear effect"
        finals = ", ".join(f"{float(by[(task, config, s)]['final_score']):.2f}" for s in seeds)
        lines.append(
            f"| {task} | {start} | {ablation_change(config)} | {', '.join(map(str, seeds))} | "
            f"{hit}/{len(seeds)} ({start_hit}/{len(seeds)}) | {shown(mine)} ({shown(theirs)}) | "
            f"{f'{ratio:.2f}' if ratio is not None else '–'} | {finals} | {effect} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", nargs="+", default=["cartpole"])
    parser.add_argument("--configs", nargs="+", default=["paper", "recipe", "frozen_d"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--size", type=int, default=None, help="expert trajectories (default 4; Humanoid 80)")
    parser.add_argument("--env", default="base", help="the conf env whose settings are the recipe")
    parser.add_argument(
        "--budget", type=int, default=None, help="env steps (default: a fifth of the paper's)"
    )
    parser.add_argument("--eval-every", type=int, default=2)
    parser.add_argument(
        "--eval-episodes", type=int, default=10, help="episodes of each evaluation in training"
    )
    parser.add_argument(
        "--final-episodes",
        type=int,
        default=50,
        help="episodes of the final evaluation (the evaluation stage's 50)",
    )
    parser.add_argument("--stop-at-target", action="store_true", help="end a run once it reaches 0.9")
    parser.add_argument("--csv", type=Path, default=Path("benchmarks/results/gail_to_expert.csv"))
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/gail_to_expert.md"))
    parser.add_argument(
        "--curves",
        type=Path,
        default=None,
        help="a folder for each run's learning curve (CSV; rewritten at each evaluation, from a "
        "resumed run's first iteration until the run ends, then whole)",
    )
    parser.add_argument(
        "--checkpoints",
        type=Path,
        default=None,
        help="a folder for each run's checkpoint: a run killed midway continues from it when started "
        "again with the same arguments (a checkpoint serves only a run of the same settings)",
    )
    parser.add_argument("--checkpoint-every", type=int, default=10, help="iterations between checkpoints")
    parser.add_argument("--report-only", action="store_true", help="write the report from the CSV's rows")
    parser.add_argument(
        "--missing-only",
        action="store_true",
        help="skip each run whose row (task, config, seed, size) the CSV holds already: an interrupted "
        "campaign continues where it stopped (with --checkpoints, its unfinished run too)",
    )
    parser.add_argument("--note", action="append", default=[], help="a line for the report's header")
    parser.add_argument(
        "--update-threads",
        type=lambda v: v if v == "auto" else int(v),
        default="auto",
        help="torch threads of the updates (auto: all CPUs for a run alone; 1 when runs share the machine)",
    )
    args = parser.parse_args()
    if args.report_only:
        write_report(report(saved_rows(args.csv), args), args.output)
        return
    tasks_conf = conf_parameters(args.env)["tasks"]
    unknown = [name for name in args.tasks if name not in tasks_conf]
    if unknown:
        raise SystemExit(f"--tasks: {unknown} not in --env {args.env}'s tasks ({', '.join(tasks_conf)})")
    if args.stop_at_target and set(args.configs) & set(FULL_BUDGET):
        raise SystemExit(
            f"--stop-at-target: {', '.join(FULL_BUDGET)} run to the whole budget; ablations may stop"
        )
    tasks = {name: TaskSpec.from_config(name, tasks_conf[name]) for name in args.tasks}
    for name in args.tasks:  # every config's settings and budget checked before the first run
        for config in args.configs:
            try:
                settings_for(config, args.env, name)
            except ConfigError as error:
                raise SystemExit(f"config {config!r} for {name}: {error}") from None
            task_for(tasks[name], config, args.env)
    torch.set_num_threads(1)
    context = project_context(env=None if args.env == "base" else args.env)
    done = set()
    if args.missing_only and args.csv.exists():
        done = {tuple(str(r[k]) for k in ROW_KEY) for r in saved_rows(args.csv)}
    rows = []
    for name in args.tasks:
        size = args.size or dataset_size(name)
        for config in args.configs:
            for seed in args.seeds:
                if (name, config, str(seed), str(size)) in done:
                    print(f"{name} {config} seed {seed}: in {args.csv} already (--missing-only)", flush=True)
                    continue
                rows.append(run(tasks[name], config, seed, size, args, context))
                save_rows(args.csv, rows)
    if rows:
        write_report(report(saved_rows(args.csv), args), args.output)


if __name__ == "__main__":
    main()
