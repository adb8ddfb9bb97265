"""The imitation learners — BC, FEM, GTAL, GAIL — usable without Kedro.

``bc.train_bc`` fits a policy by maximum likelihood; ``gail.GAILReward`` and
``apprenticeship.LinearCostReward`` are reward models trained together with a TRPO policy by
``adversarial.train_adversarial`` (the paper's iteration order).
"""
