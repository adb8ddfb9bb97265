"""Project pipelines, built from the configuration's grid.

Each stage is one namespaced copy per task (expert, demonstrations) or per unit — (task,
algorithm, dataset size, seed) — (imitation, evaluation). Dataset factories in the catalog give
each copy its own files.
"""

from __future__ import annotations

from kedro.pipeline import Pipeline

from gail_pipeline.config import parse_settings
from gail_pipeline.grid import active_parameters, selected_tasks, units
from gail_pipeline.parameters import EvaluationSettings
from gail_pipeline.pipelines import (
    demonstrations,
    evaluation,
    expert,
    imitation,
    reporting,
)


def register_pipelines() -> dict[str, Pipeline]:
    """``expert``, ``demonstrations``, ``imitation``, ``evaluation``, ``reporting``;
    ``__default__`` runs them all. ``publish`` writes the latest reports to
    ``docs/results/<grid_label>/``.

    ``kedro run --namespaces cartpole`` runs one task; ``--params grid.tasks=hopper`` changes
    the grid; ``--env paper`` selects the paper's configuration.
    """
    tasks = selected_tasks()
    grid_units = units()
    video = parse_settings(
        EvaluationSettings, active_parameters().get("evaluation"), "evaluation"
    ).video.enabled
    stages = {
        "expert": sum((expert.create_pipeline(t.name, video) for t in tasks), Pipeline([])),
        "demonstrations": sum(
            (demonstrations.create_pipeline(t.name, t.dataset_sizes) for t in tasks), Pipeline([])
        ),
        "imitation": sum((imitation.create_pipeline(u) for u in grid_units), Pipeline([])),
        "evaluation": evaluation.create_pipeline(grid_units, video),
        "reporting": reporting.create_pipeline(grid_units),
    }
    stages["__default__"] = sum(stages.values(), Pipeline([]))
    # Not in the default run: it writes docs/results/<grid_label>/ from the latest reports.
    stages["publish"] = reporting.create_publish_pipeline(grid_units)
    return stages
