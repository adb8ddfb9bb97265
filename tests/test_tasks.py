import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

from gail_pipeline.grid import selected_tasks
from gail_pipeline.tasks import ConfigError, TaskSpec, make_env, parse_tasks


class _MultiDiscreteEnv(gym.Env):
    observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
    action_space = gym.spaces.MultiDiscrete([2, 2])

    def reset(self, *, seed=None, options=None):
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.zeros(2, np.float32), 0.0, True, False, {}


gym.register("GailPipelineTestMultiDiscrete-v0", entry_point=_MultiDiscreteEnv)


def test_any_gymnasium_env_by_config():
    task = TaskSpec.from_config("pendulum", {"env_id": "Pendulum-v1", "max_episode_steps": 50})
    env = make_env(task)
    assert env.spec.max_episode_steps == 50
    assert task.expert_trajectory_count == 10


def test_unknown_env_id_suggests_close_names():
    task = TaskSpec.from_config("cp", {"env_id": "CartPol-v1"})
    with pytest.raises(ConfigError, match=r"'CartPol-v1' is not a registered .*CartPole-v1"):
        make_env(task)


def test_unsupported_action_space_is_refused():
    task = TaskSpec.from_config("md", {"env_id": "GailPipelineTestMultiDiscrete-v0"})
    with pytest.raises(ConfigError, match="only Box and Discrete"):
        make_env(task)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, r"tasks.t.env_id: missing"),
        (
            {"env_id": "CartPole-v1", "batch_size": -5},
            r"tasks.t.batch_size: expected a positive integer, got -5",
        ),
        ({"env_id": "CartPole-v1", "dataset_sizes": [1, 0]}, r"tasks.t.dataset_sizes"),
        (
            {"env_id": "CartPole-v1", "dataset_sizes": [4, 11], "num_expert_trajectories": 5},
            r"a dataset of 11 trajectories cannot be drawn from num_expert_trajectories=5",
        ),
        (
            {"env_id": "CartPole-v1", "batchsize": 10},
            r"tasks.t.batchsize: unknown setting \(did you mean 'batch_size'\?\)",
        ),
        ({"env_id": "CartPole-v1", "expert": {"iterations": 0}}, r"tasks.t.expert.iterations"),
        ({"env_id": "CartPole-v1", "expert": {"hidden": [3]}}, r"tasks.t.expert.hidden: unknown setting"),
        ({"env_id": "CartPole-v1", "expert": {"stop_window": 0}}, r"tasks.t.expert.stop_window"),
        (
            {"env_id": "CartPole-v1", "expert": {"trainer": "sac"}},
            r"tasks.t.expert.trainer: expected one of trpo, ppo, got 'sac'",
        ),
    ],
)
def test_bad_task_config_names_the_field(config, message):
    with pytest.raises(ConfigError, match=message):
        TaskSpec.from_config("t", config)


def test_project_config_defines_the_nine_paper_tasks():
    params = {"tasks": _project_tasks(), "grid": {"tasks": "cartpole+hopper"}}
    tasks = parse_tasks(params["tasks"])
    assert list(tasks) == [
        "cartpole",
        "acrobot",
        "mountaincar",
        "reacher",
        "halfcheetah",
        "hopper",
        "walker",
        "ant",
        "humanoid",
    ]
    assert tasks["cartpole"].max_episode_steps == 200
    assert tasks["humanoid"].dataset_sizes == (80, 160, 240)
    assert tasks["reacher"].subsample_interval == 1
    assert [t.name for t in selected_tasks(params)] == ["cartpole", "hopper"]
    for task in tasks.values():  # every paper env exists and has a supported action space
        make_env(task).close()


def test_grid_rejects_unknown_task():
    with pytest.raises(ConfigError, match=r"grid.tasks: unknown task\(s\) \['hoper'\]"):
        selected_tasks({"tasks": _project_tasks(), "grid": {"tasks": ["hoper"]}})


def _project_tasks():
    from pathlib import Path

    import yaml

    return yaml.safe_load((Path(__file__).parents[1] / "conf/base/tasks.yml").read_text())["tasks"]


