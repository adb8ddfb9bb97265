import gymnasium as gym
import pytest
from kedro.io.core import DatasetError, Version

from gail_pipeline.datasets import PolicyDataset, TrajectoryDataset
from gail_pipeline.rl.policies import make_policy
from gail_pipeline.trajectories import TrajectoryFileError


def test_versioned_policy_records_its_version_and_keeps_old_ones(tmp_path):
    path = str(tmp_path / "policy.pt")
    policy = make_policy(gym.spaces.Box(-1, 1, (3,)), gym.spaces.Discrete(2), (4,))
    policy.metadata = {"env_id": "CartPole-v1"}
    PolicyDataset(path, version=Version(None, "2026-01-01T00.00.00.000Z")).save(policy)
    PolicyDataset(path, version=Version(None, "2026-01-02T00.00.00.000Z")).save(policy)
    loaded = PolicyDataset(path, version=Version(None, None)).load()
    assert loaded.metadata["version"] == "2026-01-02T00.00.00.000Z"
    assert loaded.metadata["env_id"] == "CartPole-v1"
    assert len(list((tmp_path / "policy.pt").iterdir())) == 2
    with pytest.raises(DatasetError, match="Policy objects"):
        PolicyDataset(str(tmp_path / "other.pt")).save({"not": "a policy"})


def test_trajectory_dataset_validates_on_load(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 definitely not parquet")
    with pytest.raises(DatasetError, match="bad.parquet: not a readable Parquet file") as info:
        TrajectoryDataset(str(bad)).load()
    assert isinstance(info.value.__cause__, TrajectoryFileError)
