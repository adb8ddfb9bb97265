"""The cores of GAIL's options beyond the paper: absorbing states, reward forms, spectral norm,
sign-preserving reward scaling, minibatch epochs, the frozen discriminator."""

import copy

import numpy as np
import pytest
import torch

from gail_pipeline.config import ConfigError, parse_settings
from gail_pipeline.imitation.gail import GAILConfig, GAILReward, reward_from_logits
from gail_pipeline.rl.batch import Batch
from gail_pipeline.trajectories import Demonstrations, Trajectory

GAMMA = 0.99


def _trajectory(n, shift, terminated=False, truncated=False, seed=0):
    rng = np.random.default_rng(seed)
    obs = (rng.normal(size=(n, 3)) + shift).astype(np.float32)
    actions = rng.normal(size=(n, 2)).astype(np.float32)
    return Trajectory(obs, actions, np.zeros(n), terminated=terminated, truncated=truncated)


def _expert(terminated=(True, True, False), interval=5):
    trajectories = [
        _trajectory(20, 1.0, terminated=t, truncated=not t, seed=i) for i, t in enumerate(terminated)
    ]
    return Demonstrations(trajectories, "X-v0", {"subsample_interval": interval})


def _model(**settings):
    torch.manual_seed(0)  # the discriminator's initial weights
    config = GAILConfig(**{"reward": "logit", "absorbing_states": True, **settings})
    return GAILReward(_expert(), config, seed=0, action_dim=2, gamma=GAMMA)


def test_absorbing_state_reward_continues_a_terminated_episode_only():
    model = _model()
    ended = _trajectory(5, -1.0, terminated=True, seed=10)
    cut = _trajectory(5, -1.0, truncated=True, seed=11)
    batch = Batch.from_trajectories([ended, cut])
    rewards = model.rewards(batch)
    with torch.no_grad():
        logits = model.discriminator(batch.observations, batch.executed_actions).numpy()
        absorbing = float(model.discriminator.absorbing_logit()[0])
    np.testing.assert_allclose(rewards[1], logits[5:], rtol=1e-6)  # a time-limit end: no tail
    np.testing.assert_allclose(rewards[0][:-1], logits[:4], rtol=1e-6)
    tail = GAMMA * absorbing / (1 - GAMMA)  # Σ_{k≥1} γ^k r_abs
    assert rewards[0][-1] == pytest.approx(logits[4] + tail, rel=1e-5)


@pytest.mark.parametrize("absorbing_logit", [5.0, -50.0])
def test_the_absorbing_reward_cap_pays_ending_at_most_the_mean_step(absorbing_logit):
    """With the cap, the tail is γ min(r_abs, mean per-step reward) / (1 − γ): an absorbing logit
    above the batch's mean step is cut to it, one below is kept; the steps are untouched."""
    rewards = {}
    for cap in (False, True):
        model = _model(absorbing_reward_cap=cap)
        # The absorbing state's logit set apart from the real pairs' (which stay near 0).
        model.discriminator.absorbing_logit = lambda: torch.tensor([absorbing_logit])
        batch = Batch.from_trajectories(
            [_trajectory(5, -1.0, terminated=True, seed=10), _trajectory(5, -1.0, truncated=True, seed=11)]
        )
        rewards[cap] = model.rewards(batch)
        with torch.no_grad():
            logits = model.discriminator(batch.observations, batch.executed_actions).numpy()
            absorbing = float(model.discriminator.absorbing_logit()[0])
    assert absorbing == pytest.approx(absorbing_logit, abs=1e-4)
    assert np.abs(logits).max() < 2.0
    expected = float(logits.mean()) if absorbing_logit > 0 else absorbing  # the cap binds on the high one
    np.testing.assert_allclose(rewards[True][1], logits[5:], rtol=1e-6)
    np.testing.assert_allclose(rewards[True][0][:-1], logits[:4], rtol=1e-6)
    assert rewards[True][0][-1] == pytest.approx(logits[4] + GAMMA * expected / (1 - GAMMA), rel=1e-5)
    assert rewards[False][0][-1] == pytest.approx(logits[4] + GAMMA * absorbing / (1 - GAMMA), rel=1e-5)
    with pytest.raises(ConfigError, match="absorbing_reward_cap: expected false unless absorbing_states"):
        parse_settings(GAILConfig, {"absorbing_reward_cap": True}, "gail")


