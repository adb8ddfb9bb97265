"""The runtime settings every training stage reads: checked, with errors that name the key."""

import dataclasses

import pytest

from gail_pipeline.config import ConfigError, parse_settings
from gail_pipeline.config_loader import parameters_from_conf
from gail_pipeline.experts import ExpertSettings
from gail_pipeline.imitation import ImitationSettings
from gail_pipeline.imitation.gail import GAILConfig


def test_num_envs_auto_is_one_full_length_episode_per_env():
    auto = ImitationSettings.parse({"num_envs": "auto"})
    assert auto.envs_for(5000, 200) == 25
    assert auto.envs_for(50_000, 1000) == 50
    assert auto.envs_for(50_000, 50) == 64  # capped
    assert auto.envs_for(100, 1000) == 1
    assert ImitationSettings.parse({"num_envs": 3}).envs_for(5000, 200) == 3
    for bad in (0, -2, 2.5, True, "many"):
        with pytest.raises(ConfigError, match="imitation.num_envs: expected a positive integer or 'auto'"):
            ImitationSettings.parse({"num_envs": bad})


def test_sampler_settings_are_checked():
    assert ImitationSettings.parse({}).sampler_kwargs() == {"sampler_backend": "auto", "num_workers": None}
    expert = ExpertSettings.parse({"sampler": {"backend": "workers", "num_workers": 2}})
    assert expert.sampler_kwargs() == {"sampler_backend": "workers", "num_workers": 2}
    with pytest.raises(ConfigError, match="imitation.sampler.backend: expected one of auto, inprocess"):
        ImitationSettings.parse({"sampler": {"backend": "threads"}})
    with pytest.raises(ConfigError, match="expert.sampler.num_workers: expected a positive integer"):
        ExpertSettings.parse({"sampler": {"num_workers": 0}})
    with pytest.raises(
        ConfigError, match=r"imitation.sampler.workers: unknown setting \(did you mean 'num_workers'"
    ):
        ImitationSettings.parse({"sampler": {"workers": 2}})


def test_update_threads_setting():
    assert ImitationSettings.parse({}).threads() is None  # auto
    assert ExpertSettings.parse({"update_threads": "auto"}).threads() is None
    assert ExpertSettings.parse({"update_threads": 3}).threads() == 3
    for bad in (0, -1, 1.5, True, "all"):
        with pytest.raises(
            ConfigError, match="imitation.update_threads: expected a positive integer or 'auto'"
        ):
            ImitationSettings.parse({"update_threads": bad})


def test_unknown_keys_wrong_types_and_impossible_values_are_named_in_one_style():
    with pytest.raises(
        ConfigError, match=r"imitation.gail.learnin_rate: unknown setting \(did you mean 'learning_rate'"
    ):
        ImitationSettings.parse({"gail": {"learnin_rate": 0.1}})
    with pytest.raises(ConfigError, match="imitation.gail.learning_rate: impossible value -1.0"):
        ImitationSettings.parse({"gail": {"learning_rate": -1.0}})
    with pytest.raises(ConfigError, match="imitation.bc.minibatch_size: expected an integer, got 'many'"):
        ImitationSettings.parse({"bc": {"minibatch_size": "many"}})
    with pytest.raises(ConfigError, match="imitation.trpo: expected a mapping of settings"):
        ImitationSettings.parse({"trpo": [1, 2]})
    with pytest.raises(ConfigError, match="expert.ppo.schedule.10.learning_rate: impossible value -1.0"):
        ExpertSettings.parse({"ppo": {"schedule": {10: {"learning_rate": -1.0}}}})
    with pytest.raises(ConfigError, match="expert.seed: expected a non-negative integer, got -1"):
        ExpertSettings.parse({"seed": -1})


def test_parsed_settings_are_the_dataclass_defaults_where_the_yaml_is_silent():
    settings = ImitationSettings.parse(
        {"gail": {"causal_entropy": 0.01}, "trpo": {"value_hidden_sizes": [8]}}
    )
    assert settings.gail.causal_entropy == 0.01 and settings.gail.learning_rate == 0.01
    assert settings.trpo.value_hidden_sizes == (8,) and settings.trpo.max_kl == 0.01
    assert parse_settings(ImitationSettings, None, "imitation") == ImitationSettings()


def test_conf_paper_puts_back_every_setting_the_recipe_changes():
    """`--env paper` runs the paper's GAIL: the dataclasses' defaults, whatever conf/base's recipe sets."""
    paper = ImitationSettings.parse(parameters_from_conf("paper")["imitation"])
    recipe = ImitationSettings.parse(parameters_from_conf("base")["imitation"])
    assert paper.gail == GAILConfig() and recipe.gail != GAILConfig()
    assert dataclasses.replace(paper, checkpoint_dir=None) == ImitationSettings()
    mujoco = ImitationSettings.parse(parameters_from_conf("mujoco")["imitation"])
    # the recipe + the gradient penalty + the BC warm start with D-only iterations + the cap on
    # the absorbing state's reward (MuJoCo's tasks end on failure only)
    assert mujoco.gail == dataclasses.replace(
        recipe.gail,
        gradient_penalty=10.0,
        bc_warm_start=True,
        warmup_iterations=10,
        absorbing_reward_cap=True,
    )
    assert not recipe.gail.absorbing_reward_cap  # MountainCar and Acrobot end on success