def test_grid_units_follow_the_overrides():
    from gail_pipeline.grid import units

    params = {
        "tasks": _project_tasks(),
        "grid": {
            "tasks": ["cartpole", "hopper"],
            "algorithms": "bc+gail",
            "dataset_sizes": "extremes",
            "seeds": 2,
            "iterations": None,
        },
    }
    grid = units(params)
    assert {(u.task.name, u.dataset_size) for u in grid} == {
        ("cartpole", 1),
        ("cartpole", 10),
        ("hopper", 4),
        ("hopper", 25),
    }
    assert len(grid) == 2 * 2 * 2 * 2
    assert {u.iterations for u in grid if u.task.name == "hopper"} == {500}
    assert grid[0].namespace == "cartpole.bc.n1.s0"
    params["grid"]["algorithms"] = ["gail", "dagger"]
    with pytest.raises(ConfigError, match=r"grid.algorithms: unknown algorithm\(s\) \['dagger'\]"):
        units(params)
    params["grid"].update(algorithms=["gail"], dataset_sizes=[2, 3])
    with pytest.raises(ConfigError, match="grid.dataset_sizes: none of"):
        units(params)
    params["grid"].update(dataset_sizes=None, seeds=0)
    with pytest.raises(ConfigError, match="grid.seeds"):
        units(params)


def test_a_grid_budget_in_env_steps_sets_each_tasks_iterations():
    """grid.env_steps: the same env steps for tasks of different batches (CartPole 1,000, Hopper
    50,000 per iteration), rounded up to whole iterations; grid.iterations, when set, wins."""
    from gail_pipeline.grid import units

    grid = {"tasks": ["cartpole", "hopper"], "algorithms": ["gail"], "dataset_sizes": [1, 4], "seeds": 1}
    params = {"tasks": _project_tasks(), "grid": {**grid, "iterations": None, "env_steps": 120_000}}
    assert {(u.task.name, u.iterations) for u in units(params)} == {("cartpole", 120), ("hopper", 3)}
    params["grid"]["iterations"] = 7
    assert {u.iterations for u in units(params)} == {7}
    params["grid"].update(iterations=None, env_steps=-5)
    with pytest.raises(ConfigError, match="grid.env_steps: expected a positive integer or null"):
        units(params)


def test_conf_paper_runs_the_classic_tasks_at_the_papers_batches():
    """conf/base runs the classic tasks at 1,000-step batches, 1,500 of them; conf/paper at the
    paper's 5,000 × 300 (its table), the same 1.5M env steps."""
    from gail_pipeline.config_loader import parameters_from_conf

    base, paper = (parameters_from_conf(env)["tasks"] for env in ("base", "paper"))
    for task in ("cartpole", "acrobot", "mountaincar"):
        assert (paper[task]["batch_size"], paper[task]["iterations"]) == (5000, 300)
        assert (base[task]["batch_size"], base[task]["iterations"]) == (1000, 1500)
    assert parameters_from_conf("paper")["grid"]["env_steps"] is None


def test_grids_of_different_configurations_write_to_different_folders():
    from pathlib import Path

    from kedro.config import OmegaConfigLoader

    from gail_pipeline import settings

    conf = str(Path(__file__).parents[1] / "conf")
    paths = {
        env: OmegaConfigLoader(conf, env=env, **settings.CONFIG_LOADER_ARGS)["catalog"][
            "{task}.{algorithm}.n{size}.s{seed}.policy"
        ]["filepath"]
        for env in ("local", "paper")
    }
    assert paths["local"] == "data/06_models/quick/{task}/{algorithm}/n{size}/s{seed}/policy.pt"
    assert paths["paper"] == "data/06_models/paper/{task}/{algorithm}/n{size}/s{seed}/policy.pt"


