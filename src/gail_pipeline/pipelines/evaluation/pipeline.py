"""The evaluation pipeline: per unit (in the unit's namespace) its evaluation and, with
``evaluation.video``, its rollout video; one table per task (in the task's namespace), and
``results_table`` over the tasks."""

from __future__ import annotations

from collections.abc import Sequence

from kedro.pipeline import Node, Pipeline

from gail_pipeline.grid import Unit
from gail_pipeline.pipelines.common import UnitBound
from gail_pipeline.pipelines.evaluation import nodes
from gail_pipeline.pipelines.imitation.pipeline import unit_spec
from gail_pipeline.reporting import concat_results
from gail_pipeline.tracking import EVALUATION, VIDEO


def create_unit_pipeline(unit: Unit, video: bool = False) -> Pipeline:
    """``<unit>.evaluation``; with ``video``, ``<unit>.video`` (logged to the unit's MLflow run)."""
    task = unit.task.name
    evaluate = Node(
        UnitBound(nodes.evaluate_unit, unit_spec(unit)),
        inputs=["policy", "reference_returns", "params:task", "params:evaluation"],
        outputs="evaluation",
        name="evaluate_policy",
        tags=["evaluation", EVALUATION],
    )
    render = Node(
        UnitBound(nodes.render_unit_video, unit_spec(unit)),
        inputs=["policy", "params:task", "params:evaluation"],
        outputs="video",
        name="render_video",
        tags=["evaluation", "video", VIDEO],
    )
    return Pipeline(
        [evaluate, render] if video else [evaluate],
        namespace=unit.namespace,
        inputs={"reference_returns": f"{task}.reference_returns"},
        parameters={"params:task": f"params:tasks.{task}", "params:evaluation": "params:evaluation"},
    )


def task_results(task: str) -> str:
    """The dataset of one task's results table: a name outside the task's namespace, so that the
    table over all tasks reads it without crossing into the namespace."""
    return f"{task}_results_table"


def create_pipeline(units: Sequence[Unit], video: bool = False) -> Pipeline:
    """Every unit's evaluation (and its video: ``video``, from ``evaluation.video.enabled``); per
    task, ``<task>_results_table`` from its units' evaluations (inside the task's namespace, so
    each task's lineage is one group); then ``results_table``."""
    pipeline = Pipeline([])
    tasks: dict[str, list[Unit]] = {}
    for unit in units:
        pipeline += create_unit_pipeline(unit, video)
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
