"""A small policy-gradient problem shared by the policy-step tests (TRPO, PPO)."""

import torch

from gail_pipeline.rl.policies import CategoricalPolicy, GaussianPolicy


def policy_step_problem(discrete: bool, n: int = 512):
    """(policy, observations, actions, advantages): a fresh 4-input policy and a batch whose
    advantages favour a learnable action rule (seeded)."""
    torch.manual_seed(0)
    obs = torch.randn(n, 4)
    if discrete:
        policy = CategoricalPolicy(4, 3, (16,))
        actions = torch.randint(0, 3, (n,))
        advantages = (actions == 1).float() * obs[:, 0].sign()  # action 1 is good where x0 > 0
    else:
        policy = GaussianPolicy(4, 2, (16,))
        actions = torch.randn(n, 2)
        advantages = actions[:, 0] * obs[:, 0]
    return policy, obs, actions, advantages
