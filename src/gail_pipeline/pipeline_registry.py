"""Project pipelines: each stage is one pipeline per task of ``grid.tasks``, namespaced by task."""

from __future__ import annotations

from kedro.pipeline import Pipeline

from gail_pipeline.grid import selected_tasks
from gail_pipeline.pipelines import demonstrations, expert


def register_pipelines() -> dict[str, Pipeline]:
    """``expert``, ``demonstrations`` and ``__default__`` (both, in order) over the grid's tasks.

    ``kedro run --namespaces cartpole`` runs one task; ``--params grid.tasks=hopper`` changes
    the grid; ``--env paper`` selects the paper's configuration.
    """
    tasks = selected_tasks()
    expert_pipeline = Pipeline([])
    demonstrations_pipeline = Pipeline([])
    for task in tasks:
        expert_pipeline += expert.create_pipeline(task.name)
        demonstrations_pipeline += demonstrations.create_pipeline(task.name, task.dataset_sizes)
    return {
        "expert": expert_pipeline,
        "demonstrations": demonstrations_pipeline,
        "__default__": expert_pipeline + demonstrations_pipeline,
    }
