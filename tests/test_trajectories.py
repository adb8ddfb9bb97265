import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gail_pipeline.trajectories import (
    Demonstrations,
    Trajectory,
    TrajectoryFileError,
    read_trajectories,
    subsample,
    to_table,
    write_trajectories,
)


def _demos(discrete: bool, lengths=(5, 3), obs_dim=4) -> Demonstrations:
    rng = np.random.default_rng(0)
    trajs = []
    for i, n in enumerate(lengths):
        actions = rng.integers(0, 2, n) if discrete else rng.normal(size=(n, 2)).astype(np.float32)
        trajs.append(
            Trajectory(
                observations=rng.normal(size=(n, obs_dim)).astype(np.float32),
                actions=actions.astype(np.int64) if discrete else actions,
                rewards=rng.normal(size=n),
                terminated=i == 0,
                truncated=i != 0,
            )
        )
    return Demonstrations(trajs, "CartPole-v1" if discrete else "Pendulum-v1", {"seed": 3})


@pytest.mark.parametrize("discrete", [True, False])
def test_parquet_round_trip(tmp_path, discrete):
    demos = _demos(discrete)
    path = tmp_path / "d.parquet"
    write_trajectories(demos, path)
    back = read_trajectories(path, expected_env_id=demos.env_id, expected_observation_dim=4)
    assert back.env_id == demos.env_id and back.metadata == {"seed": 3}
    assert len(back.trajectories) == 2
    for a, b in zip(demos.trajectories, back.trajectories):
        np.testing.assert_array_equal(a.observations, b.observations)
        np.testing.assert_array_equal(a.actions, b.actions)
        np.testing.assert_array_equal(a.rewards, b.rewards)
        assert (a.terminated, a.truncated) == (b.terminated, b.truncated)
    table = pq.read_table(path)
    assert table.column_names == [
        "trajectory",
        "step",
        "observation",
        "action",
        "reward",
        "terminated",
        "truncated",
    ]
    assert table.schema.field("observation").type == pa.list_(pa.float32(), 4)
    assert table.schema.field("action").type == (pa.int64() if discrete else pa.list_(pa.float32(), 2))
    assert table.schema.metadata[b"env_id"] == demos.env_id.encode()
    assert not list(tmp_path.glob("*.tmp"))


def _write(table, path):
    pq.write_table(table, path)
    return path


def test_missing_column_is_named(tmp_path):
    table = to_table(_demos(True)).drop_columns(["reward"])
    with pytest.raises(TrajectoryFileError, match=r"bad\.parquet: column 'reward': missing"):
        read_trajectories(_write(table, tmp_path / "bad.parquet"))


def test_wrong_dtype_is_named(tmp_path):
    table = to_table(_demos(True))
    i = table.column_names.index("reward")
    table = table.set_column(i, "reward", table.column("reward").cast(pa.float32()))
    with pytest.raises(TrajectoryFileError, match=r"column 'reward': type float, expected double"):
        read_trajectories(_write(table, tmp_path / "bad.parquet"))


def test_wrong_observation_width_for_env(tmp_path):
    path = tmp_path / "d.parquet"
    write_trajectories(_demos(True, obs_dim=5), path)
    with pytest.raises(TrajectoryFileError, match=r"column 'observation': width 5 .* 4 values"):
        read_trajectories(path, expected_observation_dim=4)


def test_nan_is_named_with_its_row(tmp_path):
    demos = _demos(False)
    demos.trajectories[1].observations[1, 2] = np.nan
    path = tmp_path / "nan.parquet"
    write_trajectories(demos, path)
    with pytest.raises(TrajectoryFileError, match=r"column 'observation': NaN .* row 6"):
        read_trajectories(path)


def test_other_env_is_rejected(tmp_path):
    path = tmp_path / "d.parquet"
    write_trajectories(_demos(True), path)
    with pytest.raises(TrajectoryFileError, match="'CartPole-v1', expected 'Hopper-v5'"):
        read_trajectories(path, expected_env_id="Hopper-v5")


def test_corrupt_and_empty_files(tmp_path):
    path = tmp_path / "d.parquet"
    write_trajectories(_demos(True), path)
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(path.read_bytes()[:200])
    with pytest.raises(TrajectoryFileError, match="truncated.parquet: not a readable Parquet file"):
        read_trajectories(truncated)
    empty = tmp_path / "empty.parquet"
    _write(to_table(_demos(True)).slice(0, 0), empty)
    with pytest.raises(TrajectoryFileError, match="empty.parquet: rows: the file holds no steps"):
        read_trajectories(empty)


def test_foreign_parquet_without_metadata(tmp_path):
    path = _write(pa.table({"x": [1, 2]}), tmp_path / "foreign.parquet")
    with pytest.raises(TrajectoryFileError, match="schema metadata 'env_id': missing"):
        read_trajectories(path)


def test_done_flag_before_last_row_is_rejected(tmp_path):
    table = to_table(_demos(True))
    flags = table.column("terminated").to_pylist()
    flags[1] = True
    table = table.set_column(table.column_names.index("terminated"), "terminated", pa.array(flags))
    with pytest.raises(TrajectoryFileError, match="flagged done before its last row"):
        read_trajectories(_write(table, tmp_path / "d.parquet"))