def test_the_absorbing_input_is_the_indicator_alone():
    model = _model()
    d = model.discriminator
    first = d.net[0]
    assert first.in_features == 3 + 2 + 1  # standardised (s, a), then the indicator
    x = torch.zeros(1, first.in_features)
    x[0, -1] = 1.0
    torch.testing.assert_close(d.absorbing_logit(), d.net(x).squeeze(-1))
    # Real pairs see the indicator 0.
    obs, act = torch.zeros(1, 3), torch.zeros(1, 2)
    inputs = torch.cat([d.input_normalizer(d.inputs(obs, act)), torch.zeros(1, 1)], dim=-1)
    torch.testing.assert_close(d(obs, act), d.net(inputs).squeeze(-1))


def test_expert_absorbing_pairs_are_drawn_at_their_weight():
    model = _model()
    n_real = len(model.expert_obs)  # 60 pairs, 2 terminated trajectories, interval 5
    assert model.expert_absorbing_weight == pytest.approx(2 / 5)
    draw = model._draw_expert(200_000)
    share = float((draw == n_real).float().mean())
    assert share == pytest.approx(0.4 / (n_real + 0.4), rel=0.1)
    assert int(draw.max()) == n_real and int(draw.min()) == 0


def test_the_update_counts_the_policys_absorbing_pairs_and_learns_they_are_not_expert():
    model = _model(learning_rate=0.01, epochs=1)
    policy = [_trajectory(10, -1.0, terminated=True, seed=20 + i) for i in range(3)]
    policy.append(_trajectory(10, -1.0, truncated=True, seed=30))
    before = float(model.discriminator.absorbing_logit()[0])
    for _ in range(30):
        batch = Batch.from_trajectories(policy)
        model.rewards(batch)
        stats = model.update(batch)
    assert stats["absorbing_pairs_policy"] == 3
    # The expert's absorbing pairs are rarer (weight 0.4 in 60 against 3 in 40): D's absorbing
    # logit falls, ending early costs the policy.
    assert stats["discriminator_absorbing_logit"] < before


@pytest.mark.parametrize("minibatch_size", [None, 16])
def test_absorbing_replay_keeps_the_policys_endings_at_their_share_so_far(minibatch_size):
    """Two batches with 3 terminations in 40 pairs, then 40 pairs without one: with the replay the
    third update still trains on round(6 / 120 · 40) = 2 absorbing pairs, and pushes D's absorbing
    logit further down than without it (which trains on none); the counts travel with the state
    (exact resume)."""
    ending = [_trajectory(10, -1.0, terminated=True, seed=20 + i) for i in range(3)]
    ending.append(_trajectory(10, -1.0, truncated=True, seed=30))
    surviving = [_trajectory(10, -1.0, truncated=True, seed=40 + i) for i in range(4)]
    settings = {"learning_rate": 0.01, "epochs": 2, "minibatch_size": minibatch_size}
    absorbing_logit = {}
    for replay in (False, True):
        model = _model(**settings, absorbing_replay=replay)
        for policy in (ending, ending):
            stats = model.update(Batch.from_trajectories(policy))
            assert stats["absorbing_pairs_policy"] == stats["terminations_policy"] == 3
        resumed = _model(**settings, absorbing_replay=replay)
        resumed.load_state_dict(copy.deepcopy(model.state_dict()))  # as a checkpoint file holds it
        before = float(model.discriminator.absorbing_logit()[0])
        for m in (model, resumed):
            stats = m.update(Batch.from_trajectories(surviving))
            assert stats["absorbing_pairs_policy"] == (2 if replay else 0)
            assert stats["terminations_policy"] == 0
        assert (model.policy_pairs_seen, model.policy_absorbing_seen) == (120, 6)
        torch.testing.assert_close(
            model.discriminator.absorbing_logit(), resumed.discriminator.absorbing_logit()
        )
        absorbing_logit[replay] = float(model.discriminator.absorbing_logit()[0]) - before
    assert absorbing_logit[True] < absorbing_logit[False]


