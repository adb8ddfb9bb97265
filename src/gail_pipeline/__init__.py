"""gail_pipeline: Generative Adversarial Imitation Learning (Ho & Ermon, 2016) as Kedro pipelines.

The algorithm code (``gail_pipeline.rl``, ``gail_pipeline.trajectories``, ``gail_pipeline.tasks``)
imports nothing from Kedro and can be used on its own.
"""

__version__ = "0.1.0"
