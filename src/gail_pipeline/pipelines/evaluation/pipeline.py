"""The evaluation pipeline: one node per unit (in the unit's namespace), one table per task (in the
task's namespace), and ``results_table`` over the tasks."""

from __future__ import annotations

from collections.abc import Sequence

from kedro.pipeline import Node, Pipeline

from gail_pipeline.grid import Unit
from gail_pipeline.pipelines.common import UnitBound
from gail_pipeline.pipelines.evaluation import nodes
from gail_pipeline.pipelines.imitation.pipeline import unit_spec
from gail_pipeline.reporting import concat_results
from gail_pipeline.tracking import EVALUATION


def create_unit_pipeline(unit: Unit) -> Pipeline:
    task = unit.task.name
    return Pipeline(
        [
            Node(
                UnitBound(nodes.evaluate_unit, unit_spec(unit)),
                inputs=["policy", "reference_returns", "params:task", "params:evaluation"],
                outputs="evaluation",
                name="evaluate_policy",
                tags=["evaluation", EVALUATION],
            )
        ],
        namespace=unit.namespace,
        inputs={"reference_returns": f"{task}.reference_returns"},
        parameters={"params:task": f"params:tasks.{task}", "params:evaluation": "params:evaluation"},
    )


def task_results(task: str) -> str:
    """The dataset of one task's results table: a name outside the task's namespace, so that the
    table over all tasks reads it without crossing into the namespace."""
    return f"{task}_results_table"


def create_pipeline(units: Sequence[Unit]) -> Pipeline:
    """Every unit's evaluation; per task, ``<task>_results_table`` from its units' evaluations
    (inside the task's namespace, so each task's lineage is one group); then ``results_table``."""
    pipeline = Pipeline([])
    tasks: dict[str, list[Unit]] = {}
    for unit in units:
        pipeline += create_unit_pipeline(unit)
        tasks.setdefault(unit.task.name, []).append(unit)
    if not units:
        return pipeline
    for task, task_units in tasks.items():
        pipeline += Pipeline(
            [
                Node(
                    nodes.build_results_table,
                    inputs=[f"{unit.namespace}.evaluation" for unit in task_units],
                    outputs=task_results(task),
                    name="build_task_results_table",
                    tags=["evaluation"],
                    namespace=task,
                )
            ]
        )
    return pipeline + Pipeline(
        [
            Node(
                concat_results,
                inputs=[task_results(task) for task in tasks],
                outputs="results_table",
                name="build_results_table",
                tags=["evaluation"],
            )
        ]
    )