def test_gail_configs_run_beside_the_recipe_for_the_same_env_steps():
    """grid.gail_configs: GAIL's recipe, the paper's settings (at the paper's batch, as many env steps)
    and the frozen-discriminator control as units of one grid, each named by its config; a mapping
    gives a config its own sizes."""
    from gail_pipeline.grid import parse_label, units

    grid = {"tasks": ["cartpole"], "algorithms": ["bc", "gail"], "dataset_sizes": [1, 10], "seeds": 1}
    params = {"tasks": _project_tasks(), "grid": {**grid, "gail_configs": "recipe+paper+frozen_d"}}
    names = {u.namespace: u.iterations for u in units(params)}
    assert names == {
        "cartpole.bc.n1.s0": 1500,
        "cartpole.bc.n10.s0": 1500,
        "cartpole.gail.n1.s0": 1500,
        "cartpole.gail.n10.s0": 1500,
        "cartpole.gail_paper.n1.s0": 300,  # 5,000-step batches: the same 1.5M env steps
        "cartpole.gail_paper.n10.s0": 300,
        "cartpole.gail_frozen_d.n1.s0": 1500,
        "cartpole.gail_frozen_d.n10.s0": 1500,
    }
    assert parse_label("gail_frozen_d") == ("gail", "frozen_d") and parse_label("bc") == ("bc", "recipe")
    params["grid"].update(dataset_sizes=None, gail_configs={"recipe": None, "frozen_d": "extremes"})
    frozen = [u for u in units(params) if u.config == "frozen_d"]
    assert [u.dataset_size for u in frozen] == [1, 10]
    assert len([u for u in units(params) if u.config == "recipe" and u.algorithm == "gail"]) == 4
    params["grid"]["gail_configs"] = {"frozen_d": {"cartpole": [10], "hopper": None}}
    assert [(u.label, u.dataset_size) for u in units(params) if u.algorithm == "gail"] == [
        ("gail_frozen_d", 10)
    ]
    for bad, message in (
        ({"frozen_d": {"cartpol": None}}, r"grid.gail_configs.frozen_d: unknown task\(s\) \['cartpol'\]"),
        ({"frozen_d": {"cartpole": [3]}}, "grid.gail_configs.frozen_d.cartpole: none of"),
        (["recipe", "dagger"], r"grid.gail_configs: unknown config\(s\) \['dagger'\]"),
        ({"paper": [3]}, "grid.gail_configs.paper: none of"),
        (7, "grid.gail_configs: expected a list"),
    ):
        params["grid"]["gail_configs"] = bad
        with pytest.raises(ConfigError, match=message):
            units(params)
    params["grid"].update(algorithms=["bc"], gail_configs=["paper"])
    with pytest.raises(ConfigError, match="GAIL is not among grid.algorithms"):
        units(params)


def test_a_gail_config_sets_the_settings_and_the_batch():
    import dataclasses

    from gail_pipeline.config_loader import parameters_from_conf
    from gail_pipeline.imitation import ImitationSettings
    from gail_pipeline.imitation.configs import config_iterations, config_settings, config_task
    from gail_pipeline.tasks import TaskSpec

    conf = parameters_from_conf("mujoco")
    recipe = ImitationSettings.parse({**conf["imitation"], "update_threads": 1, "eval_every": 3})
    assert config_settings(recipe, "recipe") is recipe
    frozen = config_settings(recipe, "frozen_d")
    assert frozen.gail == dataclasses.replace(recipe.gail, learning_rate=0.0) and frozen.trpo == recipe.trpo
    paper = config_settings(recipe, "paper")
    # every learning setting the paper's (the value fit too), where and how it runs the run's
    assert dataclasses.replace(paper, update_threads="auto", eval_every=0, checkpoint_dir=None) == (
        ImitationSettings()
    )
    assert (paper.update_threads, paper.eval_every, paper.checkpoint_dir) == (1, 3, recipe.checkpoint_dir)
    hopper = TaskSpec.from_config("hopper", conf["tasks"]["hopper"])
    assert (hopper.batch_size, config_task(hopper, "paper").batch_size) == (10_000, 50_000)
    assert config_iterations(hopper, "paper", 501) == 101  # 5.01M env steps: whole 50,000-step batches
    assert config_task(hopper, "frozen_d") is hopper and config_iterations(hopper, "recipe", 501) == 501
    with pytest.raises(ConfigError, match="GAIL config 'dac'"):
        config_settings(recipe, "dac")
    with pytest.raises(ConfigError, match="paper_batch_size"):
        TaskSpec.from_config("hopper", {**conf["tasks"]["hopper"], "paper_batch_size": 0})


