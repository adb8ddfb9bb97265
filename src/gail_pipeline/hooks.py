"""Project hooks."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

import torch
from kedro.framework.hooks import hook_impl

from gail_pipeline import grid

if TYPE_CHECKING:
    from gail_pipeline.tracking import UnitTracking

logger = logging.getLogger(__name__)


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
    one message naming it, before anything is trained or saved. With ``--only-missing-outputs``,
    also refuses to keep a finished unit trained under other settings than the run gives it
    (:func:`gail_pipeline.pipelines.imitation.staleness.check_kept_units`)."""

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        from gail_pipeline import grid
        from gail_pipeline.parameters import check_run_parameters

        params = grid.active_parameters()
        check_run_parameters(params)
        if (run_params or {}).get("only_missing_outputs"):
            from gail_pipeline.pipelines.imitation.staleness import check_kept_units

            check_kept_units(pipeline.nodes, catalog, params)


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

    Units: ``<task>.expert`` (training curve, reference returns), ``<task>.demonstrations`` (the
    expert's rollouts and the datasets drawn from them) and each imitation unit
    ``<task>.<algo>.n<size>.s<seed>`` (parameters, its demonstrations as an MLflow dataset input,
    learning curve stepped by env steps, the policy file and a curve plot; then its evaluation's
    ``return_mean`` and ``normalized_score``); the reporting figures and tables go to the ``kedro
    run``'s run itself, which is named after the grid (``quick · cartpole``), described by it, and
    gets a chart of the units' normalised scores at the end. What is logged is declared, not
    inferred from names: node tags set where the pipelines are built, and dataset metadata in the
    catalog (the scheme: ``gail_pipeline.tracking``). Logging goes through explicit run ids, so it
    is right in ParallelRunner's worker processes too: the parent run id and the tracking URI reach
    them through the environment.
    """

    def __init__(self) -> None:
        self._label: str | None = None
        self._env: str | None = None

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        """The run's grid label (``globals.yml``) and config env, to name its run."""
        self._env = getattr(context, "env", None)
        try:
            self._label = context.config_loader["globals"].get("grid_label")
        except Exception:  # noqa: BLE001 — no globals: the run is named after the env alone
            self._label = None

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any]) -> None:
        import mlflow

        run = mlflow.active_run()  # started by kedro-mlflow's hook, which runs before this one
        if run is not None:
            os.environ[_PARENT_RUN] = run.info.run_id
            os.environ[_EXPERIMENT] = run.info.experiment_id
            os.environ["MLFLOW_TRACKING_URI"] = mlflow.get_tracking_uri()
            from mlflow.entities import RunTag
            from mlflow.tracking import MlflowClient

            from gail_pipeline import tracking

            client = MlflowClient()
            tracking.ensure_experiment_kind(client, run.info.experiment_id)
            params = grid.active_parameters()
            label = self._label or self._env or "base"
            names = (run_params or {}).get("pipeline_names") or [(run_params or {}).get("pipeline_name")]
            pipeline = "+".join(n for n in names if n) or None
            tags = {
                **tracking.version_tags(),
                "mlflow.runName": tracking.parent_run_name(label, params, pipeline),
                "mlflow.note.content": tracking.grid_description(label, self._env, params, pipeline),
            }
            client.log_batch(run.info.run_id, tags=[RunTag(k, v) for k, v in tags.items()])
        else:
            os.environ.pop(_PARENT_RUN, None)

    @hook_impl
    def after_pipeline_run(self) -> None:
        parent = os.environ.get(_PARENT_RUN)
        if parent:
            from mlflow.tracking import MlflowClient

            from gail_pipeline import tracking

            experiment = os.environ[_EXPERIMENT]
            tracking.log_score_chart(MlflowClient(), experiment, parent)
            # MLflow 3's UI opens every experiment on its GenAI view unless asked for the other
            logger.info(
                "MLflow: `kedro mlflow ui`, then #/experiments/%s/runs?workflowType=machine_learning",
                experiment,
            )
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
            self._log_unit(client, parent, node, declared, catalog, inputs, outputs)
        for artifact, value in artifacts:  # reporting: into the kedro run's own run
            artifact.log(client, parent, value)

    @staticmethod
    def _log_unit(
        client: Any,
        parent: str,
        node: Any,
        declared: UnitTracking,
        catalog: Any,
        inputs: dict[str, Any],
        outputs: dict[str, Any],
    ) -> None:
        """Into the child run the node's tag names: its trajectory-set inputs as dataset inputs;
        then a training node's (policy, learning curve) and ``params:`` inputs, and the run is
        ended; a demonstrations node's trajectory sets, and the run is ended; or a metrics node's
        result dict."""
        from gail_pipeline import tracking
        from gail_pipeline.trajectories import Demonstrations

        name = declared.run_name(node)
        run_id = tracking.find_or_create_run(
            client, os.environ[_EXPERIMENT], parent, name, {"gail_pipeline.stage": declared.stage}
        )
        context = "training" if declared.training else "source"
        datasets = [
            tracking.dataset_input(dataset, value, context)
            for dataset, value in inputs.items()
            if isinstance(value, Demonstrations)
        ]
        if datasets:
            tracking.log_dataset_inputs(client, run_id, datasets)
        params = {k[len("params:") :]: v for k, v in inputs.items() if k.startswith("params:")}
        if declared.logs == "training":
            policy, curve = (outputs[output] for output in node.outputs)
            params = trained_with(node, params)
            tracking.log_training(client, run_id, name, with_defaults(params), policy, curve)
            client.set_terminated(run_id)
        elif declared.logs == "demonstrations":
            sets = {output: outputs[output] for output in node.outputs}
            saved = {output: _saved_version(catalog, output) for output in node.outputs}
            tracking.log_demonstrations(client, run_id, tracking.flatten(params), sets, saved)
            client.set_terminated(run_id)
        elif declared.logs == "video":
            (video,) = (outputs[output] for output in node.outputs)
            tracking.log_video(client, run_id, video)
        else:
            (result,) = (outputs[output] for output in node.outputs)
            tracking.log_result(client, run_id, result)


