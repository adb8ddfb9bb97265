"""The GAIL benchmark's config names (benchmarks/gail_to_expert.py): each name says exactly what
differs from the recipe of its Kedro env, and a name that would change nothing is refused."""

import dataclasses
import sys
from pathlib import Path

import pytest

from gail_pipeline.config_loader import parameters_from_conf
from gail_pipeline.tasks import TaskSpec

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import gail_to_expert as benchmark  # noqa: E402


def test_frozen_d_is_the_recipe_with_its_removals_and_additions_and_a_learning_rate_of_0():
    recipe = benchmark.settings_for("recipe", "mujoco")
    frozen = benchmark.settings_for("frozen_d", "mujoco")
    assert recipe.gail.learning_rate > 0 and frozen.gail.learning_rate == 0.0
    assert frozen.gail.bc_warm_start and frozen.gail.warmup_iterations == 10  # the MuJoCo recipe's start
    without_bc = benchmark.settings_for("frozen_d-bc", "mujoco")
    recipe_without_bc = benchmark.settings_for("recipe-bc", "mujoco")
    assert without_bc.gail == dataclasses.replace(recipe_without_bc.gail, learning_rate=0.0)
    assert not without_bc.gail.bc_warm_start and without_bc.gail.warmup_iterations == 0
    without_cap = benchmark.settings_for("recipe-cap", "mujoco")
    assert recipe.gail.absorbing_reward_cap and without_cap.gail == dataclasses.replace(
        recipe.gail, absorbing_reward_cap=False
    )


@pytest.mark.parametrize(
    ("config", "env"),
    [
        ("recipe+bc", "mujoco"),  # the MuJoCo recipe has it already
        ("recipe-bc", "base"),  # the classic recipe has no BC start to remove
        ("frozen_d-bc", "base"),
        ("recipe+gp", "mujoco"),
        ("recipe+cap", "mujoco"),
        ("recipe-cap", "base"),  # the classic tasks end on success too: no cap to remove
        ("paper-logit", "base"),  # nothing to remove from the paper
        ("recipe-nosuch", "base"),
    ],
)
def test_a_config_that_changes_nothing_or_names_no_option_is_refused(config, env):
    with pytest.raises(SystemExit, match=config.replace("+", r"\+")):
        benchmark.settings_for(config, env)


def test_the_other_reward_sign_is_a_change_only_where_the_task_has_the_first():
    """The paper's reward is the task's sign: log D (negative) on Acrobot, −log(1 − D) on CartPole;
    adding the sign a task has already is refused like any step that changes nothing."""
    assert benchmark.settings_for("paper+negative", "base", "cartpole").gail.reward == "negative"
    assert benchmark.settings_for("paper+positive", "base", "acrobot").gail.reward == "positive"
    for config, task in (("paper+negative", "acrobot"), ("paper+positive", "cartpole")):
        with pytest.raises(SystemExit, match="already"):
            benchmark.settings_for(config, "base", task)


def test_batch_takes_the_papers_batch_for_the_recipe_and_its_control_only():
    cartpole = TaskSpec.from_config("cartpole", parameters_from_conf("base")["tasks"]["cartpole"])
    assert benchmark.task_for(cartpole, "recipe", "base").batch_size == 1000
    for config in ("recipe-batch", "frozen_d-batch", "paper"):
        assert benchmark.task_for(cartpole, config, "base").batch_size == 5000
    assert benchmark.task_for(cartpole, "paper+batch", "base").batch_size == 1000
    with pytest.raises(SystemExit, match="batch"):
        benchmark.task_for(cartpole, "paper-batch", "base")
    at_papers = TaskSpec.from_config("cartpole", parameters_from_conf("paper")["tasks"]["cartpole"])
    with pytest.raises(SystemExit, match="at the paper's batch already"):
        benchmark.task_for(at_papers, "recipe-batch", "paper")
    users = dataclasses.replace(cartpole, paper_batch_size=None)  # a task of the user's: no paper batch
    assert benchmark.task_for(users, "paper", "base").batch_size == 1000  # as the grid's paper unit
    with pytest.raises(SystemExit, match="paper_batch_size"):
        benchmark.task_for(users, "recipe-batch", "base")


