"""Project hooks."""

from __future__ import annotations

import os
from pathlib import Path
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
        # The loader's parameters (runtime --params merged in), not ``context.params``: that one
        # validates against the pipelines, which would build them before they know the grid.
        grid.set_active_parameters(context.config_loader["parameters"])


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
    file and a curve plot; then its evaluation's return and normalised score). Logging goes
    through explicit run ids (``gail_pipeline.tracking``), so it is right in ParallelRunner's worker
    processes too: the parent run id and the tracking URI reach them through the environment.
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
    def after_node_run(self, node: Any, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        parent = os.environ.get(_PARENT_RUN)
        if not parent:
            return
        if not node.namespace:
            self._log_report(parent, node, outputs)
            return
        short = node.name.rsplit(".", 1)[-1]
        if short not in _TRACKED and not short.startswith("train_"):
            return
        from mlflow.tracking import MlflowClient

        from gail_pipeline import tracking

        client = MlflowClient()
        namespace = node.namespace
        unit = f"{namespace}.expert" if short in ("train_expert", "measure_reference_returns") else namespace
        run_id = tracking.find_or_create_run(
            client, os.environ[_EXPERIMENT], parent, unit, {"gail_pipeline.stage": _stage(short)}
        )
        params = {k[len("params:") :]: v for k, v in inputs.items() if k.startswith("params:")}
        if short in ("train_expert",) or short.startswith("train_"):
            policy_key = next(k for k in outputs if k.endswith("policy"))
            curve_key = next(k for k in outputs if k.endswith("curve"))
            policy, curve = outputs[policy_key], outputs[curve_key]
            step = "env_steps" if "env_steps" in curve else "step"
            y = "return_mean" if "return_mean" in curve else "validation_nll"
            with tracking.temporary_directory() as tmp:
                from gail_pipeline.rl.policies import save_policy

                policy_file = Path(tmp) / "policy.pt"
                save_policy(policy, policy_file)
                plot = tracking.plot_curve(curve, step, y, unit, Path(tmp))
                final = {f"final_{y}": float(curve[y].iloc[-1])}
                tracking.log_unit(
                    client,
                    run_id,
                    params={**params, "unit": policy.metadata},
                    curve=curve,
                    step_column=step,
                    metrics=final,
                    artifacts=[policy_file, plot],
                )
            client.set_terminated(run_id)
        else:
            result = next(iter(outputs.values()))
            keys = (
                "return_mean",
                "return_std",
                "normalized_score",
                "expert_return_mean",
                "expert_return_std",
                "random_return_mean",
                "random_return_std",
            )
            tracking.log_unit(client, run_id, metrics={k: result[k] for k in keys if k in result})

    @staticmethod
    def _log_report(parent: str, node: Any, outputs: dict[str, Any]) -> None:
        """Reporting outputs (figures, Markdown tables) go to the kedro run's own run."""
        if "reporting" not in node.tags:
            return
        from mlflow.tracking import MlflowClient

        client = MlflowClient()
        for name, value in outputs.items():
            if name.endswith("_png"):
                client.log_figure(parent, value, f"reporting/{name[: -len('_png')]}.png")
            elif name.endswith("_html"):
                client.log_figure(parent, value, f"reporting/{name[: -len('_html')]}.html")
            elif name.endswith("_markdown"):
                client.log_text(parent, value, f"reporting/{name[: -len('_markdown')]}.md")


_PARENT_RUN = "GAIL_PIPELINE_MLFLOW_PARENT_RUN_ID"
_EXPERIMENT = "GAIL_PIPELINE_MLFLOW_EXPERIMENT_ID"
_TRACKED = ("train_expert", "measure_reference_returns", "evaluate_policy")


def _stage(short_name: str) -> str:
    if short_name in ("train_expert", "measure_reference_returns"):
        return "expert"
    return "evaluation" if short_name == "evaluate_policy" else "imitation"
