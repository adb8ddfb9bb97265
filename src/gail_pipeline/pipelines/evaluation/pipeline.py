"""The evaluation pipeline: one node per unit (in the unit's namespace) and the results table."""

from __future__ import annotations

from collections.abc import Sequence

from kedro.pipeline import Node, Pipeline

from gail_pipeline.grid import Unit
from gail_pipeline.pipelines.common import UnitBound
from gail_pipeline.pipelines.evaluation import nodes
from gail_pipeline.pipelines.imitation.pipeline import unit_spec
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


def create_pipeline(units: Sequence[Unit]) -> Pipeline:
    """Every unit's evaluation, then ``results_table`` over all of them."""
    pipeline = Pipeline([])
    for unit in units:
        pipeline += create_unit_pipeline(unit)
    if units:
        pipeline += Pipeline(
            [
                Node(
                    nodes.build_results_table,
                    inputs=[f"{unit.namespace}.evaluation" for unit in units],
                    outputs="results_table",
                    name="build_results_table",
                    tags=["evaluation"],
                )
            ]
        )
    return pipeline
