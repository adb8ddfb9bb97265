"""Imported demonstrations: Minari datasets (written by minari itself) and the `imitation`
library's files (its `datasets` folder, written by HuggingFace `datasets` in imitation's layout,
and its .npz form), validated like the project's own files."""

from functools import partial

import gymnasium as gym
import numpy as np
import pytest

from gail_pipeline.importers import from_imitation, from_minari, main
from gail_pipeline.rl.policies import load_policy
from gail_pipeline.rl.sampler import RolloutSampler
from gail_pipeline.tasks import TaskSpec, make_env
from gail_pipeline.trajectories import TrajectoryFileError, read_trajectories
from tests.conftest import PROJECT


@pytest.fixture(scope="module")
def episodes():
    """Three CartPole episodes of the shipped expert: (observations incl. final, actions,
    rewards, terminated)."""
    task = TaskSpec(name="cartpole", env_id="CartPole-v1", max_episode_steps=60)
    expert = load_policy(PROJECT / "data/01_raw/experts/cartpole.pt")
    trajectories = RolloutSampler(partial(make_env, task), 3, seed=0).sample(expert, num_episodes=3)
    return [
        (np.vstack([t.observations, t.final_observation]), t.actions, t.rewards, t.terminated)
        for t in trajectories
    ]


def _minari_dataset(tmp_path, monkeypatch, episodes, observations=None, store="minari"):
    minari = pytest.importorskip("minari")
    from minari.data_collector import EpisodeBuffer

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / store))
    buffers = [
        EpisodeBuffer(
            observations=list(observations if observations is not None else obs),
            actions=list(acts),
            rewards=list(rews),
            terminations=[False] * (len(acts) - 1) + [term],
            truncations=[False] * (len(acts) - 1) + [not term],
        )
        for obs, acts, rews, term in episodes
    ]
    env = gym.make("CartPole-v1", max_episode_steps=60)
    minari.create_dataset_from_buffers("cartpole/test-v0", buffers, env=env, algorithm_name="expert")
    return tmp_path / store / "cartpole" / "test-v0"


def test_minari_dataset_by_id_and_by_path(tmp_path, monkeypatch, episodes):
    folder = _minari_dataset(tmp_path, monkeypatch, episodes)
    for source in ("cartpole/test-v0", folder):
        demos = from_minari(source)
        assert demos.env_id == "CartPole-v1" and len(demos.trajectories) == 3
        for t, (obs, acts, rews, term) in zip(demos.trajectories, episodes, strict=True):
            np.testing.assert_array_equal(t.observations, obs[:-1].astype(np.float32))
            np.testing.assert_array_equal(t.final_observation, obs[-1].astype(np.float32))
            np.testing.assert_array_equal(t.actions, acts)
            np.testing.assert_array_equal(t.rewards, rews)
            assert t.terminated == term and t.truncated == (not term)


def test_minari_import_to_a_task_version_and_read_back(project, tmp_path, monkeypatch, episodes):
    _minari_dataset(tmp_path, monkeypatch, episodes)
    main(["minari", "cartpole/test-v0", "--task", "cartpole"])
    (written,) = tmp_path.glob(
        "data/03_primary/cartpole/expert_trajectories.parquet/*/expert_trajectories.parquet"
    )
    demos = read_trajectories(written, "CartPole-v1", 4)
    assert len(demos.trajectories) == 3 and demos.metadata["source"] == "minari"
    with pytest.raises(
        TrajectoryFileError, match="trajectories of 'CartPole-v1', task 'acrobot' is 'Acrobot-v1'"
    ):
        main(["minari", "cartpole/test-v0", "--task", "acrobot"])


def test_task_import_goes_through_the_catalog_to_data_root(
    project, tmp_path_factory, monkeypatch, episodes, capsys
):
    """--task saves through the project's catalog: under conf's ``data_root``, not under data/;
    an unknown task is refused by name before the source is even read."""
    import json

    store = tmp_path_factory.mktemp("store")
    (project / "conf/local/globals.yml").write_text(f"data_root: {store}\n")
    _minari_dataset(project, monkeypatch, episodes)
    main(["minari", "cartpole/test-v0", "--task", "cartpole"])
    (written,) = store.glob("03_primary/cartpole/expert_trajectories.parquet/*/expert_trajectories.parquet")
    assert json.loads(capsys.readouterr().out)["written"] == str(written)
    assert read_trajectories(written, "CartPole-v1", 4).num_steps == sum(len(a) for _, a, *_ in episodes)
    assert not (project / "data/03_primary").exists()

    with pytest.raises(SystemExit) as exc:
        main(["minari", "no/such-dataset-v0", "--task", "pong"])
    assert exc.value.code == 2
    assert "--task pong: not in conf's tasks (" in capsys.readouterr().err
    assert sorted(p.name for p in (store / "03_primary").iterdir()) == ["cartpole"]


def test_minari_with_nan_or_for_another_env_is_refused(tmp_path, monkeypatch, episodes):
    _minari_dataset(tmp_path, monkeypatch, episodes)
    with pytest.raises(
        TrajectoryFileError, match="column 'observation': width 4, the environment's observations have 6"
    ):
        from_minari("cartpole/test-v0", env_id="Acrobot-v1")
    obs, acts, rews, term = episodes[0]
    bad = obs.copy()
    bad[3, 1] = np.nan
    _minari_dataset(tmp_path, monkeypatch, [(bad, acts, rews, term)], store="minari_nan")
    with pytest.raises(
        TrajectoryFileError,
        match=r"cartpole/test-v0: column 'observation': NaN or infinite value \(first at row 3\)",
    ):
        from_minari("cartpole/test-v0")


