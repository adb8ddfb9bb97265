"""Shipping an expert (``gail_pipeline.experts``): the latest trained expert and a manifest of its
measured returns go to ``data/01_raw/experts``, where they stand in for the expert stage."""

import json
import subprocess
import sys
from functools import partial

import gymnasium as gym
import numpy as np
import pytest
from kedro.framework.session import KedroSession

from gail_pipeline.experts import latest_version, ship_expert
from gail_pipeline.rl.evaluation import evaluate
from gail_pipeline.rl.policies import load_policy, make_policy, save_policy
from gail_pipeline.tasks import TaskSpec, make_env
from tests.conftest import TINY

HORIZON = 200


@pytest.mark.slow
def test_shipping_a_trained_expert_copies_its_file_and_writes_a_manifest_of_its_returns(project):
    # A 2-iteration TRPO expert and its reference returns, on 200-step episodes (on TINY's 50 it
    # balances to the limit in every episode, as the shipped expert does).
    params = {**TINY, "tasks": {"cartpole": {**TINY["tasks"]["cartpole"], "max_episode_steps": HORIZON}}}
    with KedroSession.create(project_path=project, runtime_params=params) as session:
        session.run(pipeline_names=["expert"])
    data = project / "data"
    trained = latest_version(data / "06_models/cartpole/expert_policy.pt")
    returns = json.loads(latest_version(data / "08_reporting/cartpole/reference_returns.json").read_text())
    target = data / "01_raw/experts"
    old_manifest = json.loads((target / "cartpole.json").read_text())

    done = subprocess.run(
        [sys.executable, "-m", "gail_pipeline.experts", "cartpole", "--data-dir", "data"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    # The file shipped is the latest trained one, byte for byte (not the one shipped before).
    assert (target / "cartpole.pt").read_bytes() == trained.read_bytes()
    manifest = json.loads((target / "cartpole.json").read_text())
    policy = load_policy(target / "cartpole.pt")
    version = trained.parent.name
    assert manifest["shipped_from_version"] == manifest["expert_version"] == version
    assert manifest["env_id"] == "CartPole-v1" and manifest["task"] == "cartpole"
    assert manifest["iterations"] == 2 and manifest["seed"] == 0
    assert manifest["env_steps"] == policy.metadata["env_steps"] >= 2 * 300
    for key in ("expert_return_mean", "expert_return_std", "random_return_mean", "expert_returns"):
        assert manifest[key] == returns[key], key
    assert manifest["return_mean"] == returns["expert_return_mean"]
    assert manifest["episodes"] == len(manifest["expert_returns"]) == 5  # TINY's evaluation episodes
    assert manifest["return_mean"] == pytest.approx(np.mean(manifest["expert_returns"]))
    assert f"cartpole: CartPole-v1 {manifest['return_mean']:.2f}" in done.stdout

    # The manifest's returns are the shipped file's: its deterministic episodes, seeded as the
    # expert stage measured them (expert.seed + 10_000), give the same returns.
    task = TaskSpec(name="cartpole", env_id="CartPole-v1", max_episode_steps=HORIZON)
    measured = evaluate(partial(make_env, task), policy, 5, 10_000, deterministic=True)
    assert sorted(measured) == sorted(manifest["expert_returns"])
    # ... and they tell this expert from the one shipped before, which balances all 200 steps.
    assert min(manifest["expert_returns"]) < HORIZON == min(old_manifest["expert_returns"])


def _saved_expert(data, version, **metadata):
    policy = make_policy(gym.spaces.Box(-1, 1, (4,)), gym.spaces.Discrete(2), (4,))
    policy.metadata = {"env_id": "CartPole-v1", **metadata}
    path = data / "06_models/cartpole/expert_policy.pt" / version / "expert_policy.pt"
    path.parent.mkdir(parents=True)
    save_policy(policy, path)
    return path


def _saved_returns(data, version, expert_version):
    path = data / "08_reporting/cartpole/reference_returns.json" / version / "reference_returns.json"
    path.parent.mkdir(parents=True)
    returns = {
        "env_id": "CartPole-v1",
        "episodes": 2,
        "expert_return_mean": 150.0,
        "expert_return_std": 50.0,
        "random_return_mean": 20.0,
        "random_return_std": 1.0,
        "expert_version": expert_version,
        "expert_returns": [100.0, 200.0],
        "random_returns": [19.0, 21.0],
    }
    path.write_text(json.dumps(returns))
    return returns


def test_ship_expert_takes_the_newest_version_and_refuses_returns_of_another(tmp_path):
    data, target = tmp_path / "data", tmp_path / "shipped"
    with pytest.raises(FileNotFoundError, match="expert_policy.pt: no saved version yet"):
        ship_expert("cartpole", data, target)

    old = _saved_expert(data, "2026-01-01T00.00.00.000Z", seed=1, iterations=10, env_steps=100)
    new = _saved_expert(data, "2026-01-02T00.00.00.000Z", seed=2, iterations=20, env_steps=200)
    _saved_returns(data, "2026-01-01T00.00.00.000Z", "2026-01-01T00.00.00.000Z")
    # The returns were measured on the older expert: shipping the newest with them is refused,
    # and nothing is written.
    with pytest.raises(
        ValueError,
        match="measured expert 2026-01-01T00.00.00.000Z, the latest expert is 2026-01-02T00.00.00.000Z",
    ):
        ship_expert("cartpole", data, target)
    assert not target.exists()

    returns = _saved_returns(data, "2026-01-02T00.00.00.000Z", "2026-01-02T00.00.00.000Z")
    manifest = ship_expert("cartpole", data, target)
    assert (target / "cartpole.pt").read_bytes() == new.read_bytes() != old.read_bytes()
    assert json.loads((target / "cartpole.json").read_text()) == manifest
    assert manifest["shipped_from_version"] == "2026-01-02T00.00.00.000Z"
    assert (manifest["seed"], manifest["iterations"], manifest["env_steps"]) == (2, 20, 200)
    assert manifest["return_mean"] == 150.0 and manifest["return_std"] == 50.0
    assert manifest["trainer"] == "trpo" and manifest["deterministic"] is True
    assert manifest["expert_returns"] == returns["expert_returns"]

    # Shipping again after a newer expert and its returns replaces both files.
    newest = _saved_expert(data, "2026-01-03T00.00.00.000Z", seed=3, trainer="ppo")
    _saved_returns(data, "2026-01-03T00.00.00.000Z", "2026-01-03T00.00.00.000Z")
    manifest = ship_expert("cartpole", data, target)
    assert (target / "cartpole.pt").read_bytes() == newest.read_bytes()
    assert manifest["trainer"] == "ppo" and manifest["shipped_from_version"] == "2026-01-03T00.00.00.000Z"
