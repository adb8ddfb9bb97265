"""Project hooks."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import torch
from kedro.framework.hooks import hook_impl

from gail_pipeline import grid

if TYPE_CHECKING:
    from gail_pipeline.tracking import UnitTracking


class GridConfigHook:
    """Hands the run's resolved parameters (``--env`` and ``--params`` applied) to the pipeline
    registry, which builds one namespaced pipeline per task of ``grid.tasks``.

    Kedro creates the context before it first reads the registry, so the pipelines of a run are
    always those of its own configuration.
    """

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        # The loader's parameters (runtime --params merged in), not ``context.params``: that one
        # validates against the pipelines, which would build them before they know the grid.
        grid.set_active_parameters(context.config_loader["parameters"])


class ParametersCheckHook:
    """Parses every settings group of the run for every task and unit before the first node
    runs (:func:`gail_pipeline.parameters.check_run_parameters`): a bad value stops the run with
    one message naming it, before anything is trained or saved."""

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any]) -> None:
        from gail_pipeline import grid
        from gail_pipeline.parameters import check_run_parameters

        check_run_parameters(grid.active_parameters())


class TorchThreadsHook:
    """One torch intra-op thread per node unless ``GAIL_PIPELINE_TORCH_THREADS`` says otherwise.

    The networks are small (2×100): extra threads only contend with the simulator and with
    parallel units — measured here, a test suite ran 33× slower with the default thread count
    beside one training process on 2 cores. Runs in ParallelRunner's worker processes too.
    """

    @hook_impl
    def before_node_run(self) -> None:
        torch.set_num_threads(int(os.environ.get("GAIL_PIPELINE_TORCH_THREADS", "1")))


class UnitTrackingHook:
    """One MLflow child run per training unit, under the ``kedro run``'s run (kedro-mlflow's).

    Units: ``<task>.expert`` (training curve, reference returns) and each imitation unit
    ``<task>.<algo>.n<size>.s<seed>`` (parameters, learning curve stepped by env steps, the policy
    file and a curve plot; then its evaluation's return and normalised score); the reporting
    figures and tables go to the ``kedro run``'s run itself. What is logged is declared, not
    inferred from names: node tags set where the pipelines are built, and dataset metadata in the
    catalog (the scheme: ``gail_pipeline.tracking``). Logging goes through explicit run ids, so it
    is right in ParallelRunner's worker processes too: the parent run id and the tracking URI reach
    them through the environment.
    """

    @hook_impl
    def before_pipeline_run(self) -> None:
        import mlflow

        run = mlflow.active_run()  # started by kedro-mlflow's hook, which runs before this one
        if run is not None:
            os.environ[_PARENT_RUN] = run.info.run_id
            os.environ[_EXPERIMENT] = run.info.experiment_id
            os.environ["MLFLOW_TRACKING_URI"] = mlflow.get_tracking_uri()
            from mlflow.entities import RunTag
            from mlflow.tracking import MlflowClient

            from gail_pipeline.tracking import version_tags

            tags = [RunTag(k, v) for k, v in version_tags().items()]
            MlflowClient().log_batch(run.info.run_id, tags=tags)
        else:
            os.environ.pop(_PARENT_RUN, None)

    @hook_impl
    def after_pipeline_run(self) -> None:
        self._close()

    @hook_impl
    def on_pipeline_error(self) -> None:
        self._close()

    @staticmethod
    def _close() -> None:
        """kedro-mlflow re-enters its run before every node and ends it once: the run stays on
        MLflow's active-run stack, and the next session in this process would log into it.
        Emptying the stack (the run itself is already ended) keeps sessions apart."""
        import mlflow

        os.environ.pop(_PARENT_RUN, None)
        while mlflow.active_run() is not None:
            mlflow.end_run()

    @hook_impl
    def after_node_run(
        self, node: Any, catalog: Any, inputs: dict[str, Any], outputs: dict[str, Any]
    ) -> None:
        """Log what the node's tags and its outputs' catalog metadata declare
        (``gail_pipeline.tracking``); nothing is inferred from node or dataset names."""
        parent = os.environ.get(_PARENT_RUN)
        if not parent:
            return
        from gail_pipeline import tracking

        declared = tracking.unit_tracking(node)
        artifacts = [
            (artifact, outputs[name])
            for name in node.outputs
            if (artifact := tracking.report_artifact(name, _metadata(catalog, name))) is not None
        ]
        if declared is None and not artifacts:
            return
        from mlflow.tracking import MlflowClient

        client = MlflowClient()
        if declared is not None:
            self._log_unit(client, parent, node, declared, inputs, outputs)
        for artifact, value in artifacts:  # reporting: into the kedro run's own run
            artifact.log(client, parent, value)

    @staticmethod
    def _log_unit(
        client: Any,
        parent: str,
        node: Any,
        declared: UnitTracking,
        inputs: dict[str, Any],
        outputs: dict[str, Any],
    ) -> None:
        """Into the child run the node's tag names: a training node's (policy, learning curve)
        and ``params:`` inputs, then the run is ended; or a metrics node's result dict."""
        from gail_pipeline import tracking

        name = declared.run_name(node)
        run_id = tracking.find_or_create_run(
            client, os.environ[_EXPERIMENT], parent, name, {"gail_pipeline.stage": declared.stage}
        )
        if declared.training:
            policy, curve = (outputs[output] for output in node.outputs)
            params = {k[len("params:") :]: v for k, v in inputs.items() if k.startswith("params:")}
            tracking.log_training(client, run_id, name, with_defaults(params), policy, curve)
            client.set_terminated(run_id)
        else:
            (result,) = (outputs[output] for output in node.outputs)
            tracking.log_result(client, run_id, result)


def _metadata(catalog: Any, name: str) -> Any:
    """The catalog metadata of dataset ``name`` (None for datasets without)."""
    dataset = catalog.get(name) if catalog is not None else None
    return getattr(dataset, "metadata", None)


def with_defaults(params: dict[str, Any]) -> dict[str, Any]:
    """A node's ``params:`` inputs with the ``imitation`` and ``expert`` sections parsed into their
    settings (the YAML sets only what differs from the defaults; MLflow records every setting)."""
    from gail_pipeline.config import settings_dict
    from gail_pipeline.experts import ExpertSettings
    from gail_pipeline.imitation import ImitationSettings

    parsers = {"imitation": ImitationSettings.parse, "expert": ExpertSettings.parse}
    return {k: settings_dict(parsers[k](v)) if k in parsers else v for k, v in params.items()}


_PARENT_RUN = "GAIL_PIPELINE_MLFLOW_PARENT_RUN_ID"
_EXPERIMENT = "GAIL_PIPELINE_MLFLOW_EXPERIMENT_ID"
