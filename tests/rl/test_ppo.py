import pytest
import torch

from gail_pipeline.config import parse_settings
from gail_pipeline.rl.ppo import PPOConfig, ppo_step
from tests.rl.problems import policy_step_problem


def _surrogate(policy, old, obs, actions, advantages):
    with torch.no_grad():
        ratio = torch.exp(policy.log_prob(policy.dist_params(obs), actions) - policy.log_prob(old, actions))
        return float((ratio * advantages).mean())


@pytest.mark.parametrize("discrete", [True, False])
def test_ppo_step_improves_the_surrogate_and_reports_the_kl(discrete):
    policy, obs, actions, advantages = policy_step_problem(discrete)
    with torch.no_grad():
        old = policy.dist_params(obs)
    optimizer = torch.optim.Adam(policy.parameters(), lr=3e-4)
    config = PPOConfig(minibatch_size=64, epochs=4)
    stats = ppo_step(policy, optimizer, obs, actions, advantages, config, torch.Generator().manual_seed(0))
    assert _surrogate(policy, old, obs, actions, advantages) > float(advantages.mean()) + 1e-3
    with torch.no_grad():
        kl = float(policy.kl(old, policy.dist_params(obs)).mean())
    assert kl > 0 and kl == pytest.approx(stats["policy_kl"], rel=1e-5)
    assert stats["ppo_epochs"] == 4 and 0 <= stats["clip_fraction"] <= 1


def test_target_kl_stops_the_passes_early():
    policy, obs, actions, advantages = policy_step_problem(discrete=False)
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-2)
    config = PPOConfig(minibatch_size=64, epochs=50, target_kl=1e-3)
    stats = ppo_step(policy, optimizer, obs, actions, advantages, config, torch.Generator().manual_seed(0))
    assert stats["ppo_epochs"] < 50
    assert stats["policy_kl"] > 1.5e-3  # it stopped at the first pass past the limit


@pytest.mark.parametrize(
    ("key", "value"),
    [("clip", 0.0), ("epochs", 0), ("minibatch_size", 0), ("learning_rate", -1.0), ("target_kl", 0.0)],
)
def test_config_rejects_impossible_values(key, value):
    with pytest.raises(ValueError, match=f"ppo.{key}: impossible value"):
        parse_settings(PPOConfig, {key: value}, "ppo")


def test_config_rejects_unknown_keys():
    with pytest.raises(ValueError, match="ppo.clip_range: unknown setting"):
        parse_settings(PPOConfig, {"clip_range": 0.2}, "ppo")


def test_schedule_sets_the_step_from_its_iterations_on():
    config = parse_settings(
        PPOConfig,
        {"learning_rate": 3e-4, "schedule": {"921": {"learning_rate": 1e-4}, 821: {"target_kl": 0.03}}},
        "ppo",
    )
    assert list(config.schedule) == [821, 921]
    assert (config.at(820).learning_rate, config.at(820).target_kl) == (3e-4, None)
    assert (config.at(821).learning_rate, config.at(821).target_kl) == (3e-4, 0.03)
    assert (config.at(5000).learning_rate, config.at(5000).target_kl) == (1e-4, 0.03)
    assert config.at(5000).schedule is None and config.at(5000).epochs == config.epochs
    assert config.at(5000).gamma is None  # the shared discount


def test_schedule_sets_the_discount_and_may_give_it_back():
    config = parse_settings(
        PPOConfig, {"schedule": {100: {"gamma": 0.995, "gae_lambda": 0.97}, 200: {"gamma": None}}}, "ppo"
    )
    assert (config.at(99).gamma, config.at(99).gae_lambda) == (None, None)
    assert (config.at(100).gamma, config.at(100).gae_lambda) == (0.995, 0.97)
    assert (config.at(200).gamma, config.at(200).gae_lambda) == (None, 0.97)


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ({0: {"learning_rate": 1e-4}}, r"ppo.schedule.0: an iteration must be an integer >= 1"),
        ({"late": {"learning_rate": 1e-4}}, r"ppo.schedule.late: an iteration must be"),
        (
            {10: {"epochs": 3}},
            r"ppo.schedule.10.epochs: a schedule may set only learning_rate, target_kl, gamma, gae_lambda",
        ),
        ({10: {"gamma": 1.5}}, r"ppo.schedule.10.gamma: impossible value 1.5"),
        ({10: {"gae_lambda": "high"}}, r"ppo.schedule.10.gae_lambda: expected a number, got 'high'"),
        ({10: {"learning_rate": None}}, r"ppo.schedule.10.learning_rate: expected a number, got None"),
        ({10: {"learning_rate": "1e-4"}}, r"ppo.schedule.10.learning_rate: expected a number, got '1e-4'"),
        ({10: {"learning_rate": -1.0}}, r"ppo.schedule.10.learning_rate: impossible value -1.0"),
        ({10: {}}, r"ppo.schedule.10: expected \{setting: value\}"),
        ([10, 1e-4], r"ppo.schedule: expected \{iteration: \{setting: value\}\}"),
    ],
)
def test_schedule_rejects_what_it_cannot_apply(schedule, message):
    with pytest.raises(ValueError, match=message):
        parse_settings(PPOConfig, {"schedule": schedule}, "ppo")