def _imitation_folder(path, episodes, drop=()):
    datasets = pytest.importorskip("datasets")
    columns = {
        "obs": [obs for obs, *_ in episodes],
        "acts": [acts for _, acts, *_ in episodes],
        "infos": [["{}"] * len(acts) for _, acts, *_ in episodes],
        "terminal": [term for *_, term in episodes],
        "rews": [rews for _, _, rews, _ in episodes],
    }
    datasets.Dataset.from_dict({k: v for k, v in columns.items() if k not in drop}).save_to_disk(str(path))
    return path


def test_imitation_datasets_folder_and_npz(tmp_path, episodes):
    folder = _imitation_folder(tmp_path / "rollouts", episodes)
    demos = from_imitation(folder, "CartPole-v1")
    assert len(demos.trajectories) == 3 and demos.metadata["source"] == "imitation"
    for t, (obs, acts, rews, term) in zip(demos.trajectories, episodes, strict=True):
        np.testing.assert_array_equal(t.observations, obs[:-1].astype(np.float32))
        np.testing.assert_array_equal(t.actions, acts)
        np.testing.assert_array_equal(t.rewards, rews)
        assert t.terminated == term
    lengths = np.cumsum([len(acts) for _, acts, *_ in episodes])[:-1]
    npz = tmp_path / "rollouts.npz"
    np.savez(
        npz,
        obs=np.concatenate([obs for obs, *_ in episodes]),
        acts=np.concatenate([a for _, a, *_ in episodes]),
        rews=np.concatenate([r for _, _, r, _ in episodes]),
        terminal=np.array([t for *_, t in episodes]),
        indices=lengths,
    )
    from_npz = from_imitation(npz, "CartPole-v1")
    for a, b in zip(demos.trajectories, from_npz.trajectories, strict=True):
        np.testing.assert_array_equal(a.observations, b.observations)
        np.testing.assert_array_equal(a.actions, b.actions)


def test_imitation_files_with_faults_are_refused_by_name(tmp_path, episodes):
    folder = _imitation_folder(tmp_path / "no_acts", episodes, drop=("acts",))
    with pytest.raises(TrajectoryFileError, match=r"no_acts: column\(s\) \['acts'\] missing"):
        from_imitation(folder, "CartPole-v1")
    folder = _imitation_folder(tmp_path / "ok", episodes)
    with pytest.raises(
        TrajectoryFileError, match=r"column 'action': discrete actions, the environment takes box\[1\]"
    ):
        from_imitation(folder, "InvertedPendulum-v5")  # 4 observation values, like CartPole
    with pytest.raises(TrajectoryFileError, match="env id 'NoSuchEnv-v0'"):
        from_imitation(folder, "NoSuchEnv-v0")
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(
        TrajectoryFileError, match="corrupt.npz: neither a `datasets` folder nor a readable .npz"
    ):
        from_imitation(corrupt, "CartPole-v1")


def _importer(*args, cwd):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "gail_pipeline.importers", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_imitation_importer_on_the_command_line(project, tmp_path, episodes):
    import json

    folder = _imitation_folder(tmp_path / "rollouts", episodes)
    done = _importer("imitation", folder, "--env-id", "CartPole-v1", "--output", "out.parquet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    steps = sum(len(acts) for _, acts, *_ in episodes)
    assert json.loads(done.stdout) == {
        "written": "out.parquet",
        "env_id": "CartPole-v1",
        "trajectories": 3,
        "steps": steps,
    }
    demos = read_trajectories(tmp_path / "out.parquet", "CartPole-v1", 4)
    assert demos.metadata["source"] == "imitation"
    for t, (obs, acts, rews, term) in zip(demos.trajectories, episodes, strict=True):
        np.testing.assert_array_equal(t.observations, obs[:-1].astype(np.float32))
        np.testing.assert_array_equal(t.actions, acts)
        np.testing.assert_array_equal(t.rewards, rews)
        assert t.terminated == term

    # --task: a new version of the task's expert trajectories, the demonstrations stage's source.
    done = _importer("imitation", folder, "--env-id", "CartPole-v1", "--task", "cartpole", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    (written,) = tmp_path.glob(
        "data/03_primary/cartpole/expert_trajectories.parquet/*/expert_trajectories.parquet"
    )
    assert json.loads(done.stdout)["written"] == str(written)
    assert read_trajectories(written, "CartPole-v1", 4).num_steps == steps

    # Refused, with the reason and nothing written: no env id; trajectories of another task's env.
    done = _importer("imitation", folder, "--output", "other.parquet", cwd=tmp_path)
    assert done.returncode == 2 and "give --env-id" in done.stderr
    done = _importer("imitation", folder, "--env-id", "CartPole-v1", "--task", "acrobot", cwd=tmp_path)
    assert done.returncode != 0
    assert "trajectories of 'CartPole-v1', task 'acrobot' is 'Acrobot-v1'" in done.stderr
    assert not (tmp_path / "other.parquet").exists()
    assert not (tmp_path / "data/03_primary/acrobot").exists()