def test_conf_appendix_b_is_the_papers_grid_at_a_fifth_of_its_env_steps_with_each_tasks_recipe():
    """conf/appendix_b runs every task of the paper: the classic tasks with conf/base's recipe, the
    MuJoCo tasks with conf/mujoco's (through tasks.<task>.imitation), each at a fifth of the
    paper's env steps."""
    from gail_pipeline.grid import units
    from gail_pipeline.imitation.configs import unit_settings
    from gail_pipeline.tasks import TaskSpec

    conf, base, mujoco, paper = (
        parameters_from_conf(env) for env in ("appendix_b", "base", "mujoco", "paper")
    )
    recipe = {  # each task's as its env trains it (conf/mujoco: some tasks with their own settings)
        env: {
            name: unit_settings(params["imitation"], TaskSpec.from_config(name, params["tasks"][name]))
            for name in params["tasks"]
        }
        for env, params in (("base", base), ("mujoco", mujoco))
    }
    grid = units(conf)
    assert {u.task.name for u in grid} == set(paper["grid"]["tasks"])
    for name in paper["grid"]["tasks"]:
        task = TaskSpec.from_config(name, conf["tasks"][name])
        papers = TaskSpec.from_config(name, paper["tasks"][name])
        assert task.batch_size * task.iterations * 5 == papers.batch_size * papers.iterations, name
        env = "base" if name in ("cartpole", "acrobot", "mountaincar") else "mujoco"
        assert unit_settings(conf["imitation"], task) == recipe[env][name], name
        if env == "mujoco":
            assert task.batch_size == TaskSpec.from_config(name, mujoco["tasks"][name]).batch_size
    configs = {(u.task.name, u.config, u.dataset_size) for u in grid if u.algorithm == "gail"}
    assert ("hopper", "paper", 4) in configs and ("hopper", "paper", 11) not in configs
    assert ("humanoid", "frozen_d", 240) in configs and ("humanoid", "recipe", 160) in configs
    assert ("hopper", "frozen_d", 11) not in configs and ("cartpole", "frozen_d", 7) in configs
    seeds = {(u.algorithm, u.seed) for u in grid if u.task.name == "ant"}
    assert seeds == {
        ("bc", 0),
        ("bc", 1),
        ("bc", 2),
        ("fem", 0),
        ("gtal", 0),
        ("gail", 0),
        ("gail", 1),
        ("gail", 2),
    }
    # the paper's causal-entropy study: Reacher at 4 trajectories, λ 0 (the recipe), 1e-3, 1e-2, 7 seeds
    study = {(u.config, u.dataset_size) for u in grid if u.config.startswith("entropy")}
    assert study == {("entropy_1e3", 4), ("entropy_1e2", 4)}
    assert len([u for u in grid if (u.task.name, u.label, u.dataset_size) == ("reacher", "gail", 4)]) == 7
    for config, weight in (("entropy_1e3", 0.001), ("entropy_1e2", 0.01)):
        (unit, *others) = [u for u in grid if u.config == config]
        assert len(others) == 6 and unit.task.name == "reacher"
        settings = unit_settings(conf["imitation"], unit.task, config, conf["gail_config_settings"][config])
        assert settings.gail.causal_entropy == weight
        assert dataclasses.replace(settings.gail, causal_entropy=0.0) == recipe["mujoco"]["reacher"].gail


def test_a_tasks_own_imitation_settings_merge_over_the_runs():
    from gail_pipeline.config import ConfigError
    from gail_pipeline.imitation.configs import unit_settings
    from gail_pipeline.tasks import TaskSpec

    run = {"gail": {"reward": "logit", "absorbing_states": True, "learning_rate": 0.001}, "eval_every": 5}
    hopper = TaskSpec.from_config(
        "hopper", {"env_id": "Hopper-v5", "imitation": {"gail": {"gradient_penalty": 10.0}}}
    )
    settings = unit_settings(run, hopper)
    assert (settings.gail.gradient_penalty, settings.gail.learning_rate, settings.eval_every) == (
        10.0,
        0.001,
        5,
    )
    assert unit_settings(run, hopper, "frozen_d").gail.learning_rate == 0.0
    assert unit_settings(run, hopper, "paper").gail == GAILConfig()
    bad = TaskSpec.from_config(
        "hopper", {"env_id": "Hopper-v5", "imitation": {"gail": {"gradient_penalt": 1.0}}}
    )
    with pytest.raises(ConfigError, match=r"tasks.hopper.imitation.gail.gradient_penalt: unknown setting"):
        unit_settings(run, bad)
    with pytest.raises(ConfigError, match="tasks.hopper.imitation: expected a mapping"):
        TaskSpec.from_config("hopper", {"env_id": "Hopper-v5", "imitation": "recipe"})
