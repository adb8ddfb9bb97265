"""Nothing lost on interruption, with real `kill -9`s: a training unit (GAIL, FEM, GTAL; BC has no
checkpoints, it trains in seconds) continues from its last checkpoint, trains only the iterations
after it, and ends exactly where an uninterrupted run ends; a grid rerun with
`--only-missing-outputs` trains only the units that had not finished."""

import dataclasses
import re
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from gail_pipeline.rl.policies import load_policy
from gail_pipeline.rl.sampler import RolloutSampler
from gail_pipeline.tasks import TaskSpec, make_env
from gail_pipeline.trajectories import Demonstrations, Trajectory, write_trajectories
from tests.conftest import PROJECT, TINY, process_holding

SCRIPT = PROJECT / "tests" / "scripts" / "train_unit.py"
ITERATIONS = 16
CURVES = "data/08_reporting/quick/cartpole/*/n*/s0/learning_curve.csv/*/learning_curve.csv"


@pytest.fixture
def demos_file(tmp_path):
    task = TaskSpec(name="cartpole", env_id="CartPole-v1", max_episode_steps=100)
    expert = load_policy(PROJECT / "data/01_raw/experts/cartpole.pt")
    trajectories = RolloutSampler(partial(make_env, task), 2, seed=3).sample(expert, num_episodes=2)
    path = tmp_path / "demos.parquet"
    write_trajectories(Demonstrations(trajectories, task.env_id, {"version": "test"}), path)
    return path


def _train(demos, checkpoints, output, algorithm, log: Path):
    """Start one unit; its log (one line per iteration it trains) goes to ``log``."""
    args = [
        sys.executable,
        str(SCRIPT),
        str(demos),
        str(checkpoints),
        str(output),
        str(ITERATIONS),
        algorithm,
    ]
    with log.open("w") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)


def _trained_iterations(log: Path) -> list[int]:
    """The iterations a process trained, from its own log: the node logs every iteration
    (tests/scripts/train_unit.py sets ``log_every: 1``) as ``<unit>: iter i/N ...``."""
    return [int(i) for i in re.findall(rf": iter (\d+)/{ITERATIONS}\b", log.read_text())]


def _checkpointed_iteration(directory: Path) -> int:
    files = list(directory.glob("*.pt"))
    if not files:
        return 0
    try:
        return int(torch.load(files[0], weights_only=False)["learner"]["iteration"])
    except Exception:  # noqa: BLE001 - being replaced this instant: look again
        return 0


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["gail", "fem", "gtal"])
def test_a_unit_killed_halfway_continues_from_its_checkpoint_and_ends_the_same(
    tmp_path, demos_file, capsys, algorithm
):
    straight = tmp_path / "straight.pt"
    proc = _train(demos_file, tmp_path / "ck_straight", straight, algorithm, tmp_path / "straight.log")
    assert proc.wait(timeout=300) == 0, (tmp_path / "straight.log").read_text()[-3000:]
    # The count of trained iterations sees every one of an uninterrupted run.
    assert _trained_iterations(tmp_path / "straight.log") == list(range(1, ITERATIONS + 1))

    checkpoints = tmp_path / "ck"
    killed = tmp_path / "killed.pt"
    proc = _train(demos_file, checkpoints, killed, algorithm, tmp_path / "killed.log")
    deadline = time.time() + 300
    while _checkpointed_iteration(checkpoints) < ITERATIONS // 2 and time.time() < deadline:
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not killed.exists()
    at_kill = _checkpointed_iteration(checkpoints)
    assert ITERATIONS // 2 <= at_kill < ITERATIONS

    rerun_log = tmp_path / "rerun.log"
    proc = _train(demos_file, checkpoints, killed, algorithm, rerun_log)
    assert proc.wait(timeout=300) == 0, rerun_log.read_text()[-3000:]
    # The rerun did less work: it trained exactly the iterations after the checkpoint, counted
    # from its own log (not from the metadata it writes about itself).
    rerun = _trained_iterations(rerun_log)
    assert rerun == list(range(at_kill + 1, ITERATIONS + 1))
    resumed, reference = load_policy(killed), load_policy(straight)
    assert resumed.metadata["resumed_from_iteration"] == at_kill
    for name, value in reference.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name
    curves = [pd.read_csv(f"{p}.curve.csv") for p in (straight, killed)]
    same = [c for c in curves[0] if c != "wall_time" and not c.startswith("time_")]
    assert "learned_reward_mean" in same and "env_steps" in same
    pd.testing.assert_frame_equal(curves[0][same], curves[1][same])
    assert not list(checkpoints.glob("*.pt"))  # a finished unit leaves no checkpoint
    with capsys.disabled():
        print(
            f"\n{algorithm}: killed at checkpoint iteration {at_kill}/{ITERATIONS}; "
            f"the rerun trained {len(rerun)} iterations"
        )


