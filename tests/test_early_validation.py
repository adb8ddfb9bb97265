"""A bad value in any settings group stops ``kedro run`` before any node has run: nothing is
trained, nothing is saved (the parameters of every group are parsed for every task and unit of
the grid first, by ``gail_pipeline.parameters.check_run_parameters``)."""

import pytest
from kedro.framework.session import KedroSession

from gail_pipeline.config import ConfigError
from tests.conftest import TINY

BAD = [
    # (group, runtime parameters changed from TINY, the message's start)
    ("tasks", {"tasks": {"cartpole": {"batch_size": 0}}}, "tasks.cartpole.batch_size"),
    ("grid", {"grid": {"seeds": 0}}, "grid.seeds"),
    ("tasks budget", {"tasks": {"cartpole": {"max_env_steps": 0}}}, "tasks.cartpole.max_env_steps"),
    ("tasks env_id", {"tasks": {"cartpole": {"env_id": "CartPol-v1"}}}, "'CartPol-v1' is not a registered"),
    ("expert", {"expert": {"seed": -1}}, "expert.seed: expected a non-negative integer"),
    ("expert.trpo", {"expert": {"trpo": {"max_kl": -0.1}}}, "expert.trpo.max_kl: impossible value -0.1"),
    ("expert.ppo", {"expert": {"ppo": {"clip": 0.0}}}, "expert.ppo.clip: impossible value 0.0"),
    (
        "task expert.trpo",
        {"tasks": {"cartpole": {"expert": {"trpo": {"gamma": 2.0}}}}},
        "tasks.cartpole.expert.trpo.gamma",
    ),
    (
        "expert.sampler",
        {"expert": {"sampler": {"backend": "threads"}}},
        "expert.sampler.backend: expected one of",
    ),
    ("demonstrations", {"demonstrations": {"seed": "zero"}}, "demonstrations.seed: expected an integer"),
    (
        "imitation",
        {"imitation": {"num_envs": 0}},
        "imitation.num_envs: expected a positive integer or 'auto'",
    ),
    (
        "imitation.gail",
        {"imitation": {"gail": {"learning_rate": -1.0}}},
        "imitation.gail.learning_rate: impossible value -1.0",
    ),
    (
        "imitation.trpo",
        {"imitation": {"trpo": {"cg_iters": 0}}},
        "imitation.trpo.cg_iters: impossible value 0",
    ),
    (
        "imitation.bc",
        {"imitation": {"bc": {"train_fraction": 1.5}}},
        "imitation.bc.train_fraction: impossible value 1.5",
    ),
    (
        "imitation device",
        {"imitation": {"device": "tpu"}},
        "imitation.device: expected auto, cpu, cuda or cuda:N",
    ),
    (
        "imitation unknown key",
        {"imitation": {"gail": {"learnin_rate": 0.1}}},
        "imitation.gail.learnin_rate: unknown setting",
    ),
    ("evaluation", {"evaluation": {"seed": -3}}, "evaluation.seed: expected a non-negative integer"),
    ("dask", {"dask": {"local_workers": 0}}, "dask.local_workers: expected a positive integer"),
]


def _merged(base: dict, change: dict) -> dict:
    out = dict(base)
    for key, value in change.items():
        out[key] = (
            _merged(base.get(key, {}), value)
            if isinstance(value, dict) and isinstance(base.get(key), dict)
            else value
        )
    return out


@pytest.mark.parametrize(("group", "change", "message"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_value_stops_the_run_before_any_node(project, group, change, message):
    params = _merged(TINY, change)
    with pytest.raises(ConfigError, match=message):
        with KedroSession.create(project_path=project, runtime_params=params) as session:
            session.run()
    written = [p for p in (project / "data").rglob("*") if p.is_file() and "01_raw" not in p.parts]
    assert written == [], f"{group}: files written before the error: {written[:5]}"


def test_the_same_grid_with_good_values_runs(project):
    # The check refuses only bad values: the tiny grid itself passes it and trains.
    with KedroSession.create(project_path=project, runtime_params=TINY) as session:
        session.run(pipeline_names=["expert"])
    assert list((project / "data/06_models/cartpole/expert_policy.pt").iterdir())


@pytest.mark.slow
def test_a_grid_continued_under_other_settings_is_refused_before_it_keeps_a_unit(project):
    """``--only-missing-outputs`` keeps finished units: one trained under other settings than the
    run now gives it (here GAIL's recipe changed) stops the run before any node, naming the unit
    and the setting; BC, which does not read GAIL's settings, is not named; nothing is written.
    Under the same settings the continued run goes on (and trains nothing)."""
    grid = {**TINY["grid"], "algorithms": ["bc", "gail"], "dataset_sizes": [1]}
    params = {**TINY, "grid": grid}
    with KedroSession.create(project_path=project, runtime_params=params) as session:
        session.run(pipeline_names=["expert", "demonstrations", "imitation"])
    files = sorted(p for p in (project / "data").rglob("*") if p.is_file())
    changed = _merged(params, {"imitation": {"gail": {"neutral_init": False}}})
    message = r"^cartpole\.gail\.n1\.s0: .*imitation\.gail\.neutral_init: True → False"
    with pytest.raises(ConfigError, match=message) as refused:
        with KedroSession.create(project_path=project, runtime_params=changed) as session:
            session.run(pipeline_names=["imitation"], only_missing_outputs=True)
    assert "more units" not in str(refused.value)  # BC's unit is as it was
    assert sorted(p for p in (project / "data").rglob("*") if p.is_file()) == files
    with KedroSession.create(project_path=project, runtime_params=params) as session:
        session.run(pipeline_names=["imitation"], only_missing_outputs=True)
    assert sorted(p for p in (project / "data").rglob("*") if p.is_file()) == files


def test_a_grid_continued_on_other_demonstrations_is_refused_before_it_keeps_a_unit(project):
    """A finished unit trained on other demonstrations than its dataset now holds (here: the
    dataset written again with one trajectory changed, as a retrained expert would) is refused by
    ``--only-missing-outputs`` before any node, naming the unit and the dataset; nothing is
    written."""
    import numpy as np

    grid = {**TINY["grid"], "algorithms": ["bc"], "dataset_sizes": [1]}
    params = {**TINY, "grid": grid}
    with KedroSession.create(project_path=project, runtime_params=params) as session:
        session.run(pipeline_names=["expert", "demonstrations", "imitation"])
        catalog = session.load_context().catalog
    demonstrations = catalog.load("cartpole.demonstrations_n1")
    trajectory = demonstrations.trajectories[0]
    trajectory.observations = trajectory.observations + np.float32(0.01)
    catalog.save("cartpole.demonstrations_n1", demonstrations)
    files = sorted(p for p in (project / "data").rglob("*") if p.is_file())
    digests = r"[0-9a-f]{12} → [0-9a-f]{12}"
    message = rf"^cartpole\.bc\.n1\.s0: .*on other data.*cartpole\.demonstrations_n1: {digests}"
    with pytest.raises(ConfigError, match=message):
        with KedroSession.create(project_path=project, runtime_params=params) as session:
            session.run(pipeline_names=["imitation"], only_missing_outputs=True)
    assert sorted(p for p in (project / "data").rglob("*") if p.is_file()) == files
