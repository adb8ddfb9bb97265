"""Bad input, end to end: each case stops a real `kedro run` with one error that names the file,
field or parameter at fault and what was expected — and every file an earlier run saved is still
there, byte for byte. (Unit-level checks of these and more — missing column, wrong dtype, NaN,
empty file, a task whose actions are neither Box nor Discrete — live beside each module's tests.)"""

import copy
import hashlib
import re
import shutil

import gymnasium as gym
import pytest
from kedro.framework.session import KedroSession

from tests.conftest import TINY

gym.register("GailPipelineTestNotInstalled-v0", entry_point="no_such_simulator.envs:World")


def _run(project, params, pipelines):
    with KedroSession.create(project_path=project, runtime_params=params) as session:
        session.run(pipeline_names=pipelines)


def _snapshot(project):
    return {
        p.relative_to(project): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (project / "data").rglob("*")
        if p.is_file()
    }


def _with(**overrides):
    params = copy.deepcopy(TINY)
    for dotted, value in overrides.items():
        node = params
        *path, last = dotted.split("__")
        for key in path:
            node = node.setdefault(key, {})
        node[last] = value
    return params


def _latest(project, pattern):
    return max(project.glob(pattern))


def _corrupt_latest_demonstrations(project):
    path = _latest(
        project, "data/05_model_input/cartpole/demonstrations_n1.parquet/*/demonstrations_n1.parquet"
    )
    data = path.read_bytes()
    target = path.parents[1] / "2099-01-01T00.00.00.000Z" / path.name  # a newer version, torn
    target.parent.mkdir()
    target.write_bytes(data[: len(data) // 2])
    return "data/05_model_input/cartpole/demonstrations_n1.parquet/2099-01-01T00.00.00.000Z"


def _acrobot_policy_as_cartpole_expert(project):
    from gail_pipeline.rl.policies import load_policy, save_policy

    policy = load_policy(project / "data/01_raw/experts/acrobot.pt")
    target = project / "data/06_models/cartpole/expert_policy.pt/2099-01-01T00.00.00.000Z/expert_policy.pt"
    target.parent.mkdir(parents=True)
    save_policy(policy, target)
    return "data/06_models/cartpole/expert_policy.pt/2099-01-01T00.00.00.000Z"


CASES = [
    # (what, params, pipelines, prepare the files, expected message)
    (
        "unknown env id",
        _with(tasks__cartpole__env_id="CartPol-v1"),
        ["imitation"],
        None,
        r"env_id 'CartPol-v1' is not a registered Gymnasium environment. Did you mean CartPole-v1",
    ),
    (
        "env id whose package is not installed",
        _with(tasks__cartpole__env_id="GailPipelineTestNotInstalled-v0"),
        ["imitation"],
        None,
        r"tasks.cartpole: gymnasium.make\('GailPipelineTestNotInstalled-v0'\) failed: .*no_such_simulator",
    ),
    (
        "trajectories of another env (task switched to Acrobot)",
        _with(tasks__cartpole__env_id="Acrobot-v1"),
        ["imitation"],
        None,
        r"cartpole.demonstrations_n1: trajectories of 'CartPole-v1', task 'cartpole' is 'Acrobot-v1'",
    ),
    (
        "truncated (corrupt) trajectory Parquet",
        TINY,
        ["imitation"],
        _corrupt_latest_demonstrations,
        r"demonstrations_n1.parquet: not a readable Parquet file",
    ),
    (
        "dataset size above the trajectories sampled",
        _with(tasks__cartpole__num_expert_trajectories=1),
        ["demonstrations"],
        None,
        r"a dataset of 2 trajectories cannot be drawn from num_expert_trajectories=1",
    ),
    (
        "expert file of another env",
        TINY,
        ["demonstrations"],
        _acrobot_policy_as_cartpole_expert,
        r"expert_policy.pt: trained on 'Acrobot-v1', but task 'cartpole' is 'CartPole-v1'",
    ),
    (
        "negative batch size",
        _with(tasks__cartpole__batch_size=-300),
        ["imitation"],
        None,
        r"tasks.cartpole.batch_size: expected a positive integer, got -300",
    ),
    (
        "KL limit 0",
        _with(imitation__trpo={"max_kl": 0.0}),
        ["imitation"],
        None,
        r"imitation.trpo.max_kl: impossible value 0.0",
    ),
    (
        "unknown algorithm",
        _with(grid__algorithms=["bc", "gale"]),
        ["imitation"],
        None,
        r"grid.algorithms: unknown algorithm\(s\) \['gale'\]; known: \['bc', 'fem', 'gtal', 'gail'\]",
    ),
    (
        "unknown TRPO setting",
        _with(imitation__trpo={"max_kll": 0.01}),
        ["imitation"],
        None,
        r"imitation.trpo.max_kll: unknown setting \(did you mean 'max_kl'\?\)",
    ),
]


@pytest.mark.slow
def test_each_bad_input_gets_one_clear_error_and_loses_nothing(project, capsys):
    _run(project, TINY, ["expert", "demonstrations", "imitation", "evaluation"])
    messages = []
    for what, params, pipelines, prepare, expected in CASES:
        added = prepare(project) if prepare else None
        before = _snapshot(project)
        with pytest.raises(Exception) as info:
            _run(project, params, pipelines)
        message = str(info.value)
        assert re.search(expected, message), f"{what}: got {message!r}"
        after = _snapshot(project)
        lost = {p for p in before if after.get(p) != before[p]}
        assert not lost, f"{what}: earlier files changed or lost: {sorted(lost)[:5]}"
        messages.append(f"{what}: {type(info.value).__name__}: {' | '.join(message.splitlines())}")
        if added:
            shutil.rmtree(project / added)
    with capsys.disabled():
        print("\n" + "\n".join(messages))


def _expert_trajectories(spoil=None):
    """Two CartPole episodes of 12 and 9 steps (file rows 0-11 and 12-20), made up."""
    import numpy as np

    from gail_pipeline.trajectories import Demonstrations, Trajectory

    rng = np.random.default_rng(0)
    trajectories = [
        Trajectory(
            observations=rng.normal(size=(n, 4)).astype(np.float32),
            actions=rng.integers(0, 2, n).astype(np.int64),
            rewards=np.ones(n),
            terminated=n == 9,
            truncated=n == 12,
        )
        for n in (12, 9)
    ]
    if spoil:
        spoil(trajectories)
    return Demonstrations(trajectories, "CartPole-v1", {"task": "cartpole"})


def _set_action(value):
    def spoil(trajectories):
        trajectories[1].actions[3] = value  # file row 15

    return spoil


def _no_episode_ends(trajectories):
    for trajectory in trajectories:
        trajectory.terminated = trajectory.truncated = False


BAD_EXPERT_TRAJECTORIES = [
    (
        _set_action(7),
        r"cartpole.expert_trajectories \(\S*2099-01-01T00.00.00.000Z/expert_trajectories.parquet\): "
        r"column 'action': row 15 \(trajectory 1, step 3\): discrete action 7 outside the "
        r"environment's 2 actions \(0..1\)",
    ),
    (
        _set_action(-1),
        r"2099-01-01T00.00.00.000Z/expert_trajectories.parquet: column 'action': negative discrete "
        r"action -1 at row 15 \(trajectory 1, step 3\)",
    ),
    (
        _no_episode_ends,
        r"2099-01-01T00.00.00.000Z/expert_trajectories.parquet: columns 'terminated'/'truncated': "
        r"row 11, the last of trajectory 0 \(step 11\), has neither flag set",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("spoil", "expected"), BAD_EXPERT_TRAJECTORIES, ids=["action 7", "action -1", "no episode ends"]
)
def test_bad_expert_trajectories_stop_the_demonstrations_stage_before_it_saves(project, spoil, expected):
    from gail_pipeline.trajectories import write_trajectories

    def save(demonstrations, version):
        name = "expert_trajectories.parquet"
        write_trajectories(demonstrations, project / "data/03_primary/cartpole" / name / version / name)

    def subsample():
        with KedroSession.create(project_path=project, runtime_params=TINY) as session:
            session.run(pipeline_names=["demonstrations"], from_nodes=["cartpole.subsample_datasets"])

    save(_expert_trajectories(), "2026-01-01T00.00.00.000Z")  # good ones pass
    subsample()
    datasets = "data/05_model_input/cartpole/demonstrations_n*.parquet/*/demonstrations_n*.parquet"
    assert len(list(project.glob(datasets))) == 2
    before = _snapshot(project)
    save(_expert_trajectories(spoil), "2099-01-01T00.00.00.000Z")  # then a newer, bad version
    with pytest.raises(Exception) as info:
        subsample()
    assert re.search(expected, str(info.value)), str(info.value)
    after = _snapshot(project)
    after.pop(next(p for p in after if "2099-01-01" in str(p)))
    assert after == before  # no dataset written, nothing changed or lost