@pytest.mark.parametrize("minibatch_size", [None, 16])
def test_absorbing_horizon_weighs_each_ending_by_the_steps_left(minibatch_size):
    """Horizon 100: the expert's two ended trajectories (20 kept pairs, steps 0..19, interval 5:
    about 22 real steps each) stand for 78 absorbing steps each, in kept-pair units / 5; the
    policy's three 10-step endings for 90 each. Against an expert that never ends, the weighted
    endings push D's absorbing logit down further in one update than one pair per ending does
    (minibatches: each carries its share of the endings)."""
    epochs = {"epochs": 2, "minibatch_size": minibatch_size} if minibatch_size else {}
    config = GAILConfig(reward="logit", absorbing_states=True, absorbing_horizon=True, **epochs)
    model = GAILReward(_expert(), config, seed=0, action_dim=2, gamma=GAMMA, horizon=100)
    assert model.expert_absorbing_weight == pytest.approx(2 * 78 / 5)
    policy = [_trajectory(10, -1.0, terminated=True, seed=20 + i) for i in range(3)]
    policy.append(_trajectory(10, -1.0, truncated=True, seed=30))
    stats = model.update(Batch.from_trajectories(policy))
    assert stats["absorbing_pairs_policy"] == 270 and stats["terminations_policy"] == 3
    drop = {}
    for horizon_weighted in (False, True):
        torch.manual_seed(0)
        config = GAILConfig(
            reward="logit",
            absorbing_states=True,
            absorbing_horizon=horizon_weighted,
            learning_rate=0.01,
            **epochs,
        )
        never_ends = _expert(terminated=(False, False, False))
        model = GAILReward(never_ends, config, seed=0, action_dim=2, gamma=GAMMA, horizon=100)
        before = float(model.discriminator.absorbing_logit()[0])
        model.update(Batch.from_trajectories(policy))
        drop[horizon_weighted] = before - float(model.discriminator.absorbing_logit()[0])
    assert drop[True] > max(drop[False], 0.0), drop
    with pytest.raises(ConfigError, match="absorbing_horizon: expected false unless absorbing_states"):
        parse_settings(GAILConfig, {"absorbing_horizon": True}, "gail")
    with pytest.raises(ConfigError, match="time limit"):
        GAILReward(_expert(), GAILConfig(absorbing_states=True, absorbing_horizon=True), 0, 2)


@pytest.mark.parametrize("gradient_penalty", [0.0, 10.0])
def test_a_minibatch_of_absorbing_pairs_only(gradient_penalty):
    """The last, short chunk of a minibatch shuffle can hold only absorbing rows: the loss is
    finite and trains D's absorbing logit down, without a forward pass on no real pairs."""
    model = _model(learning_rate=0.01, gradient_penalty=gradient_penalty)
    before = float(model.discriminator.absorbing_logit()[0].detach())
    loss, stats = model.loss(
        torch.zeros(0, 3), torch.zeros(0, 2), model._draw_expert(1), policy_absorbing=1.0
    )
    assert torch.isfinite(loss) and stats["discriminator_accuracy_policy"] in (0.0, 1.0)
    model._step(loss)
    assert float(model.discriminator.absorbing_logit()[0].detach()) < before


def test_absorbing_replay_needs_absorbing_states():
    with pytest.raises(ConfigError, match="absorbing_replay"):
        parse_settings(GAILConfig, {"absorbing_replay": True}, "gail")


@pytest.mark.parametrize("minibatch_size", [None, 16])
def test_minibatch_epochs_and_the_frozen_discriminator(minibatch_size):
    expert = _expert(terminated=(False, False, False))
    batch = Batch.from_trajectories([_trajectory(40, -1.5, truncated=True, seed=40)])
    frozen = GAILReward(expert, GAILConfig(learning_rate=0.0, epochs=3, minibatch_size=minibatch_size), 0, 2)
    weights = [p.detach().clone() for p in frozen.discriminator.parameters()]
    frozen.update(batch)
    assert all(torch.equal(a, b) for a, b in zip(weights, frozen.discriminator.parameters()))
    learning = GAILReward(
        expert, GAILConfig(learning_rate=3e-3, epochs=3, minibatch_size=minibatch_size), 0, 2
    )
    first = learning.update(batch)["discriminator_loss"]
    for _ in range(10):
        last = learning.update(batch)["discriminator_loss"]
    assert last < first


def test_reward_forms_and_their_signs():
    z = torch.linspace(-4, 4, 9)
    assert (reward_from_logits(z, "positive") >= 0).all()
    assert (reward_from_logits(z, "negative") <= 0).all()
    torch.testing.assert_close(reward_from_logits(z, "logit"), z)
    # log D − log(1 − D) = (log D) − (log(1 − D)): the two others' sum, in the right signs.
    torch.testing.assert_close(
        reward_from_logits(z, "logit"), reward_from_logits(z, "negative") + reward_from_logits(z, "positive")
    )
    with pytest.raises(ConfigError, match="gail.reward: expected one of task, positive, negative, logit"):
        parse_settings(GAILConfig, {"reward": "log"}, "gail")