def test_a_report_from_saved_rows_names_no_single_protocol_and_numbers_its_notes():
    row = {"task": "hopper", "config": "recipe", "seed": 0, "n_trajectories": 4}
    rows = [
        {
            **row,
            "budget_env_steps": 5_000_000,
            "env_steps_to_0_9": 490_000,
            "wall_s_to_0_9": 900.0,
            "final_score": 1.0,
        },
        {
            **row,
            "seed": 1,
            "budget_env_steps": 5_000_000,
            "env_steps_to_0_9": "",
            "wall_s_to_0_9": "",
            "final_score": 0.5,
        },
    ]
    args = benchmark.argparse.Namespace(
        report_only=True, csv=Path("rows.csv"), note=["classic rows: base", "MuJoCo rows: mujoco"], env="base"
    )
    lines = benchmark.report(rows, args)
    text = "\n".join(lines)
    assert "conf env" not in text  # the rows' envs differ: the notes say which
    assert "--report-only --note <note 1> --note <note 2>`" in text
    assert "- note 2: MuJoCo rows: mujoco" in text
    assert "| hopper | recipe | 4 | 2 | 1/2 | 490,000 | 900 | 1.00, 0.50 |" in text


def _row(task, config, seed, steps, final, wall=100.0, size=4):
    reached = steps is not None
    return {
        "task": task,
        "config": config,
        "seed": seed,
        "n_trajectories": size,
        "budget_env_steps": 5_000_000,
        "env_steps_to_0_9": steps if reached else "",
        "wall_s_to_0_9": wall if reached else "",
        "final_score": final,
    }


def test_the_targets_table_says_met_only_when_every_seed_passes_and_clears_its_control():
    """3 seeds that reach 0.9, end ≥ 0.85 and ≥ 0.5 above their own controls: met; a control at
    0.55 beside a recipe seed's 0.95 (a margin of 0.40): not met; a missing control: not yet; a
    seed that misses 0.9: not met; rows at another dataset size do not count; the paper's wall
    time is the median over the seeds both reached 0.9 on, the recipe's on those seeds beside it."""
    rows = [_row("hopper", "recipe", s, 500_000 + s, 1.0, wall=100 + s) for s in range(3)]
    rows += [_row("hopper", "frozen_d", s, None, 0.02) for s in range(3)]
    rows += [_row("hopper", "paper", 0, 2_000_000, 0.9, wall=400), _row("hopper", "paper", 1, None, 0.5)]
    rows += [_row("walker", "recipe", s, 1_000_000, 0.95) for s in range(3)]
    rows += [_row("walker", "frozen_d", 0, None, 0.1), _row("walker", "frozen_d", 1, None, 0.55)]
    rows += [_row("ant", "recipe", s, 2_000_000, 0.95) for s in range(3)]
    rows += [_row("ant", "frozen_d", s, None, 0.1) for s in range(2)]
    rows += [_row("ant", "frozen_d", 2, None, 0.1, size=25)]  # another size: not seed 2's control
    table = {
        line.split(" | ")[0][2:]: line for line in benchmark.against_targets(rows) if line.startswith("| ")
    }
    assert table["hopper"].endswith("| 0.98 | 1/2: 400 (100) | yes |")
    assert "| 500,001 | 101 | 1.00 | 0.02, 0.02, 0.02 |" in table["hopper"]
    assert table["walker"].endswith("| 0.40 | not run | no |")
    assert table["ant"].endswith("| not yet: seed 2's control |")
    assert table["humanoid"].endswith("| not run |")
    missed = [*rows[:2], _row("hopper", "recipe", 2, None, 0.95), *rows[3:6]]
    hopper = [line for line in benchmark.against_targets(missed) if line.startswith("| hopper")]
    assert hopper[0].endswith("| no |") and "| 2/3 |" in hopper[0]


