"""Every settings group of a run, and one check of them all before the first node runs.

The parameters of a ``kedro run`` (``conf/<env>/parameters*.yml`` and ``tasks.yml``, ``--params``
applied) hold one section per settings group, each parsed by
:func:`gail_pipeline.config.parse_settings` into its dataclass:

==================  ==================================================  ==========================
section             dataclass                                            read by
==================  ==================================================  ==========================
``tasks.<name>``    :class:`gail_pipeline.tasks.TaskSpec`                every stage
``grid``            :func:`gail_pipeline.grid.units`                     the pipeline registry
``expert``          :class:`gail_pipeline.experts.ExpertSettings`        the expert stage
``demonstrations``  :class:`StageSettings`                               the demonstrations stage
``imitation``       :class:`gail_pipeline.imitation.ImitationSettings`   the imitation stage
``evaluation``      :class:`EvaluationSettings`                          the evaluation stage
                    (its ``video``: :class:`~gail_pipeline.video.VideoSettings`, the expert stage too)
``dask``            :class:`DaskSettings`                                ``DaskRunner``
==================  ==================================================  ==========================

:func:`check_run_parameters` parses all of them for every task and unit of the grid (the task's
own expert overrides, a GPU asked for where there is none, …), so that a bad value stops the
run before any node has trained or saved anything. Each node parses its own section again at
its entry (the same functions: the same result).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gail_pipeline.config import parse_settings
from gail_pipeline.video import VideoSettings, parse_video_settings

__all__ = ["DaskSettings", "EvaluationSettings", "StageSettings", "check_run_parameters"]


@dataclass(frozen=True)
class StageSettings:
    """The ``demonstrations`` and ``evaluation`` sections."""

    seed: int = 0
    """Seeds the stage's rollouts (offset per task and unit, so that no two draw the same episodes)."""

    def checks(self) -> dict[str, Any]:
        return {"seed": (self.seed >= 0, "a non-negative integer")}


@dataclass(frozen=True)
class EvaluationSettings(StageSettings):
    """The ``evaluation`` section."""

    video: VideoSettings = field(default_factory=VideoSettings, metadata={"parse": parse_video_settings})
    """A rollout video of the expert (``<task>.expert_video``) and of every learned policy
    (``<unit>.video``): ``true`` / ``false``, or the settings of :class:`VideoSettings`."""


@dataclass(frozen=True)
class DaskSettings:
    """The ``dask`` section, read by :class:`gail_pipeline.runner.DaskRunner` only."""

    scheduler_address: str | None = None
    """``tcp://host:8786`` of a running scheduler; None: Dask's config (``DASK_SCHEDULER_ADDRESS``),
    else a ``LocalCluster`` on this machine."""
    local_workers: int | None = None
    """That ``LocalCluster``'s worker processes (one thread each); None: the CPU count."""

    def checks(self) -> dict[str, Any]:
        ok = self.local_workers is None or self.local_workers >= 1
        return {"local_workers": (ok, "a positive integer")}


def check_run_parameters(params: Mapping[str, Any]) -> None:
    """Parse every settings group of the run for every task and unit of its grid; raise
    :class:`~gail_pipeline.config.ConfigError` for the first bad value (the message names it)."""
    from gail_pipeline import grid
    from gail_pipeline.experts import ExpertSettings
    from gail_pipeline.imitation import ImitationSettings
    from gail_pipeline.imitation.configs import defined_configs, unit_settings
    from gail_pipeline.tasks import check_env_id

    units = grid.units(params)  # tasks.* and grid.*
    expert = ExpertSettings.parse(params.get("expert"))
    imitation = ImitationSettings.parse(params.get("imitation"))
    parse_settings(StageSettings, params.get("demonstrations"), "demonstrations")
    parse_settings(EvaluationSettings, params.get("evaluation"), "evaluation")
    parse_settings(DaskSettings, params.get("dask"), "dask")
    expert.torch_device("expert")
    imitation.torch_device("imitation")
    for task in {unit.task.name: unit.task for unit in units}.values():
        check_env_id(task.env_id)
        unit_settings(params.get("imitation"), task)  # the task's own imitation settings
    defined = defined_configs(params)
    for task, config in {
        (u.task.name, u.config): (u.task, u.config) for u in units if u.config in defined
    }.values():
        unit_settings(params.get("imitation"), task, config, defined[config])  # a named GAIL config's
        expert.for_task(task)
