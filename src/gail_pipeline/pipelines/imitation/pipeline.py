"""The imitation pipeline of one unit (task, algorithm, dataset size, seed), namespaced."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from gail_pipeline.grid import Unit
from gail_pipeline.imitation.configs import GAIL_CONFIGS
from gail_pipeline.pipelines.common import UnitBound
from gail_pipeline.pipelines.imitation import nodes
from gail_pipeline.tracking import TRAIN


def demonstrations_dataset(task: str, dataset_size: int) -> str:
    """The catalog name of a unit's demonstrations."""
    return f"{task}.demonstrations_n{dataset_size}"


def unit_spec(unit: Unit) -> nodes.UnitSpec:
    return nodes.UnitSpec(
        unit.task.name, unit.algorithm, unit.dataset_size, unit.seed, unit.iterations, unit.config
    )


def create_pipeline(unit: Unit) -> Pipeline:
    """``<task>.<label>.n<size>.s<seed>.policy`` and ``….learning_curve`` (label: the algorithm,
    ``gail_<config>`` for GAIL's configs other than the recipe) from
    ``<task>.demonstrations_n<size>``; logged to the unit's MLflow run (``gail_pipeline.tracking``).
    A config named in ``gail_config_settings`` is one more parameter input, its settings."""
    task = unit.task.name
    parameters = {"params:task": f"params:tasks.{task}", "params:imitation": "params:imitation"}
    if unit.config not in GAIL_CONFIGS:
        parameters["params:config"] = f"params:gail_config_settings.{unit.config}"
    return Pipeline(
        [
            Node(
                UnitBound(nodes.train_learner, unit_spec(unit)),
                inputs=["demonstrations", *parameters],
                outputs=["policy", "learning_curve"],
                name=f"train_{unit.algorithm}",
                tags=["imitation", unit.algorithm, TRAIN],
            ),
        ],
        namespace=unit.namespace,
        inputs={"demonstrations": demonstrations_dataset(task, unit.dataset_size)},
        parameters=parameters,
    )
