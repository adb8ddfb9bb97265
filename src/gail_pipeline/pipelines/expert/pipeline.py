"""The expert pipeline of one task (namespaced by the registry)."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from gail_pipeline.pipelines.common import bind_task
from gail_pipeline.pipelines.expert import nodes
from gail_pipeline.tracking import EXPERT_REFERENCE, EXPERT_TRAIN, EXPERT_VIDEO


def create_pipeline(task_name: str, video: bool = False) -> Pipeline:
    """``<task>.expert_policy``, ``<task>.expert_training_curve``, ``<task>.reference_returns``
    and, with ``video`` (``evaluation.video.enabled``), ``<task>.expert_video``.

    The nodes log to the MLflow run ``<task>.expert`` (tags: ``gail_pipeline.tracking``)."""
    render = Node(
        bind_task(nodes.render_expert_video, task_name),
        inputs=["expert_policy", "params:task", "params:expert", "params:evaluation"],
        outputs="expert_video",
        name="render_expert_video",
        tags=["expert", "video", EXPERT_VIDEO],
    )
    return Pipeline(
        [
            Node(
                bind_task(nodes.train_expert, task_name),
                inputs=["params:task", "params:expert"],
                outputs=["expert_policy", "expert_training_curve"],
                name="train_expert",
                tags=["expert", EXPERT_TRAIN],
            ),
            Node(
                bind_task(nodes.measure_reference_returns, task_name),
                inputs=["expert_policy", "params:task", "params:expert"],
                outputs="reference_returns",
                name="measure_reference_returns",
                tags=["expert", EXPERT_REFERENCE],
            ),
            *([render] if video else []),
        ],
        namespace=task_name,
        parameters={
            "params:task": f"params:tasks.{task_name}",
            "params:expert": "params:expert",
            **({"params:evaluation": "params:evaluation"} if video else {}),
        },
    )
