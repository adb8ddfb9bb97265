import numpy as np
import pytest
import torch

from gail_pipeline.rl.normalizer import RunningNormalizer


def test_batched_updates_equal_one_update():
    rng = np.random.default_rng(0)
    a, b = rng.normal(3, 2, (50, 4)), rng.normal(-1, 0.5, (70, 4))
    split, whole = RunningNormalizer(4), RunningNormalizer(4)
    split.update(a)
    split.update(b)
    whole.update(np.concatenate([a, b]))
    np.testing.assert_allclose(split.mean, whole.mean, rtol=1e-10)
    np.testing.assert_allclose(split.var, whole.var, rtol=1e-10)
    np.testing.assert_allclose(whole.mean, np.concatenate([a, b]).mean(0), rtol=1e-10)
    np.testing.assert_allclose(whole.var, np.concatenate([a, b]).var(0), rtol=1e-10)


def test_standardises_and_clips():
    norm = RunningNormalizer(2, clip=5.0)
    data = np.array([[0.0, 10.0], [2.0, 30.0]])
    norm.update(data)
    z = norm(torch.tensor([[1.0, 20.0], [1.0, 1e6]]))
    np.testing.assert_allclose(z[0].numpy(), [0.0, 0.0], atol=1e-6)
    assert z[1, 1] == pytest.approx(5.0)


def test_rejects_nan():
    with pytest.raises(ValueError, match="NaN"):
        RunningNormalizer(2).update(np.array([[0.0, np.nan]]))


def test_state_is_saved_in_state_dict():
    norm = RunningNormalizer(3)
    norm.update(np.ones((4, 3)))
    other = RunningNormalizer(3)
    other.load_state_dict(norm.state_dict())
    assert float(other.count) == 4
    np.testing.assert_allclose(other.mean, 1.0)


def test_a_batch_of_many_parts_gives_its_exact_moments_and_a_bad_one_changes_nothing():
    # 365 columns: the update takes 718 rows at a time, so 3,000 rows are merged in 5 parts.
    rng = np.random.default_rng(1)
    data = rng.normal(100.0, 0.01, (3000, 365)).astype(np.float32)  # large mean, tiny spread
    norm = RunningNormalizer(365)
    norm.update(torch.from_numpy(data))
    exact = data.astype(np.float64)
    np.testing.assert_allclose(norm.mean, exact.mean(0), rtol=1e-12)
    np.testing.assert_allclose(norm.var, exact.var(0), rtol=1e-9)
    assert float(norm.count) == 3000
    before = {k: v.clone() for k, v in norm.state_dict().items()}
    bad = data.copy()
    bad[2500, 3] = np.inf  # in the last part: the first parts merged would be lost
    with pytest.raises(ValueError, match="infinite"):
        norm.update(bad)
    for key, value in norm.state_dict().items():
        assert torch.equal(value, before[key]), key
