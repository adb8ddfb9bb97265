from functools import partial

import numpy as np
import pytest

from gail_pipeline.imitation.bc import BCConfig, train_bc
from gail_pipeline.rl.evaluation import evaluate
from gail_pipeline.rl.policies import make_policy
from gail_pipeline.tasks import make_env
from gail_pipeline.trajectories import subsample


def test_bc_keeps_the_best_validation_iterate(cartpole_expert_data):
    task, _, demos = cartpole_expert_data
    env = make_env(task)
    policy = make_policy(env.observation_space, env.action_space, (32,))
    result = train_bc(
        policy, subsample(demos, 10, 10, seed=0), BCConfig(steps=301, validate_every=20), seed=0
    )
    nll = [row["validation_nll"] for row in result.curve]
    assert result.best_step == result.curve[int(np.argmin(nll))]["step"]
    assert result.curve[-1]["step"] == 300
    assert min(nll) < nll[0]


def test_bc_rejects_bad_config(cartpole_expert_data):
    task, _, demos = cartpole_expert_data
    env = make_env(task)
    policy = make_policy(env.observation_space, env.action_space, (8,))
    with pytest.raises(ValueError, match="bc.train_fraction"):
        train_bc(policy, demos, BCConfig(train_fraction=1.5), seed=0)


@pytest.mark.slow
def test_bc_learns_cartpole_from_10_trajectories(cartpole_expert_data):
    """The paper's protocol: 10 trajectories subsampled every 10th pair, 1,001 Adam steps."""
    task, _, demos = cartpole_expert_data
    env = make_env(task)
    policy = make_policy(env.observation_space, env.action_space, (100, 100))
    train_bc(policy, subsample(demos, 10, 10, seed=0), BCConfig(), seed=0)
    returns = evaluate(partial(make_env, task), policy, episodes=50, seed=7)
    assert returns.mean() >= 180, f"BC return {returns.mean():.1f}"
