"""The imitation learners — BC, FEM, GTAL, GAIL — usable without Kedro.

:func:`train_imitation` builds and trains any of them from a task, its demonstrations and
:class:`ImitationSettings` (BC warm start, causal entropy λ, seeding and checkpoint/resume
included). The pieces: ``bc.train_bc`` fits a policy by maximum likelihood; ``gail.GAILReward``
(the discriminator) and ``apprenticeship.LinearCostReward`` (FEM, GTAL) are reward models that
:func:`gail_pipeline.rl.loop.train` trains together with a TRPO policy (Algorithm 1).
"""

from gail_pipeline.imitation.train import (
    ALGORITHMS,
    ImitationResult,
    ImitationSettings,
    check_demonstrations,
    make_learner,
    over_env_step_budget,
    train_imitation,
)

__all__ = [
    "ALGORITHMS",
    "ImitationResult",
    "ImitationSettings",
    "check_demonstrations",
    "make_learner",
    "over_env_step_budget",
    "train_imitation",
]
