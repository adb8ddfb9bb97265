import copy
import dataclasses
import inspect
from functools import partial

import numpy as np
import pytest
import torch

from gail_pipeline.config_loader import parameters_from_conf
from gail_pipeline.imitation import ImitationSettings, gail, train_imitation
from gail_pipeline.imitation.gail import GAILConfig, GAILReward, reward_from_logits
from gail_pipeline.rl.batch import Batch
from gail_pipeline.rl.evaluation import evaluate
from gail_pipeline.tasks import make_env
from gail_pipeline.trajectories import Demonstrations, Trajectory, subsample


def test_reward_sign_and_formula():
    z = torch.linspace(-5, 5, 11)
    d = torch.sigmoid(z)
    positive = reward_from_logits(z, "positive")
    negative = reward_from_logits(z, "negative")
    torch.testing.assert_close(positive, -torch.log(1 - d), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(negative, torch.log(d), rtol=1e-4, atol=1e-5)
    assert (positive >= 0).all() and (negative <= 0).all()
    # More expert-like (higher logit) always earns more reward.
    assert (positive.diff() > 0).all() and (negative.diff() > 0).all()
    with pytest.raises(ValueError, match="reward sign"):
        reward_from_logits(z, "up")


def test_module_docstring_states_the_conventions_the_code_uses():
    doc = inspect.getdoc(gail)
    assert "logits_expert_is_high" in doc and "labels_expert_is_one" in doc
    assert "softplus(logit) ≥ 0" in doc and "−softplus(−logit) ≤ 0" in doc
    assert GAILConfig().learning_rate == 0.01 and GAILConfig().entropy_weight == 0.001


def _separable(continuous: bool):
    rng = np.random.default_rng(0)

    def traj(shift, n):
        obs = (rng.normal(size=(n, 3)) + shift).astype(np.float32)
        act = rng.normal(size=(n, 2)).astype(np.float32) if continuous else rng.integers(0, 2, n)
        return Trajectory(obs, act, np.zeros(n))

    expert = Demonstrations([traj(1.5, 200)], "X-v0", {})
    policy_batch = Batch.from_trajectories([traj(-1.5, 200)])
    return expert, policy_batch


@pytest.mark.parametrize("continuous", [False, True])
@pytest.mark.parametrize("gradient_penalty", [0.0, 10.0])
def test_discriminator_loss_drops_and_rewards_follow(continuous, gradient_penalty):
    expert, batch = _separable(continuous)
    model = GAILReward(expert, GAILConfig(gradient_penalty=gradient_penalty), seed=0, action_dim=2)
    before = model.rewards(batch)[0].mean()
    losses = [model.update(batch)["discriminator_loss"] for _ in range(40)]
    assert losses[-1] < 0.6 * losses[0]
    stats = model.update(batch)
    assert stats["discriminator_accuracy_expert"] > 0.9 and stats["discriminator_accuracy_policy"] > 0.9
    assert (stats["discriminator_gradient_penalty"] > 0) == (gradient_penalty > 0)
    # The policy's pairs are now recognised: their positive reward −log(1 − D) fell.
    assert model.rewards(batch)[0].mean() < before


@pytest.mark.parametrize("continuous", [False, True])
def test_the_gradient_penalty_is_taken_on_the_standardised_inputs(continuous):
    """The same data in raw units 100 times smaller (CartPole's ~0.1 against Hopper's ~10): the
    discriminator standardises both to the same features, so its penalty, loss and updates are
    the same — the penalty does not depend on the task's units."""

    def trained(scale):
        expert, batch = _separable(continuous)
        for t in [*expert.trajectories, *batch.trajectories]:
            t.observations *= scale
        if continuous:
            for t in [*expert.trajectories, *batch.trajectories]:
                t.actions *= scale
        batch = Batch.from_trajectories(batch.trajectories)
        expert = Demonstrations(expert.trajectories, expert.env_id, {})
        torch.manual_seed(0)
        model = GAILReward(expert, GAILConfig(gradient_penalty=10.0), seed=0, action_dim=2)
        return [model.update(batch) for _ in range(3)]

    for raw, small in zip(trained(1.0), trained(0.01)):
        assert small["discriminator_gradient_penalty"] > 0
        assert small["discriminator_gradient_penalty"] == pytest.approx(
            raw["discriminator_gradient_penalty"], rel=1e-2
        )
        assert small["discriminator_loss"] == pytest.approx(raw["discriminator_loss"], rel=1e-2)


def _count_policy_forwards(model, rows):
    """Wrap the discriminator so that it counts its passes over ``rows``-row inputs."""
    calls = []
    forward = model.discriminator.forward

    def counted(obs, actions):
        calls.append(len(obs))
        return forward(obs, actions)

    model.discriminator.forward = counted
    return lambda: sum(n == rows for n in calls)


@pytest.mark.parametrize("continuous", [False, True])
def test_update_reuses_the_reward_forward_pass_and_changes_nothing(continuous):
    """The iteration's order — rewards(batch), update(batch), rewards(batch), each iteration on a
    new batch — runs the network over the policy pairs twice per iteration, not three times, and
    trains exactly as updates run alone."""
    expert, first = _separable(continuous)
    reusing = GAILReward(expert, GAILConfig(), seed=0, action_dim=2)
    alone = GAILReward(expert, GAILConfig(), seed=0, action_dim=2)
    alone.load_state_dict(reusing.state_dict())  # the same initial weights
    passes = _count_policy_forwards(reusing, len(first))
    for i in range(3):
        batch = Batch.from_trajectories(first.trajectories)
        before = reusing.rewards(batch)
        reusing_stats = reusing.update(batch)
        after = reusing.rewards(batch)
        assert passes() == 2 * (i + 1)
        alone_before = alone.rewards(Batch.from_trajectories(batch.trajectories))
        alone_stats = alone.update(Batch.from_trajectories(batch.trajectories))  # another batch object
        np.testing.assert_array_equal(before[0], alone_before[0])
        np.testing.assert_array_equal(after[0], alone.rewards(batch)[0])
        assert reusing_stats == alone_stats
    for a, b in zip(reusing.discriminator.state_dict().values(), alone.discriminator.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("continuous", [False, True])
def test_a_frozen_discriminator_takes_one_pass_for_its_diagnostics_and_keeps_its_weights(continuous):
    """The control's D (learning rate 0) with the recipe's minibatch epochs: its update evaluates
    the loss once over the batch, not once per minibatch of every epoch, leaves the weights as
    they were, and reports what a learning D reports."""
    expert, batch = _separable(continuous)
    recipe = dict(epochs=5, minibatch_size=64, gradient_penalty=10.0, absorbing_states=True)
    frozen = GAILReward(expert, GAILConfig(learning_rate=0.0, **recipe), seed=0, action_dim=2)
    learning = GAILReward(expert, GAILConfig(**recipe), seed=0, action_dim=2)
    weights = copy.deepcopy(frozen.discriminator.net.state_dict())
    losses = []
    for model in (frozen, learning):
        loss = model.loss
        model.loss = lambda *args, _m=model, _loss=loss, **kwargs: losses.append(_m) or _loss(*args, **kwargs)
    frozen.rewards(batch)
    frozen_stats = frozen.update(batch)
    learning_stats = learning.update(Batch.from_trajectories(batch.trajectories))
    assert losses.count(frozen) == 1 and losses.count(learning) == 5 * 4  # 200 pairs in 64s: 4 steps
    for key, value in frozen.discriminator.net.state_dict().items():
        assert torch.equal(value, weights[key]), key
    assert frozen_stats.keys() == learning_stats.keys()
    assert frozen_stats["discriminator_gradient_penalty"] > 0


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_a_frozen_discriminator_pays_the_same_however_many_passes_its_updates_take(spectral_norm):
    """What makes one pass enough for the control: the rewards after an update do not depend on
    how many forward passes the update took (spectral_norm's power iteration included)."""
    expert, batch = _separable(True)
    config = GAILConfig(learning_rate=0.0, epochs=5, minibatch_size=64, spectral_norm=spectral_norm)
    one_pass, many = (GAILReward(expert, config, seed=0, action_dim=2) for _ in range(2))
    many.load_state_dict(one_pass.state_dict())  # the same initial weights
    for model in (one_pass, many):
        model.rewards(batch)
        model.update(Batch.from_trajectories(batch.trajectories))
    many._minibatch_epochs(batch, absorbing=0)  # the 5 epochs of minibatch passes, once more
    np.testing.assert_array_equal(one_pass.rewards(batch)[0], many.rewards(batch)[0])


def test_update_recomputes_when_the_weights_changed_after_the_rewards():
    expert, batch = _separable(True)
    model = GAILReward(expert, GAILConfig(), seed=0, action_dim=2)
    other = GAILReward(expert, GAILConfig(), seed=1, action_dim=2)
    reference = GAILReward(expert, GAILConfig(), seed=0, action_dim=2)
    reference.load_state_dict(model.state_dict())  # Adam's and the draw's states alike
    passes = _count_policy_forwards(model, len(batch))
    model.rewards(batch)
    model.discriminator.load_state_dict(other.discriminator.state_dict())  # in place, as a resume does
    reference.discriminator.load_state_dict(other.discriminator.state_dict())
    assert model.update(batch) == reference.update(Batch.from_trajectories(batch.trajectories))
    assert passes() == 2  # the kept logits were of the old weights: computed again


def _per_draw_loss(model, policy_obs, policy_actions, draw):
    """The discriminator's loss written draw by draw: the network on every drawn expert pair."""
    d, f = model.discriminator, torch.nn.functional
    logits_expert = d(model.expert_obs[draw], model.expert_actions[draw])
    logits_policy = d(policy_obs, policy_actions)
    logistic = f.binary_cross_entropy_with_logits(logits_expert, torch.ones_like(logits_expert))
    logistic = logistic + f.binary_cross_entropy_with_logits(logits_policy, torch.zeros_like(logits_policy))
    z = torch.cat([logits_expert, logits_policy])
    p = torch.sigmoid(z)
    entropy = -(p * f.logsigmoid(z) + (1 - p) * f.logsigmoid(-z)).mean()
    return (
        logistic - model.config.entropy_weight * entropy,
        logistic.detach(),
        entropy.detach(),
        (logits_expert > 0).double().mean(),
    )


@pytest.mark.parametrize("continuous", [False, True])
def test_expert_pairs_drawn_twice_are_evaluated_once_with_the_same_loss_and_gradient(continuous):
    """The update runs the network once per distinct drawn expert pair, weighted by its count:
    loss, gradient and diagnostics equal those of the network run on every draw."""
    expert, batch = _separable(continuous)
    model = GAILReward(expert, GAILConfig(), seed=0, action_dim=2)
    model.discriminator.double()
    model.expert_obs = model.expert_obs.double()
    if continuous:
        model.expert_actions = model.expert_actions.double()
    policy_obs = batch.observations.double()
    policy_actions = batch.executed_actions.double() if continuous else batch.executed_actions
    draw = torch.randint(
        len(model.expert_obs), (3 * len(model.expert_obs),), generator=torch.Generator().manual_seed(1)
    )
    assert len(torch.unique(draw)) < len(draw)  # duplicates: the weighting is exercised
    params = list(model.discriminator.parameters())

    loss, stats = model.loss(policy_obs, policy_actions, draw)
    grads = torch.autograd.grad(loss, params)
    reference, logistic, entropy, accuracy = _per_draw_loss(model, policy_obs, policy_actions, draw)
    reference_grads = torch.autograd.grad(reference, params)

    torch.testing.assert_close(loss, reference, rtol=1e-12, atol=0)
    for g, r in zip(grads, reference_grads):
        torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-14)
    assert stats["discriminator_loss"] == pytest.approx(float(logistic), rel=1e-12)
    assert stats["discriminator_entropy"] == pytest.approx(float(entropy), rel=1e-12)
    assert stats["discriminator_accuracy_expert"] == pytest.approx(float(accuracy), rel=1e-12)


RECIPE = parameters_from_conf("base")["imitation"]["gail"]  # the recipe as `make run` runs it


@pytest.mark.slow
def test_the_recipe_imitates_cartpole_from_one_trajectory_and_a_frozen_discriminator_does_not(
    cartpole_expert_data,
):
    """1 trajectory, every 10th pair (20 pairs), 15 iterations of 5,000 steps: the recipe's GAIL
    reaches the expert's 200; the same runs with the discriminator frozen at its initialisation
    (learning rate 0: the reward's form alone, absorbing states included) stay near the untrained
    policy's 9: the recipe's neutral D pays every pair and the absorbing state 0 (measured: 9.3 on
    five seeds; a randomly initialised frozen D, whose logits pay for surviving or for ending as its
    initialisation happens to say, 8.8 to 152.5)."""
    task, _, demos = cartpole_expert_data
    data = subsample(demos, 1, 10, seed=0)
    task = dataclasses.replace(task, batch_size=5000)
    make = partial(make_env, task)

    def trained_return(learning_rate: float, seed: int) -> float:
        settings = ImitationSettings.parse(
            {"checkpoint_dir": None, "gail": {**RECIPE, "learning_rate": learning_rate}}
        )
        policy = train_imitation(task, "gail", data, seed=seed, iterations=15, settings=settings).policy
        return float(evaluate(make, policy, episodes=50, seed=7).mean())

    recipe = [trained_return(1e-3, seed) for seed in (0, 1)]
    frozen = [trained_return(0.0, seed) for seed in (0, 1, 2)]
    assert min(recipe) >= 195, (recipe, frozen)
    assert max(frozen) <= 50, (recipe, frozen)


def test_discriminator_sees_the_actions_the_environment_executed():
    """Raw Gaussian samples beyond a Box's bounds are clipped before the discriminator compares
    them with the expert's recorded (executed) actions."""
    expert, _ = _separable(continuous=True)
    model = GAILReward(expert, GAILConfig(), seed=0, action_dim=2)
    obs = np.zeros((2, 3), np.float32)
    raw = np.array([[5.0, -7.0], [1.0, -1.0]], np.float32)
    traj = Trajectory(obs, raw, np.zeros(2))
    batch = Batch.from_trajectories([traj], action_bounds=(np.full(2, -1.0), np.full(2, 1.0)))
    assert torch.equal(batch.actions, torch.as_tensor(raw))  # TRPO's likelihoods use the samples
    np.testing.assert_array_equal(batch.executed_actions.numpy(), [[1.0, -1.0], [1.0, -1.0]])
    rewards = model.rewards(batch)[0]
    assert rewards[0] == pytest.approx(rewards[1])