def test_grid_seeds_per_algorithm():
    from gail_pipeline.grid import units

    grid = {
        "tasks": ["hopper"],
        "algorithms": ["bc", "fem", "gail"],
        "dataset_sizes": [4],
        "seeds": {"gail": 3},
    }
    params = {"tasks": _project_tasks(), "grid": grid}
    assert [(u.algorithm, u.seed) for u in units(params)] == [
        ("bc", 0),
        ("fem", 0),
        ("gail", 0),
        ("gail", 1),
        ("gail", 2),
    ]
    for bad, message in (
        ({"dagger": 2}, r"grid.seeds: unknown algorithm\(s\) \['dagger'\]"),
        ({"bc": 0}, "grid.seeds.bc"),
    ):
        params["grid"]["seeds"] = bad
        with pytest.raises(ConfigError, match=message):
            units(params)


def test_a_named_gail_config_needs_a_name_and_settings_of_its_own():
    from gail_pipeline.grid import units

    grid = {"tasks": ["cartpole"], "algorithms": ["gail"], "dataset_sizes": [1], "seeds": 1}
    params = {"tasks": _project_tasks(), "grid": {**grid, "gail_configs": ["entropy_1e3"]}}
    with pytest.raises(ConfigError, match=r"unknown config\(s\) \['entropy_1e3'\].*gail_config_settings"):
        units(params)
    params["gail_config_settings"] = {"entropy_1e3": {"gail": {"causal_entropy": 0.001}}}
    assert [u.namespace for u in units(params)] == ["cartpole.gail_entropy_1e3.n1.s0"]
    for bad, message in (
        ({"paper": {"gail": {"epochs": 2}}}, "gail_config_settings.paper: a config's name"),
        ({"Entropy": {"gail": {"epochs": 2}}}, "gail_config_settings.Entropy: a config's name"),
        ({"entropy_1e3": None}, "gail_config_settings.entropy_1e3: expected a mapping"),
    ):
        params["gail_config_settings"] = bad
        with pytest.raises(ConfigError, match=message):
            units(params)


def test_a_named_gail_configs_bad_setting_is_refused_before_the_run():
    from gail_pipeline.parameters import check_run_parameters

    grid = {"tasks": ["cartpole"], "algorithms": ["gail"], "dataset_sizes": [1], "seeds": 1}
    params = {
        "tasks": _project_tasks(),
        "grid": {**grid, "gail_configs": ["recipe", "entropy_1e3"]},
        "gail_config_settings": {"entropy_1e3": {"gail": {"causal_entropi": 0.001}}},
    }
    with pytest.raises(
        ConfigError, match="gail_config_settings.entropy_1e3.gail.causal_entropi: unknown setting"
    ):
        check_run_parameters(params)


_BUILD_HALFCHEETAH_THREE_TIMES = """
import logging, sys
logging.basicConfig(stream=sys.stdout, level=logging.WARNING, format="%(name)s|%(message)s")
from gail_pipeline.tasks import TaskSpec, make_env
import gymnasium as gym
task = TaskSpec.from_config("halfcheetah", {"env_id": "HalfCheetah-v5"})
for _ in range(3):
    (make_env(task) if sys.argv[1] == "make_env" else gym.make("HalfCheetah-v5")).close()
"""


def _build_halfcheetah_three_times(how):
    done = subprocess.run(
        [sys.executable, "-c", _BUILD_HALFCHEETAH_THREE_TIMES, how],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr


def test_mujoco_warnings_are_logged_once_not_printed_per_environment():
    _, raw_stderr = _build_halfcheetah_three_times("gym.make")
    if "WARNING:" not in raw_stderr:
        pytest.skip("this MuJoCo compiles HalfCheetah's model without a warning: nothing to route")
    assert raw_stderr.count("WARNING:") == 3  # MuJoCo's own handler: one print per environment
    stdout, stderr = _build_halfcheetah_three_times("make_env")
    assert "WARNING:" not in stderr
    logged = [line for line in stdout.splitlines() if line.startswith("gail_pipeline.mujoco|MuJoCo: ")]
    assert len(logged) == 1, stdout
    assert raw_stderr.split("WARNING:")[1].strip().splitlines()[0] in logged[0]
