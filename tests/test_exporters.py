"""Exported demonstrations (Minari, the `imitation` library's `datasets` folder) read back by the
project's importers: the same observations, actions, rewards and episode boundaries."""

import json
import subprocess
import sys
from functools import partial

import numpy as np
import pytest

from gail_pipeline.exporters import episode_observations, to_imitation, to_minari
from gail_pipeline.importers import from_imitation, from_minari
from gail_pipeline.rl.policies import RandomPolicy, load_policy
from gail_pipeline.rl.sampler import RolloutSampler
from gail_pipeline.tasks import TaskSpec, make_env
from gail_pipeline.trajectories import (
    Demonstrations,
    Trajectory,
    TrajectoryFileError,
    read_trajectories,
    subsample,
    write_trajectories,
)
from tests.conftest import PROJECT


@pytest.fixture(scope="module")
def demonstrations():
    """CartPole episodes of different lengths and ends: two of the shipped expert, cut by a
    40-step limit (truncated), and two of a uniform-random policy, which drops the pole
    (terminated)."""
    task = TaskSpec(name="cartpole", env_id="CartPole-v1", max_episode_steps=40)
    expert = load_policy(PROJECT / "data/01_raw/experts/cartpole.pt")
    sampler = RolloutSampler(partial(make_env, task), 2, seed=3)
    trajectories = sampler.sample(expert, num_episodes=2)
    trajectories += sampler.sample(RandomPolicy(make_env(task).action_space, 0), num_episodes=2)
    ends = [(t.terminated, t.truncated) for t in trajectories]
    assert ends == [(False, True)] * 2 + [(True, False)] * 2
    return Demonstrations(trajectories, "CartPole-v1", {})


def _same(imported, original, final_known=True):
    assert imported.env_id == original.env_id
    assert len(imported.trajectories) == len(original.trajectories)
    for a, b in zip(imported.trajectories, original.trajectories, strict=True):
        np.testing.assert_array_equal(a.observations, b.observations)
        np.testing.assert_array_equal(a.actions, b.actions)
        np.testing.assert_array_equal(a.rewards, b.rewards)
        assert (a.terminated, a.truncated) == (b.terminated, b.truncated)
        if final_known:
            np.testing.assert_array_equal(a.final_observation, b.final_observation)


def test_minari_export_reads_back_the_same_episodes(tmp_path, monkeypatch, demonstrations):
    monkeypatch.delenv("MINARI_DATASETS_PATH", raising=False)
    folder = to_minari(demonstrations, "cartpole/exported-v0", store=tmp_path / "store")
    assert folder == (tmp_path / "store" / "cartpole" / "exported-v0").resolve()
    _same(from_minari(folder), demonstrations)
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "store"))  # by id, from the store
    _same(from_minari("cartpole/exported-v0"), demonstrations)
    import minari

    dataset = minari.load_dataset("cartpole/exported-v0")
    assert dataset.total_episodes == 4
    assert dataset.total_steps == sum(len(t) for t in demonstrations.trajectories)


def test_imitation_export_reads_back_the_same_episodes(tmp_path, demonstrations):
    folder = to_imitation(demonstrations, tmp_path / "rollouts")
    _same(from_imitation(folder, "CartPole-v1"), demonstrations)
    # the layout imitation's serialize.load reads: HuggingFace datasets, one row per trajectory
    datasets = pytest.importorskip("datasets")
    rows = datasets.load_from_disk(str(folder))
    assert rows.column_names == ["obs", "acts", "infos", "terminal", "rews"]
    for row, t in zip(rows, demonstrations.trajectories, strict=True):
        assert len(row["obs"]) == len(row["acts"]) + 1 == len(t) + 1
        assert row["terminal"] == t.terminated
    with pytest.raises(FileExistsError, match="rollouts: exists"):
        to_imitation(demonstrations, folder)


def test_episodes_from_parquet_repeat_their_last_observation(tmp_path, demonstrations):
    """The Parquet form drops the final observation: the exporters stand the last one in for it."""
    path = tmp_path / "demos.parquet"
    write_trajectories(demonstrations, path)
    from_parquet = read_trajectories(path)
    assert from_parquet.trajectories[0].final_observation is None
    observations, known = episode_observations(from_parquet.trajectories[0])
    assert not known and np.array_equal(observations[-1], observations[-2])
    back = from_imitation(to_imitation(from_parquet, tmp_path / "imitation"), "CartPole-v1")
    _same(back, demonstrations, final_known=False)
    for t in back.trajectories:
        np.testing.assert_array_equal(t.final_observation, t.observations[-1])


def test_subsampled_or_unfinished_trajectories_are_refused(tmp_path, demonstrations):
    part = subsample(demonstrations, 2, 2, 0)
    with pytest.raises(TrajectoryFileError, match="trajectory 0 is subsampled"):
        to_imitation(part, tmp_path / "a")
    t = demonstrations.trajectories[0]
    unfinished = Trajectory(t.observations, t.actions, t.rewards, terminated=False, truncated=False)
    with pytest.raises(TrajectoryFileError, match="trajectory 0 neither terminated nor truncated"):
        to_minari(Demonstrations([unfinished], "CartPole-v1"), "cartpole/x-v0", store=tmp_path)


def test_exporter_on_the_command_line(tmp_path, demonstrations):
    path = tmp_path / "demos.parquet"
    write_trajectories(demonstrations, path)
    steps = sum(len(t) for t in demonstrations.trajectories)
    for args, written in [
        (["imitation", path, "--output", tmp_path / "out"], tmp_path / "out"),
        (
            [
                "minari",
                path,
                "--env-id",
                "CartPole-v1",
                "--dataset-id",
                "cartpole/cli-v0",
                "--output",
                tmp_path,
            ],
            tmp_path.resolve() / "cartpole" / "cli-v0",
        ),
    ]:
        done = subprocess.run(
            [sys.executable, "-m", "gail_pipeline.exporters", *map(str, args)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert json.loads(done.stdout) == {
            "written": str(written),
            "env_id": "CartPole-v1",
            "trajectories": 4,
            "steps": steps,
        }
    _same(from_imitation(tmp_path / "out", "CartPole-v1"), demonstrations, final_known=False)
    _same(from_minari(tmp_path / "cartpole" / "cli-v0"), demonstrations, final_known=False)
    done = subprocess.run(
        [sys.executable, "-m", "gail_pipeline.exporters", "minari", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "give --dataset-id" in done.stderr
