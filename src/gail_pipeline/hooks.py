"""Project hooks."""

from __future__ import annotations

import os
from typing import Any

import torch
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


class TorchThreadsHook:
    """One torch intra-op thread per node unless ``GAIL_PIPELINE_TORCH_THREADS`` says otherwise.

    The networks are small (2×100): extra threads only contend with the simulator and with
    parallel units — measured here, a test suite ran 33× slower with the default thread count
    beside one training process on 2 cores. Runs in ParallelRunner's worker processes too.
    """

    @hook_impl
    def before_node_run(self) -> None:
        torch.set_num_threads(int(os.environ.get("GAIL_PIPELINE_TORCH_THREADS", "1")))