def test_the_ablation_table_compares_each_single_change_with_its_start_on_the_same_seeds():
    """A removal that stops one seed of three reaching 0.9 says so before any ratio; one that
    doubles the median env steps is slower ×2.0; a seed that never reaches 0.9 counts as never in
    the median; an addition to the paper's settings is compared with the paper's, on the seeds both
    ran; controls, chained changes (but absorbing with its cap) and rows at another size are not
    ablations."""
    rows = [_row("hopper", "recipe", s, 500_000, 1.0) for s in range(3)]
    rows += [_row("hopper", "paper", s, 3_000_000 if s else None, 0.9) for s in range(3)]
    rows += [_row("hopper", "recipe-logit", s, 1_000_000, 0.95) for s in range(3)]
    rows += [_row("hopper", "recipe-absorbing-cap", s, None if s == 2 else 600_000, 0.5) for s in range(3)]
    rows += [_row("hopper", "paper+batch", s, 1_000_000, 0.95) for s in (1, 2)]
    rows += [_row("hopper", "recipe-gp-logit", 0, 400_000, 0.95), _row("hopper", "frozen_d-gp", 0, None, 0.1)]
    rows += [_row("hopper", "recipe-d_epochs", 0, None, 0.3, size=25)]
    table = [line for line in benchmark.ablations(rows) if line.startswith("| hopper")]
    assert [line.split(" | ")[2] for line in table] == [
        "without absorbing (and its cap)",
        "without logit",
        "with batch",
    ]
    assert "| 2/3 (3/3) | 600,000 (500,000) | 1.20 |" in table[0]
    assert table[0].endswith("| fewer seeds reach 0.9 |")
    assert table[1].endswith("| 3/3 (3/3) | 1,000,000 (500,000) | 2.00 | 0.95, 0.95, 0.95 | slower ×2.0 |")
    assert table[2].endswith("| 1, 2 | 2/2 (2/2) | 1,000,000 (3,000,000) | 0.33 | 0.95, 0.95 | faster ×3.0 |")
    never = [*rows[:3], *(_row("hopper", "recipe-logit", s, None if s else 900_000, 0.5) for s in range(3))]
    (line,) = [line for line in benchmark.ablations(never) if line.startswith("| hopper")]
    assert "| 1/3 (3/3) | never (500,000) | – |" in line
    alone = [*rows[:3], _row("hopper", "recipe-gp", 5, 400_000, 0.95)]  # no recipe row on seed 5
    (line,) = [line for line in benchmark.ablations(alone) if line.startswith("| hopper")]
    assert "| without gp | 5 | no `recipe` row on these seeds |" in line


def test_a_tasks_recipe_takes_its_own_imitation_settings_as_a_kedro_run_of_the_env_does():
    """conf/mujoco trains HalfCheetah without the BC warm start: the benchmark's recipe for it is
    that too, so ``recipe+bc`` is the option added there and ``recipe-bc`` changes nothing."""
    hopper = benchmark.settings_for("recipe", "mujoco", "hopper")
    halfcheetah = benchmark.settings_for("recipe", "mujoco", "halfcheetah")
    assert hopper.gail.bc_warm_start and not halfcheetah.gail.bc_warm_start
    assert halfcheetah.gail.warmup_iterations == 0 and halfcheetah.gail.gradient_penalty == 10.0
    assert benchmark.settings_for("recipe+bc", "mujoco", "halfcheetah") == hopper
    frozen = benchmark.settings_for("frozen_d", "mujoco", "halfcheetah")
    assert frozen.gail == dataclasses.replace(halfcheetah.gail, learning_rate=0.0)
    with pytest.raises(SystemExit, match="for halfcheetah has no 'bc'"):
        benchmark.settings_for("recipe-bc", "mujoco", "halfcheetah")


def test_the_campaign_runs_one_task_config_and_seed_each_recipe_and_control_first(tmp_path):
    """``run_all.py``'s GAIL-to-expert runs: one (task, config, seed) per process (so that
    ``--jobs`` spreads them and ``--missing-only`` skips them one by one), every config a name the
    benchmark accepts for its task and env, and on MuJoCo the recipe and its control before
    anything else."""
    import run_all

    class Everything:
        def exists(self, name):
            return True

    args = benchmark.argparse.Namespace(
        quick=False, results=tmp_path, missing_only=True, checkpoints=tmp_path / "ck", jobs=2
    )
    runs = run_all.to_expert_runs(Everything(), args)

    def value(run, flag):
        return run[run.index(flag) + 1]

    for run in runs:
        assert run.count("--tasks") == run.count("--configs") == run.count("--seeds") == 1
        assert "--missing-only" in run and value(run, "--update-threads") == "1"
        env = value(run, "--env") if "--env" in run else "base"
        benchmark.settings_for(value(run, "--configs"), env, value(run, "--tasks"))  # raises if unknown
    keys = [(value(r, "--tasks"), value(r, "--configs"), value(r, "--seeds")) for r in runs]
    assert len(keys) == len(set(keys))
    mujoco = [k for k in keys if k[0] not in ("cartpole", "acrobot", "mountaincar")]
    assert {c for _, c, _ in mujoco[:36]} == {"recipe", "frozen_d"} and len(mujoco) > 36
    assert ("humanoid", "frozen_d", "2") in mujoco[:36] and mujoco[36][1] == "paper"


