"""Project hooks."""

from __future__ import annotations

from typing import Any

from kedro.framework.hooks import hook_impl

from gail_pipeline import grid


class GridConfigHook:
    """Hands the run's resolved parameters (``--env`` and ``--params`` applied) to the pipeline
    registry, which builds one namespaced pipeline per task of ``grid.tasks``.

    Kedro creates the context before it first reads the registry, so the pipelines of a run are
    always those of its own configuration.
    """

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        grid.set_active_parameters(context.params)