def test_spectral_norm_bounds_each_layer():
    model = _model(spectral_norm=True, learning_rate=0.05)
    batch = Batch.from_trajectories([_trajectory(50, -1.0, truncated=True, seed=50)])
    for _ in range(20):  # Adam steps move the raw weights; the normalised ones stay bounded
        model.rewards(batch)
        model.update(batch)
    d = model.discriminator
    d.eval()
    for layer in d.net:
        if isinstance(layer, torch.nn.Linear):
            assert torch.linalg.matrix_norm(layer.weight.detach(), ord=2) <= 1.0 + 1e-3
    plain = _model(learning_rate=0.05)
    assert any(
        torch.linalg.matrix_norm(layer.weight.detach(), ord=2) > 1.0
        for layer in plain.discriminator.net
        if isinstance(layer, torch.nn.Linear)
    )


def test_a_neutral_discriminator_pays_nothing_until_it_learns():
    """With ``neutral_init`` every pair and the absorbing state have logit 0, so a frozen neutral
    D's logit rewards are all 0, a terminated episode's tail included; one Adam step moves it
    (only the output layer at first: the hidden layers' gradient passes through its zero weights).
    The same seed without it: a random D, whose logits pay something everywhere."""
    ended = Batch.from_trajectories([_trajectory(8, -1.0, terminated=True, seed=70)])
    frozen = _model(neutral_init=True, learning_rate=0.0)
    assert float(frozen.discriminator.absorbing_logit().detach()[0]) == 0.0
    for _ in range(3):
        np.testing.assert_array_equal(frozen.rewards(ended)[0], np.zeros(8))
        frozen.update(ended)
    assert np.abs(_model(learning_rate=0.0).rewards(ended)[0]).min() > 0
    learning = _model(neutral_init=True, learning_rate=0.01)
    hidden = [p.detach().clone() for p in learning.discriminator.net[0].parameters()]
    learning.rewards(ended)
    learning.update(ended)
    assert all(torch.equal(a, b) for a, b in zip(hidden, learning.discriminator.net[0].parameters()))
    assert (learning.rewards(ended)[0][:-1] < 0).all()  # policy pairs: told from the expert's
    with pytest.raises(ConfigError, match="gail.neutral_init: expected false with spectral_norm"):
        parse_settings(GAILConfig, {"neutral_init": True, "spectral_norm": True}, "gail")


def test_running_std_scaling_keeps_the_sign_and_divides():
    plain = _model(reward_scale="none")
    scaled = _model(reward_scale="running_std")
    batch = Batch.from_trajectories([_trajectory(30, -1.0, truncated=True, seed=60)])
    for model in (plain, scaled):
        model.update(batch)  # one step each from the same initial weights: the same discriminator
    raw, divided = plain.rewards(batch)[0], scaled.rewards(batch)[0]
    assert np.array_equal(np.sign(raw), np.sign(divided))
    std = float(torch.sqrt(scaled.reward_normalizer.var + scaled.reward_normalizer.eps))
    np.testing.assert_allclose(divided, raw / std, rtol=1e-6)
    assert std != pytest.approx(1.0)


def _tiny(name, env_id, obs_dim, actions, batch_size):
    """A tiny task (50-step episodes) and two 50-step demonstrations with random observations."""
    from gail_pipeline.tasks import TaskSpec

    task = TaskSpec(name=name, env_id=env_id, max_episode_steps=50, batch_size=batch_size)
    rng = np.random.default_rng(0)
    trajectories = [
        Trajectory(
            rng.normal(scale=0.05, size=(50, obs_dim)).astype(np.float32),
            actions(rng),
            np.ones(50),
            truncated=True,
        )
        for _ in range(2)
    ]
    return task, Demonstrations(trajectories, env_id, {})


def _tiny_cartpole():
    return _tiny("cartpole", "CartPole-v1", 4, lambda rng: rng.integers(0, 2, 50), 400)