def test_parallel_runs_each_log_to_their_own_file_and_a_failure_is_named(tmp_path):
    import run_all

    out = ["--csv", str(tmp_path / "rows.csv"), "--output", str(tmp_path / "report.md")]
    good = ["--tasks", "cartpole", "--configs", "recipe", "--seeds", "0", "--report-only", *out]
    bad = ["--tasks", "cartpol", "--configs", "recipe", "--seeds", "1", *out]
    with pytest.raises(SystemExit, match="1 of 2 runs failed, the first: --tasks cartpol"):
        run_all.run_in_parallel("gail_to_expert.py", [good, bad], 2, tmp_path / "logs")
    assert (tmp_path / "report.md").exists()
    assert "not in --env base's tasks" in (tmp_path / "logs" / "cartpol_recipe_1.log").read_text()
    assert (tmp_path / "logs" / "cartpole_recipe_0.log").exists()


@pytest.mark.parametrize("config", ["recipe", "frozen_d", "paper"])
def test_the_configs_whose_rows_are_the_targets_evidence_run_to_the_whole_budget(config):
    import subprocess

    script = Path(benchmark.__file__)
    command = [sys.executable, str(script), "--tasks", "cartpole", "--configs", config, "--stop-at-target"]
    done = subprocess.run(command, cwd=script.parents[1], capture_output=True, text=True)
    assert done.returncode != 0 and "run to the whole budget" in done.stderr


def test_a_shared_run_is_ended_by_its_env_step_stop_even_where_the_budget_is_whole_batches():
    """A recipe or control run keeps its checkpoint only when the env-step stop ends it; with the
    budget a whole number of fixed-length batches (HalfCheetah: 500 × 10,000) the iteration count
    alone would end it first, and the finished run would remove its checkpoint."""
    from gail_pipeline.imitation import over_env_step_budget

    budget, batch = 5_000_000, 10_000
    shared = benchmark.iterations_for(budget, batch, shared=True)
    curve = [{"env_steps": batch * (i + 1)} for i in range(budget // batch)]
    # the loop asks stop(curve) before each iteration while iteration < iterations
    assert len(curve) < shared and over_env_step_budget(curve, budget)
    assert not over_env_step_budget(curve[:-1], budget)
    assert benchmark.iterations_for(budget, batch, shared=False) == budget // batch
    assert benchmark.iterations_for(1_996_800 + 1, 12_800, shared=False) == 157


@pytest.mark.parametrize("task", ["cartpole", "reacher", "halfcheetah", "hopper", "humanoid"])
@pytest.mark.parametrize("config", ["recipe", "frozen_d", "paper"])
def test_a_benchmark_run_checkpoints_where_the_appendix_b_unit_of_the_same_training_looks(task, config):
    """The recipe, its control and the paper's settings at the benchmark's dataset size are the
    Appendix-B grid's own trainings (`conf/appendix_b`'s units `gail`, `gail_frozen_d` and
    `gail_paper`): the benchmark run's checkpoint is the one the grid unit continues, so a unit
    the benchmark ran is not trained again."""
    from types import SimpleNamespace

    from gail_pipeline.grid import training_seed
    from gail_pipeline.imitation.train import _checkpoint
    from gail_pipeline.pipelines.imitation.nodes import UnitSpec

    env = "base" if task == "cartpole" else "mujoco"
    size = 80 if task == "humanoid" else 4
    demonstrations = SimpleNamespace(trajectories=[None] * size, digest=lambda: "the same dataset")
    grid = parameters_from_conf("appendix_b")
    unit = UnitSpec(task, "gail", size, seed=1, iterations=1, config=config)
    grid_task, grid_settings = unit.task_and_settings(grid["tasks"][task], grid["imitation"])
    bench_task = benchmark.task_for(
        TaskSpec.from_config(task, parameters_from_conf(env)["tasks"][task]), config, env
    )
    bench_settings = benchmark.settings_for(config, env, task)
    assert training_seed(1, size) == unit.training_seed
    paths = [
        _checkpoint(
            of_task, "gail", demonstrations, unit.training_seed, dataclasses.replace(of, checkpoint_dir="ck")
        ).path
        for of_task, of in ((grid_task, grid_settings), (bench_task, bench_settings))
    ]
    assert paths[0] == paths[1]
    assert config in benchmark.FULL_BUDGET
