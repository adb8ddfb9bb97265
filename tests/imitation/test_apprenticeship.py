import numpy as np
import pytest

from gail_pipeline.imitation.apprenticeship import (
    LinearCostReward,
    features,
    fem_weights,
    gtal_weights,
)
from gail_pipeline.rl.batch import Batch
from gail_pipeline.trajectories import Demonstrations, Trajectory


def test_features_box_hand_computed():
    phi = features(np.array([[1.0, -2.0]]), np.array([[0.5]]), discrete=False, num_actions=1)
    np.testing.assert_allclose(phi, [[1.0, -2.0, 0.5, 1e-4, 4e-4, 2.5e-5, 1.0]])


def test_features_discrete_per_action_block():
    phi = features(np.array([[1.0, 2.0]]), np.array([1]), discrete=True, num_actions=2)
    # [block(a=0) = 0, block(a=1) = [s, (0.01 s)²], 1]
    np.testing.assert_allclose(phi, [[0, 0, 0, 0, 1.0, 2.0, 1e-4, 4e-4, 1.0]])


def test_fem_weights_hand_computed():
    w = fem_weights(np.array([1.0, 2.0, 0.0]), np.array([-2.0, -2.0, 0.0]))
    np.testing.assert_allclose(w, [0.6, 0.8, 0.0])  # (3, 4, 0) / 5
    np.testing.assert_array_equal(fem_weights(np.ones(2), np.ones(2)), np.zeros(2))


def test_gtal_weights_pick_the_largest_shortfall():
    # μ_π − μ_E = (−1, 3): over ψ = [φ, −φ] the gaps are (−1, 3, 1, −3): the minimum is the 4th,
    # i.e. the policy has too much of feature 2, and the reward penalises it (−φ₂).
    w = gtal_weights(np.array([1.0, 0.0]), np.array([0.0, 3.0]))
    np.testing.assert_array_equal(w, [0, 0, 0, 1])


def _demos():
    rng = np.random.default_rng(0)
    traj = Trajectory(rng.normal(size=(30, 3)).astype(np.float32), rng.integers(0, 2, 30), np.ones(30))
    return Demonstrations([traj], "CartPole-v1", {})


@pytest.mark.parametrize("sign", ["positive", "negative"])
@pytest.mark.parametrize("algorithm", ["fem", "gtal"])
def test_linear_cost_reward_sign_and_update(algorithm, sign):
    demos = _demos()
    model = LinearCostReward(demos, algorithm, sign, num_actions=2)
    rng = np.random.default_rng(1)
    policy_traj = Trajectory(
        (rng.normal(size=(20, 3)) + 2).astype(np.float32), rng.integers(0, 2, 20), np.ones(20)
    )
    batch = Batch.from_trajectories([policy_traj])
    stats = model.update(batch)
    assert stats["feature_expectation_gap"] > 0
    rewards = np.concatenate(model.rewards(batch))
    assert (rewards >= 0).all() if sign == "positive" else (rewards <= 0).all()
    # Expert-like pairs earn more than the policy's under the fitted cost.
    expert_batch = Batch.from_trajectories(demos.trajectories)
    assert np.concatenate(model.rewards(expert_batch)).mean() > rewards.mean()
