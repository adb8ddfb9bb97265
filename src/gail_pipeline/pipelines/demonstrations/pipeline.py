"""The demonstrations pipeline of one task (namespaced by the registry)."""

from __future__ import annotations

from collections.abc import Sequence

from kedro.pipeline import Node, Pipeline

from gail_pipeline.pipelines.common import bind_task
from gail_pipeline.pipelines.demonstrations import nodes
from gail_pipeline.tracking import DEMONSTRATIONS


def create_pipeline(task_name: str, dataset_sizes: Sequence[int]) -> Pipeline:
    """``<task>.expert_trajectories`` and ``<task>.demonstrations_n<size>`` per dataset size;
    logged to the task's ``<task>.demonstrations`` MLflow run (``gail_pipeline.tracking``)."""
    return Pipeline(
        [
            Node(
                bind_task(nodes.sample_expert_trajectories, task_name),
                inputs=["expert_policy", "params:task", "params:demonstrations"],
                outputs="expert_trajectories",
                name="sample_expert_trajectories",
                tags=["demonstrations", DEMONSTRATIONS],
            ),
            Node(
                bind_task(nodes.subsample_datasets, task_name),
                inputs=["expert_trajectories", "params:task", "params:demonstrations"],
                outputs={f"n{size}": f"demonstrations_n{size}" for size in dataset_sizes},
                name="subsample_datasets",
                tags=["demonstrations", DEMONSTRATIONS],
            ),
        ],
        namespace=task_name,
        parameters={
            "params:task": f"params:tasks.{task_name}",
            "params:demonstrations": "params:demonstrations",
        },
    )
