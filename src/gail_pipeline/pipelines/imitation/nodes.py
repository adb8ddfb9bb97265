"""Nodes of the imitation stage: one learner on one dataset with one seed."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pandas as pd

from gail_pipeline.grid import training_seed, unit_label
from gail_pipeline.imitation import ImitationSettings, check_demonstrations, train_imitation
from gail_pipeline.imitation.configs import RECIPE, config_task, unit_settings
from gail_pipeline.progress import training_report
from gail_pipeline.rl.policies import Policy
from gail_pipeline.tasks import TaskSpec, make_env

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class UnitSpec:
    """What a node needs to know of its unit (bound when the pipeline is built)."""

    task_name: str
    algorithm: str
    dataset_size: int
    seed: int
    iterations: int
    config: str = RECIPE

    @property
    def name(self) -> str:
        return f"{self.task_name}.{unit_label(self.algorithm, self.config)}.n{self.dataset_size}.s{self.seed}"

    @property
    def training_seed(self) -> int:
        """The seed the unit trains with: units differ in seed even on one dataset."""
        return training_seed(self.seed, self.dataset_size)

    def task_and_settings(
        self, task_config: dict[str, Any], params: dict[str, Any], config_params: dict[str, Any] | None = None
    ) -> tuple[TaskSpec, ImitationSettings]:
        """The task (its batch under the unit's config) and the settings the unit trains with, from
        the task's parameters, the run's ``imitation`` section and a named config's settings."""
        spec = TaskSpec.from_config(self.task_name, task_config)
        return config_task(spec, self.config), unit_settings(params, spec, self.config, config_params)


def train_learner(
    demonstrations: Any,
    task_config: dict[str, Any],
    params: dict[str, Any],
    config_params: dict[str, Any] | None = None,
    *,
    unit: UnitSpec,
) -> tuple[Policy, pd.DataFrame]:
    """Train ``unit.algorithm`` under ``unit.config`` on the dataset
    (:func:`gail_pipeline.imitation.train_imitation`; ``config_params``: a named config's settings,
    :mod:`gail_pipeline.imitation.configs`); returns the policy and its learning curve."""
    task, settings = unit.task_and_settings(task_config, params, config_params)
    env = make_env(task)
    check_demonstrations(
        demonstrations, task, env, f"{task.name}.demonstrations_n{unit.dataset_size}", unit.dataset_size
    )
    env.close()
    with training_report(unit.name, unit.iterations, settings.log_every, logger) as report:
        result = train_imitation(
            task,
            unit.algorithm,
            demonstrations,
            seed=unit.training_seed,
            iterations=unit.iterations,
            settings=settings,
            on_iteration=report,
        )
    result.policy.metadata.update(seed=unit.seed, config=unit.config)
    return result.policy, pd.DataFrame(result.curve)