def _metadata(catalog: Any, name: str) -> Any:
    """The catalog metadata of dataset ``name`` (None for datasets without)."""
    dataset = catalog.get(name) if catalog is not None else None
    return getattr(dataset, "metadata", None)


def _saved_version(catalog: Any, name: str) -> tuple[str | None, str | None]:
    """(save version, path) of the versioned file dataset ``name`` in this run; (None, None) for
    others. The path is written as the project's datasets report a loaded one (``path`` in a
    loaded set's metadata), so a learner's dataset input matches what its stage logged."""
    from kedro.io.core import AbstractVersionedDataset

    dataset = catalog.get(name) if catalog is not None else None
    if not isinstance(dataset, AbstractVersionedDataset):
        return None, None
    try:
        version = dataset.resolve_save_version()
        path = str(dataset._get_save_path())  # Kedro's own path of a version (no public accessor)
    except Exception:  # noqa: BLE001 — provenance is best effort, never a failed node
        return None, None
    protocol = getattr(dataset, "_protocol", "file")
    return version, path if protocol in ("file", "") else f"{protocol}://{path}"


def trained_with(node: Any, params: dict[str, Any]) -> dict[str, Any]:
    """A training node's ``params:`` inputs with ``imitation`` replaced by the settings its unit
    trained with: the task's own imitation settings merged in and GAIL's config applied
    (:func:`gail_pipeline.imitation.configs.unit_settings`), so that MLflow records what ran."""
    unit = getattr(node.func, "value", None)
    task_params = params.get(f"tasks.{getattr(unit, 'task_name', '')}")
    if "imitation" not in params or task_params is None or not hasattr(unit, "task_and_settings"):
        return params
    config_params = params.get(f"gail_config_settings.{unit.config}")
    _, settings = unit.task_and_settings(task_params, params["imitation"], config_params)
    return {**params, "imitation": settings}


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