def test_warmup_iterations_train_the_discriminator_and_leave_the_policy_alone():
    from gail_pipeline.imitation import ImitationSettings, train_imitation

    task, demos = _tiny_cartpole()
    settings = {"checkpoint_dir": None, "policy_hidden_sizes": [8], "num_envs": 2}
    frozen = ImitationSettings.parse({**settings, "gail": {"warmup_iterations": 2}})
    result = train_imitation(task, "gail", demos, seed=0, iterations=2, settings=frozen)
    last = [p for p in result.policy.parameters()][-2:]  # the output layer: zero at initialisation
    assert all(torch.count_nonzero(p) == 0 for p in last if p.dim() == 2)
    assert all("policy_kl" not in row for row in result.curve)
    assert all("discriminator_loss" in row for row in result.curve)
    moving = train_imitation(
        task, "gail", demos, seed=0, iterations=2, settings=ImitationSettings.parse(settings)
    )
    assert any(torch.count_nonzero(p) > 0 for p in [*moving.policy.parameters()][-2:] if p.dim() == 2)


def test_a_frozen_neutral_discriminator_leaves_the_policy_where_it_started():
    """The recipe's control with ``neutral_init``: every reward 0, the absorbing tail too, so the
    advantages are 0 and no policy step is taken (the policy's output layer stays at its initial
    zero); a frozen random D's rewards move it."""
    from gail_pipeline.imitation import ImitationSettings, train_imitation

    task, demos = _tiny_cartpole()
    settings = {"checkpoint_dir": None, "policy_hidden_sizes": [8], "num_envs": 2}
    gail = {"reward": "logit", "absorbing_states": True, "absorbing_replay": True, "learning_rate": 0.0}
    policies = {}
    for neutral in (True, False):
        frozen = ImitationSettings.parse({**settings, "gail": {**gail, "neutral_init": neutral}})
        result = train_imitation(task, "gail", demos, seed=0, iterations=3, settings=frozen)
        assert any(row["terminations_policy"] > 0 for row in result.curve)  # absorbing tails paid
        policies[neutral] = [p for p in result.policy.parameters() if p.dim() == 2][-1]
    assert torch.count_nonzero(policies[True]) == 0
    assert torch.count_nonzero(policies[False]) > 0


def test_ppo_as_the_policy_step():
    from gail_pipeline.imitation import ImitationSettings, train_imitation

    task, demos = _tiny_cartpole()
    base = {"checkpoint_dir": None, "policy_hidden_sizes": [8], "num_envs": 2}
    ppo = ImitationSettings.parse({**base, "policy_step": "ppo", "ppo": {"epochs": 2, "minibatch_size": 64}})
    trpo = ImitationSettings.parse(base)
    with_ppo = train_imitation(task, "gail", demos, seed=0, iterations=2, settings=ppo)
    with_trpo = train_imitation(task, "gail", demos, seed=0, iterations=2, settings=trpo)
    assert "learning_rate" in with_ppo.curve[-1] and "step_fraction" not in with_ppo.curve[-1]
    assert "step_fraction" in with_trpo.curve[-1]
    a, b = with_ppo.policy.state_dict(), with_trpo.policy.state_dict()
    assert any(not torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ConfigError, match="imitation.policy_step: expected trpo or ppo"):
        ImitationSettings.parse({"policy_step": "sac"})


def test_the_policy_starts_at_the_configured_log_std():
    from gail_pipeline.imitation import ImitationSettings, train_imitation

    pendulum_actions = lambda rng: rng.uniform(-0.5, 0.5, size=(50, 1)).astype(np.float32)  # noqa: E731
    task, demos = _tiny("pendulum", "Pendulum-v1", 3, pendulum_actions, 200)
    base = {"checkpoint_dir": None, "policy_hidden_sizes": [8], "num_envs": 2}
    base["gail"] = {"warmup_iterations": 1}
    # One iteration that trains only D: the policy is the one the settings built.
    narrow = ImitationSettings.parse({**base, "policy_log_std_init": -1.0})
    result = train_imitation(task, "gail", demos, seed=0, iterations=1, settings=narrow)
    assert torch.equal(result.policy.log_std.detach(), torch.full((1,), -1.0))
    paper = train_imitation(task, "gail", demos, seed=0, iterations=1, settings=ImitationSettings.parse(base))
    assert torch.equal(paper.policy.log_std.detach(), torch.zeros(1))
    with pytest.raises(ConfigError, match="imitation.policy_log_std_init"):
        ImitationSettings.parse({"policy_log_std_init": float("nan")})
