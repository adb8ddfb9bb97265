"""Paths through the learners that the default grid does not take, each through a real
``kedro run`` on a tiny CartPole config (runtime parameters as ``--params`` gives them): GAIL's
causal-entropy bonus λ (``imitation.gail.causal_entropy``), its BC warm start
(``imitation.gail.bc_warm_start``), and learned rewards of the negative sign
(``tasks.<name>.reward_sign: negative``)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import torch
from kedro.framework.session import KedroSession

from gail_pipeline.config_loader import parameters_from_conf
from gail_pipeline.rl.policies import load_policy
from tests.conftest import TINY

LAMBDA = 1.0  # large, so its effect is plain in 3 iterations


# The paper's GAIL (conf/paper), which these paths are about: the task's reward sign, no absorbing
# states, one full-batch discriminator step (conf/base runs the recipe instead).
PAPER_GAIL = parameters_from_conf("paper")["imitation"]["gail"]


def _params(algorithms, gail=None, task=None, iterations=3):
    return {
        **TINY,
        "tasks": {"cartpole": {**TINY["tasks"]["cartpole"], **(task or {})}},
        "grid": {**TINY["grid"], "dataset_sizes": [2], "iterations": iterations, "algorithms": algorithms},
        "imitation": {**TINY["imitation"], "eval_every": 0, "gail": {**PAPER_GAIL, **(gail or {})}},
    }


def _run(project, params, pipelines=("imitation",)):
    with KedroSession.create(project_path=project, runtime_params=params) as session:
        session.run(pipeline_names=list(pipelines))


def _latest(project, algorithm, kind):
    folder = {
        "policy.pt": "06_models",
        "learning_curve.csv": "08_reporting",
        "evaluation.json": "07_model_output",
    }
    path = project / "data" / folder[kind] / f"quick/cartpole/{algorithm}/n2/s0/{kind}"
    version = max(path.iterdir()) / kind
    if kind == "policy.pt":
        return load_policy(version)
    if kind == "evaluation.json":
        return json.loads(version.read_text())
    return pd.read_csv(version)


@pytest.mark.slow
def test_causal_entropy_enters_trpo_and_keeps_the_policy_more_random(project):
    _run(project, _params(["gail"]), pipelines=("demonstrations", "imitation"))
    plain_curve, plain = _latest(project, "gail", "learning_curve.csv"), _latest(project, "gail", "policy.pt")
    _run(project, _params(["gail"], gail={"causal_entropy": LAMBDA}))  # on the same demonstrations
    bonus_curve, bonus = _latest(project, "gail", "learning_curve.csv"), _latest(project, "gail", "policy.pt")

    # Iteration 1 samples the same batch from the same uniform policy (zero output layer: entropy
    # ln 2 in every state) and takes the same step; the TRPO objective's improvement differs by
    # exactly λ × the entropy's change, so the bonus is in the objective TRPO optimises.
    first_plain, first_bonus = plain_curve.iloc[0], bonus_curve.iloc[0]
    # (to rounding: the two objectives' conjugate-gradient solves round differently on some CPUs,
    # 5e-6 relative on an AVX2-only AMD EPYC)
    assert first_bonus["policy_kl"] == pytest.approx(first_plain["policy_kl"], rel=1e-4)
    assert first_bonus["entropy"] == pytest.approx(first_plain["entropy"], rel=1e-4)
    assert first_plain["entropy"] < math.log(2)
    assert first_bonus["surrogate_improvement"] - first_plain["surrogate_improvement"] == pytest.approx(
        LAMBDA * (first_plain["entropy"] - math.log(2)), rel=1e-3
    )
    # Then the bonus holds the policy nearer the uniform one: its entropy ends higher.
    assert bonus_curve["entropy"].iloc[-1] > plain_curve["entropy"].iloc[-1] + 0.01
    assert (bonus_curve["entropy"].iloc[1:].to_numpy() > plain_curve["entropy"].iloc[1:].to_numpy()).all()
    assert any(not torch.equal(v, bonus.state_dict()[k]) for k, v in plain.state_dict().items())


@pytest.mark.slow
def test_bc_warm_start_starts_gail_from_the_bc_policy(project):
    task = {"bc_steps": 301, "bc_validate_every": 50, "subsample_interval": 1}  # a BC policy that works
    _run(project, _params(["bc", "gail"], task=task), pipelines=("demonstrations", "imitation", "evaluation"))
    bc_return = _latest(project, "bc", "evaluation.json")["return_mean"]
    fresh = _latest(project, "gail", "learning_curve.csv").iloc[0]
    _run(project, _params(["gail"], gail={"bc_warm_start": True}, task=task))  # the same demonstrations
    warm_policy = _latest(project, "gail", "policy.pt")
    warm = _latest(project, "gail", "learning_curve.csv").iloc[0]

    assert bc_return >= 45  # of 50: the 50-step episodes' maximum
    # The first iteration's rollouts (stochastic, before any GAIL update) are the BC policy's:
    # near its return and far above the fresh policy's, which acts uniformly at random (entropy
    # ln 2) and scores near a random policy's ~22.
    assert warm["return_mean"] >= 0.9 * bc_return
    assert fresh["return_mean"] <= 0.6 * bc_return
    assert warm["entropy"] < 0.5 < math.log(2) - 0.01 < fresh["entropy"]
    assert warm_policy.metadata["bc_warm_start"] is True


@pytest.mark.slow
def test_negative_reward_sign_gives_rewards_below_zero(project):
    """``reward_sign: negative`` (tasks that end on success): GAIL's reward log D ≤ 0, and FEM's
    and GTAL's linear costs shifted below zero; the default (positive) sign above zero."""
    learners = ["fem", "gtal", "gail"]
    _run(project, _params(learners), pipelines=("demonstrations", "imitation"))
    positive = {a: _latest(project, a, "learning_curve.csv")["learned_reward_mean"] for a in learners}
    _run(project, _params(learners, task={"reward_sign": "negative"}))  # the same demonstrations
    negative = {a: _latest(project, a, "learning_curve.csv")["learned_reward_mean"] for a in learners}
    for algorithm in learners:
        assert len(negative[algorithm]) == 3
        assert (negative[algorithm] < 0).all(), (algorithm, negative[algorithm].tolist())
        assert (positive[algorithm] > 0).all(), (algorithm, positive[algorithm].tolist())