@pytest.mark.slow
def test_a_grid_killed_halfway_reruns_only_its_unfinished_units(project, capsys):
    from kedro.framework.session import KedroSession

    params = {**TINY, "grid": {**TINY["grid"], "iterations": 30}}
    (project / "conf/local/parameters_test.yml").write_text(yaml.safe_dump(params))
    with KedroSession.create(project_path=project) as session:  # the shipped expert's demonstrations
        session.run(pipeline_names=["demonstrations"])
    kedro = [sys.executable, "-m", "kedro", "run", "--pipelines", "imitation"]
    proc = subprocess.Popen(kedro, cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    done: list[Path] = []
    while len(done) < 3 and time.time() < deadline:
        assert proc.poll() is None, "the grid finished before it could be killed"
        done = list(project.glob(CURVES))
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = {p.parents[2] for p in project.glob(CURVES)}
    assert 3 <= len(finished) < 8
    with capsys.disabled():
        print(f"\ngrid killed with {len(finished)} of 8 units finished")
    before = {p: sorted(p.glob("learning_curve.csv/*")) for p in finished}

    rerun = subprocess.run(
        [*kedro, "--only-missing-outputs"], cwd=project, capture_output=True, text=True, check=False
    )
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    all_units = {p.parents[2] for p in project.glob(CURVES)}
    assert len(all_units) == 8
    for unit, versions in before.items():
        assert sorted(unit.glob("learning_curve.csv/*")) == versions, f"{unit} was trained again"


def test_a_checkpoint_is_found_again_whatever_the_task_fields_that_do_not_decide_the_run():
    """The budget, the paper's batch (it sets a `paper` unit's own batch before the run), the
    task's imitation settings (fingerprinted as the settings they become), the grid's sizes and
    seeds, the evaluation's episodes and the evaluations' cadence in training leave a checkpoint's
    name as it was (so a benchmark run and a grid unit of one training share it); a field that
    changes the run (the batch) gives another."""
    import dataclasses
    from types import SimpleNamespace

    from gail_pipeline.imitation import ImitationSettings
    from gail_pipeline.imitation.train import _checkpoint

    task = TaskSpec.from_config("cartpole", {"env_id": "CartPole-v1", "batch_size": 300})
    demos = SimpleNamespace(digest=lambda: "0123456789ab", trajectories=[None])
    settings = ImitationSettings(checkpoint_dir="checkpoints")

    def path(of_task):
        return _checkpoint(of_task, "gail", demos, 0, settings).path

    same = dataclasses.replace(task, iterations=7, paper_batch_size=5000, imitation={"gail": {"epochs": 5}})
    assert path(same) == path(task)
    grid = dataclasses.replace(task, dataset_sizes=(4, 25), seeds=3, evaluation_episodes=10)
    assert path(grid) == path(task)
    cadence = dataclasses.replace(settings, eval_every=5, eval_episodes=3)
    assert _checkpoint(task, "gail", demos, 0, cadence).path == path(task)
    assert path(dataclasses.replace(task, batch_size=600)) != path(task)


def test_a_checkpoint_follows_the_demonstrations_content_not_their_catalog_version():
    """Demonstrations sampled again (a new catalog version, bit for bit the same rows: a fresh
    machine's) continue the same checkpoint; a changed row starts another."""
    import numpy as np

    from gail_pipeline.imitation import ImitationSettings
    from gail_pipeline.imitation.train import _checkpoint

    task = TaskSpec.from_config("cartpole", {"env_id": "CartPole-v1", "batch_size": 300})
    settings = ImitationSettings(checkpoint_dir="checkpoints")

    def demos(version, shift=0.0):
        rows = np.arange(12, dtype=np.float32).reshape(3, 4) + np.float32(shift)
        trajectory = Trajectory(rows, np.zeros(3, dtype=np.int64), np.ones(3), terminated=True)
        return Demonstrations([trajectory], task.env_id, {"version": version})

    def path(of):
        return _checkpoint(task, "gail", of, 0, settings).path

    assert path(demos("2026-12-06T18.04")) == path(demos("2026-12-06T18.10"))
    assert path(demos("2026-12-06T18.04")) != path(demos("2026-12-06T18.04", shift=0.5))


def test_a_setting_added_later_keeps_the_checkpoints_of_the_code_before_it(monkeypatch):
    """A learning setting added after checkpoints existed, at the value that trains as before it
    (``gail.neutral_init: false``), stays out of the checkpoint's name; at another value, another
    name. The name below pins the fingerprint since datasets are identified by their content: a
    setting added later, at its earlier behaviour, must leave it as it is."""
    import dataclasses
    from types import SimpleNamespace

    import gail_pipeline.imitation.train as train
    from gail_pipeline.imitation import ImitationSettings
    from gail_pipeline.imitation.train import _checkpoint

    task = TaskSpec.from_config("cartpole", {"env_id": "CartPole-v1", "batch_size": 300})
    demos = SimpleNamespace(digest=lambda: "0123456789ab", trajectories=[None])
    settings = ImitationSettings(checkpoint_dir="checkpoints")
    name = "cartpole.gail.n1.seed0-b010eafeecc5.pt"
    assert _checkpoint(task, "gail", demos, 0, settings).path.name == name
    neutral = dataclasses.replace(settings, gail=dataclasses.replace(settings.gail, neutral_init=True))
    assert _checkpoint(task, "gail", demos, 0, neutral).path.name != name
    monkeypatch.setattr(train, "_ADDED_LATER", {})  # were it fingerprinted at every value
    assert _checkpoint(task, "gail", demos, 0, settings).path.name != name


def test_a_run_stopped_before_its_budget_keeps_its_checkpoint_for_a_longer_run_to_continue(
    tmp_path, demos_file
):
    """A run that ``stop`` ends early (a benchmark at its env-step budget, one stopped at 0.9)
    keeps its checkpoint; the same training with more iterations and another evaluation cadence
    (a grid unit) continues from it and ends exactly where an uninterrupted run ends. A run whose
    budget the checkpoint has passed (a shorter grid of the same training) trains without it and
    leaves it where it is."""
    from gail_pipeline.imitation import ImitationSettings, train_imitation
    from gail_pipeline.trajectories import read_trajectories

    task = TaskSpec(name="cartpole", env_id="CartPole-v1", max_episode_steps=100, batch_size=300)
    demos = read_trajectories(demos_file)
    settings = ImitationSettings(policy_hidden_sizes=(16,), num_envs=2, checkpoint_every=2)

    def train(checkpoints, iterations, stop=None, eval_every=0, of=task):
        run_settings = dataclasses.replace(settings, checkpoint_dir=str(checkpoints), eval_every=eval_every)
        return train_imitation(
            of, "gail", demos, seed=4, iterations=iterations, settings=run_settings, stop=stop
        )

    straight = train(tmp_path / "straight", 8)
    stopped = train(tmp_path / "ck", 6, stop=lambda curve: len(curve) >= 3, eval_every=2)
    assert len(stopped.curve) == 3 and len(list((tmp_path / "ck").glob("*.pt"))) == 1
    shorter = train(tmp_path / "ck", 2)
    assert shorter.resumed_from_iteration == 0 and len(shorter.curve) == 2
    budgeted = train(
        tmp_path / "ck", 8, of=dataclasses.replace(task, max_env_steps=stopped.curve[1]["env_steps"])
    )
    assert budgeted.resumed_from_iteration == 0 and len(list((tmp_path / "ck").glob("*.pt"))) == 1
    longer = train(tmp_path / "ck", 8)
    assert longer.resumed_from_iteration == 3 and not list((tmp_path / "ck").glob("*.pt"))
    for name, value in straight.policy.state_dict().items():
        assert torch.equal(value, longer.policy.state_dict()[name]), name


def test_an_env_step_budget_ends_a_unit_before_the_iteration_that_would_pass_it(tmp_path, demos_file):
    """``max_env_steps``: the unit ends before the iteration that would pass it (judged by the last
    iteration's length) and, finished, leaves no checkpoint; a benchmark run of the same training
    stopped by the same rule (a stop: it keeps its checkpoint) is continued by the unit, which
    trains nothing more and ends with the same policy."""
    from gail_pipeline.imitation import ImitationSettings, over_env_step_budget, train_imitation
    from gail_pipeline.trajectories import read_trajectories

    task = TaskSpec(name="cartpole", env_id="CartPole-v1", max_episode_steps=100, batch_size=300)
    budgeted = dataclasses.replace(task, iterations=20, max_env_steps=1_000)
    demos = read_trajectories(demos_file)
    settings = ImitationSettings(policy_hidden_sizes=(16,), num_envs=2, checkpoint_every=2)
    evaluated = dataclasses.replace(settings, checkpoint_dir=str(tmp_path / "a"), eval_every=100)
    unit = train_imitation(budgeted, "gail", demos, seed=4, settings=evaluated)
    steps = [row["env_steps"] for row in unit.curve]
    assert 1 < len(steps) < 20 and steps[-1] <= 1_000 < steps[-1] + (steps[-1] - steps[-2])
    # the evaluation "at the last iteration" is at the budget's last, not at iteration 20
    assert "eval_return_mean" in unit.curve[-1] and "eval_return_mean" not in unit.curve[-2]
    assert not list((tmp_path / "a").glob("*.pt"))
    assert not over_env_step_budget(unit.curve[:-1], 1_000) and over_env_step_budget(unit.curve, 1_000)
    assert not over_env_step_budget(unit.curve, None) and not over_env_step_budget([], 1_000)

    benchmark = dataclasses.replace(settings, checkpoint_dir=str(tmp_path / "b"))
    stopped = train_imitation(
        dataclasses.replace(task, iterations=20),
        "gail",
        demos,
        seed=4,
        settings=benchmark,
        stop=lambda curve: over_env_step_budget(curve, 1_000),
    )
    assert len(stopped.curve) == len(steps) and len(list((tmp_path / "b").glob("*.pt"))) == 1
    continued = train_imitation(budgeted, "gail", demos, seed=4, settings=benchmark)
    assert continued.resumed_from_iteration == len(steps) and not list((tmp_path / "b").glob("*.pt"))
    for name, value in unit.policy.state_dict().items():
        assert torch.equal(value, continued.policy.state_dict()[name]), name


def test_a_saved_run_whose_last_iteration_ended_just_past_the_budget_is_this_budgets_run():
    """The env-step budget ends a run before the iteration that would pass it, judging that
    iteration's length by the one before: the last one may still end a few steps past the budget
    (an Ant benchmark run ended at 5,000,149 of 5,000,000). A unit of that budget would have taken
    the same iteration, so it continues that checkpoint instead of training again from scratch;
    a run this budget would have ended earlier, or one with more iterations, it leaves alone."""
    from gail_pipeline.imitation.train import _past_budget

    def saved(*steps: int) -> dict:
        return {"learner": {"iteration": len(steps)}, "curve": [{"env_steps": s} for s in steps]}

    assert not _past_budget(saved(10_000, 20_000, 30_050), iterations=4, max_env_steps=30_000)
    assert _past_budget(saved(10_000, 20_100, 30_050), iterations=4, max_env_steps=30_000)
    assert _past_budget(saved(10_000, 20_000, 30_050), iterations=2, max_env_steps=None)
    assert not _past_budget(saved(10_000, 20_000, 30_050), iterations=3, max_env_steps=None)
    assert not _past_budget(saved(10_000), iterations=3, max_env_steps=5_000)
    assert _past_budget(saved(10_000, 20_000), iterations=3, max_env_steps=15_000)


def test_a_unit_whose_training_another_process_runs_stops_before_it_trains(tmp_path, demos_file):
    """A grid unit started while a benchmark run of the same training goes on (they share one
    checkpoint) stops with an error naming the checkpoint and the process, and trains nothing;
    once that process is gone, the unit continues its checkpoint."""
    from gail_pipeline.imitation import ImitationSettings, train_imitation
    from gail_pipeline.rl.checkpoint import CheckpointInUse
    from gail_pipeline.trajectories import read_trajectories

    task = TaskSpec(name="cartpole", env_id="CartPole-v1", max_episode_steps=100, batch_size=300)
    demos = read_trajectories(demos_file)
    settings = ImitationSettings(
        policy_hidden_sizes=(16,), num_envs=2, checkpoint_every=2, checkpoint_dir=str(tmp_path / "ck")
    )

    def train(iterations, stop=None):
        return train_imitation(
            task, "gail", demos, seed=4, iterations=iterations, settings=settings, stop=stop
        )

    train(6, stop=lambda curve: len(curve) >= 2)  # a benchmark run, stopped: its checkpoint kept
    (checkpoint,) = (tmp_path / "ck").glob("*.pt")
    saved = checkpoint.read_bytes()
    holder = process_holding(checkpoint)
    try:
        with pytest.raises(CheckpointInUse, match=rf"{checkpoint.name} is in use: process {holder.pid} "):
            train(6)
        assert checkpoint.read_bytes() == saved  # untouched
    finally:
        holder.kill()
        holder.wait()
    assert train(6).resumed_from_iteration == 2
    assert not list((tmp_path / "ck").iterdir())  # finished: no checkpoint, no lock
