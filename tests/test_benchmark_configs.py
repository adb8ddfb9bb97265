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


def test_batch_takes_the_papers_batch_for_the_recipe_and_its_control_only():
    cartpole = TaskSpec.from_config("cartpole", parameters_from_conf("base")["tasks"]["cartpole"])
    assert benchmark.task_for(cartpole, "recipe", "base").batch_size == 1000
    for config in ("recipe-batch", "frozen_d-batch", "paper"):
        assert benchmark.task_for(cartpole, config, "base").batch_size == 5000
    assert benchmark.task_for(cartpole, "paper+batch", "base").batch_size == 1000
    with pytest.raises(SystemExit, match="batch"):
        benchmark.task_for(cartpole, "paper-batch", "base")


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
