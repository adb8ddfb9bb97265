"""gail_pipeline: Generative Adversarial Imitation Learning (Ho & Ermon, 2016) as Kedro pipelines.

The algorithm code (``gail_pipeline.rl``, ``gail_pipeline.trajectories``, ``gail_pipeline.tasks``)
imports nothing from Kedro and can be used on its own.
"""

from gail_pipeline import logs as _logs

__version__ = "0.1.0"

# Third-party deprecation warnings a user cannot act on, and one log line per finished node: set
# up on import, so in `kedro run` and in its worker processes alike (gail_pipeline.logs).
_logs.install()