def test_subsample_every_kth_from_random_offset():
    demos = _demos(True, lengths=(50, 50, 50))
    sub = subsample(demos, num_trajectories=2, interval=10, seed=0)
    assert len(sub.trajectories) == 2
    for full, part in zip(demos.trajectories, sub.trajectories):
        offset = int(part.steps[0])
        assert 0 <= offset < 10
        np.testing.assert_array_equal(part.steps, np.arange(offset, 50, 10))
        np.testing.assert_array_equal(part.observations, full.observations[offset::10])
    assert sub.metadata["subsample_interval"] == 10
    # Different offsets across trajectories (random, seeded) and reproducible.
    again = subsample(demos, 2, 10, seed=0)
    assert [int(t.steps[0]) for t in again.trajectories] == [int(t.steps[0]) for t in sub.trajectories]


def test_subsample_refuses_impossible_sizes():
    with pytest.raises(ValueError, match="cannot draw a dataset of 3 trajectories from 2"):
        subsample(_demos(True), 3, 1, seed=0)


def test_trajectory_shape_checks():
    with pytest.raises(ValueError, match="rewards has 2 rows"):
        Trajectory(np.zeros((3, 2), np.float32), np.zeros(3, np.int64), np.zeros(2))


def _set_column(table, name, values):
    return table.set_column(table.column_names.index(name), name, pa.array(values))


def test_discrete_action_outside_the_action_space_is_named_with_file_and_row(tmp_path):
    from gail_pipeline.trajectories import check_against_spaces

    good = tmp_path / "good.parquet"
    write_trajectories(_demos(True), good)
    check_against_spaces(read_trajectories(good), 4, True, 1, str(good), num_actions=2)

    demos = _demos(True)
    demos.trajectories[1].actions[2] = 7  # row 5 + 2 of the file
    path = tmp_path / "seven.parquet"
    write_trajectories(demos, path)
    back = read_trajectories(path)  # the schema holds any int64: the env decides the range
    check_against_spaces(back, 4, True, 1, str(path))  # without num_actions, as before
    with pytest.raises(
        TrajectoryFileError,
        match=r"seven\.parquet: column 'action': row 7 \(trajectory 1, step 2\): discrete action 7 "
        r"outside the environment's 2 actions \(0\.\.1\)",
    ):
        check_against_spaces(back, 4, True, 1, str(path), num_actions=2)

    table = to_table(_demos(True))
    actions = table.column("action").to_pylist()
    actions[3] = -1
    negative = _write(_set_column(table, "action", actions), tmp_path / "negative.parquet")
    with pytest.raises(
        TrajectoryFileError,
        match=r"negative\.parquet: column 'action': negative discrete action -1 at row 3 "
        r"\(trajectory 0, step 3\)",
    ):
        read_trajectories(negative)


def test_a_trajectory_without_an_episode_end_is_refused_with_file_and_row(tmp_path):
    table = to_table(_demos(True))  # rows 0-4: trajectory 0 (terminated), 5-7: trajectory 1 (truncated)
    cut = _write(_set_column(table, "truncated", [False] * 8), tmp_path / "cut.parquet")
    with pytest.raises(
        TrajectoryFileError,
        match=r"cut\.parquet: columns 'terminated'/'truncated': row 7, the last of trajectory 1 "
        r"\(step 2\), has neither flag set",
    ):
        read_trajectories(cut)
    no_ends = _set_column(_set_column(table, "truncated", [False] * 8), "terminated", [False] * 8)
    with pytest.raises(TrajectoryFileError, match=r"no_ends\.parquet: .*row 4, the last of trajectory 0"):
        read_trajectories(_write(no_ends, tmp_path / "no_ends.parquet"))


def test_subsampled_trajectories_keep_how_their_episode_ended(tmp_path):
    demos = _demos(True, lengths=(50, 50))
    sub = subsample(demos, num_trajectories=2, interval=10, seed=0)
    # (offsets 8 and 6: the last rows, 49, are dropped, but the episodes' ends stay with them)
    assert [t.steps[-1] for t in sub.trajectories] == [48, 46]
    assert [(t.terminated, t.truncated) for t in sub.trajectories] == [
        (t.terminated, t.truncated) for t in demos.trajectories
    ]
    path = tmp_path / "sub.parquet"
    write_trajectories(sub, path)
    again = read_trajectories(path).trajectories
    assert [(t.terminated, t.truncated) for t in again] == [
        (t.terminated, t.truncated) for t in sub.trajectories
    ]
    # A file subsampled by an earlier version, without the flags, still reads.
    for t in sub.trajectories:
        t.terminated = t.truncated = False
    write_trajectories(sub, path)
    assert len(read_trajectories(path).trajectories) == 2
    every_row = subsample(demos, num_trajectories=2, interval=1, seed=0)
    assert [t.terminated or t.truncated for t in every_row.trajectories] == [True, True]


@pytest.mark.parametrize("discrete", [True, False])
def test_the_digest_survives_parquet_and_changes_with_what_a_learner_reads(tmp_path, discrete):
    demos = _demos(discrete)
    write_trajectories(demos, tmp_path / "d.parquet")
    back = read_trajectories(tmp_path / "d.parquet")
    assert back.digest() == demos.digest() and len(demos.digest()) == 12
    ended = _demos(discrete)
    ended.trajectories[0].terminated, ended.trajectories[0].truncated = False, True
    moved = _demos(discrete)
    moved.trajectories[1].observations[2, 0] += 1e-3
    fewer = Demonstrations(_demos(discrete).trajectories[:1], demos.env_id)
    assert len({demos.digest(), ended.digest(), moved.digest(), fewer.digest()}) == 4
    wide = _demos(discrete)  # the same rows in wider types, as a dataset built in memory may hold them
    for t in wide.trajectories:
        t.observations = t.observations.astype(np.float64)
        t.actions = t.actions.astype(np.int32 if discrete else np.float64)
        t.steps = t.steps.astype(np.int32)
        t.terminated = np.bool_(t.terminated)
    assert wide.digest() == demos.digest()
