"""A Kedro runner that runs nodes on a Dask cluster (``dask.distributed``).

    kedro run --runner gail_pipeline.runner.DaskRunner --params "dask.scheduler_address=tcp://host:8786"

Each node goes to the cluster as one task as soon as every node it depends on has finished; the
cluster's scheduler places it on a free worker. Nodes hand data to each other only through the
catalog's persisted datasets, so the catalog's paths must be storage that every worker reaches
(a shared disk, or object storage through fsspec paths), and no dataset passed between nodes may
be a ``MemoryDataset`` — the runner refuses such a pipeline before it starts, naming the datasets.

Where the scheduler is, first found wins:

1. the parameter ``dask.scheduler_address`` (``conf/<env>/parameters*.yml`` or ``--params``);
2. Dask's own configuration (``DASK_SCHEDULER_ADDRESS`` or ``scheduler-address`` in a Dask
   config file);
3. neither: a ``LocalCluster`` on this machine, ``dask.local_workers`` worker processes (default:
   the CPU count) of one thread each, closed when the run ends.

Workers need the project installed (``pip install -e .``) and the same working directory layout
(``conf/``); their MLflow runs go to the tracking URI of the ``kedro run`` (point it at a shared
server with ``MLFLOW_TRACKING_URI``, see README). A node that fails on a worker stops the run with
:class:`NodeFailedError`, which names the node and the worker and carries the worker's traceback.

A node runs once. The runner releases each node's task as soon as it sees it finish, so no result
stays in a worker's memory on the runner's behalf: were a worker lost later (killed, out of
memory), the scheduler would otherwise run the finished node again to rebuild that result, and
the second run would collide with the versioned outputs the first one saved. For a worker lost in
the moment between a node's end and that release, each finished node is also marked done in the
scheduler's metadata, and a task that finds its node marked returns without running it; a node
whose worker was lost while it saved its outputs is run again after what it had saved of this run's
version is removed. A node whose worker
is lost *while it runs* is started again on another worker by Dask (it has saved nothing yet).
"""

from __future__ import annotations

import logging
import os
import traceback
import uuid
from itertools import chain
from typing import Any

from kedro.io import CatalogProtocol, MemoryDataset
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node
from kedro.runner import AbstractRunner

__all__ = ["DaskRunner", "NodeFailedError"]

logger = logging.getLogger(__name__)

# Environment variables a worker needs to log where the `kedro run` logs (see hooks.py).
_FORWARDED_ENV = (
    "MLFLOW_TRACKING_URI",
    "GAIL_PIPELINE_MLFLOW_PARENT_RUN_ID",
    "GAIL_PIPELINE_MLFLOW_EXPERIMENT_ID",
    "GAIL_PIPELINE_TORCH_THREADS",
    "KEDRO_DISABLE_TELEMETRY",
)


class NodeFailedError(RuntimeError):
    """A node raised on a Dask worker: the node's name, the worker, the worker's traceback."""


_worker_hooks: Any = None  # one hook manager per worker process
_DONE = "gail_pipeline.done_nodes"  # scheduler metadata: the nodes of a run that have run


def _run_node_on_worker(
    node: Node,
    catalog: CatalogProtocol,
    run_id: str | None,
    env: dict[str, str],
    cwd: str,
    done_key: list[str],
) -> str:
    """Runs inside a Dask worker: set up the project as ``kedro run`` would (with the project's
    hooks), then run the node through Kedro's own ``Task``; once it has run, mark ``done_key`` in
    the scheduler's metadata, so that a rerun of the task (its worker lost before the runner
    released it) finds the node done and returns at once."""
    global _worker_hooks
    from distributed import get_client, get_worker

    if get_client().get_metadata(done_key, default=False):
        return node.name  # ran already; its outputs are saved
    _remove_partial_outputs(node, catalog)
    from kedro.framework.hooks.manager import _create_hook_manager, _register_hooks
    from kedro.framework.project import PACKAGE_NAME, configure_project, settings
    from kedro.runner.task import Task

    os.environ.update(env)
    if os.path.isdir(cwd):
        os.chdir(cwd)  # relative catalog paths resolve as on the machine that started the run
    if PACKAGE_NAME != "gail_pipeline":
        configure_project("gail_pipeline")
    if _worker_hooks is None:
        _worker_hooks = _create_hook_manager()
        # The project's hooks only: they log through explicit run ids. Plugin hooks (kedro-mlflow's)
        # keep per-process run state, which a long-lived worker would carry from run to run.
        _register_hooks(_worker_hooks, settings.HOOKS)
    try:
        Task(node=node, catalog=catalog, is_async=False, hook_manager=_worker_hooks, run_id=run_id).execute()
    except Exception as exc:  # noqa: BLE001 - whatever a node raises is reported, named
        worker = get_worker().address
        raise NodeFailedError(
            f"node {node.name!r} failed on Dask worker {worker}: {type(exc).__name__}: {exc}\n"
            f"--- traceback on the worker ---\n{traceback.format_exc()}"
        ) from None
    get_client().set_metadata(done_key, True)
    return node.name


def _remove_partial_outputs(node: Node, catalog: CatalogProtocol) -> None:
    """Before a node runs: the outputs it has at this run's save version, left by a worker lost
    while it saved them (the node is not marked done, so they are incomplete), are removed, so that
    running it again does not collide with them. A node's first run finds none."""
    for name in node.outputs:
        try:
            dataset = catalog.get(name)
        except Exception:  # noqa: BLE001 - not a catalog dataset: nothing saved to clear
            continue
        version = getattr(dataset, "_version", None)
        if version is None or not hasattr(dataset, "_get_versioned_path"):
            continue
        path = str(dataset._get_versioned_path(dataset.resolve_save_version()))
        if dataset._exists_function(path):
            logger.warning(
                "%s: removing the partial output %s of a worker lost while saving it", node.name, path
            )
            folder = path.rsplit("/", 1)[0]  # <filepath>/<version>/<name>: the version's folder
            fs = getattr(dataset, "_fs", None)
            if fs is not None:
                fs.rm(folder, recursive=True)


class DaskRunner(AbstractRunner):
    """Runs each node as a task on a ``dask.distributed`` cluster, as soon as its inputs exist."""

    def __init__(
        self,
        is_async: bool = False,
        scheduler_address: str | None = None,
        local_workers: int | None = None,
    ) -> None:
        super().__init__(is_async=is_async)
        self._scheduler_address = scheduler_address
        self._local_workers = local_workers

    # -- configuration -------------------------------------------------------------------------
    def _settings(self) -> tuple[str | None, int]:
        from gail_pipeline import grid
        from gail_pipeline.config import parse_settings
        from gail_pipeline.parameters import DaskSettings

        settings = parse_settings(DaskSettings, grid.active_parameters().get("dask"), "dask")
        address = self._scheduler_address or settings.scheduler_address
        if address is None:
            import dask

            address = dask.config.get("scheduler-address", None)
        workers = self._local_workers or settings.local_workers or (os.cpu_count() or 1)
        return address, workers

    def _client(self) -> tuple[Any, Any]:
        from distributed import Client, LocalCluster

        address, workers = self._settings()
        if address:
            logger.info("Dask: connecting to the scheduler at %s", address)
            return Client(address), None
        logger.info("Dask: no scheduler address given; starting a LocalCluster of %d workers", workers)
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)
        return Client(cluster), cluster

    # -- AbstractRunner ------------------------------------------------------------------------
    def _get_executor(self, max_workers: int) -> None:  # the cluster is the executor
        return None

    def _validate_catalog(self, catalog: CatalogProtocol) -> None:  # type: ignore[override]
        pass

    def _set_manager_datasets(self, catalog: CatalogProtocol) -> None:  # type: ignore[override]
        pass

    @staticmethod
    def check_persisted(pipeline: Pipeline, catalog: CatalogProtocol) -> None:
        """Refuse datasets that one node writes and another reads but that live in memory."""
        produced = set(chain.from_iterable(n.outputs for n in pipeline.nodes))
        consumed = set(chain.from_iterable(n.inputs for n in pipeline.nodes))
        in_memory = sorted(
            name
            for name in produced & consumed
            if isinstance(catalog.get(name, fallback_to_runtime_pattern=True), MemoryDataset)
        )
        if in_memory:
            raise ValueError(
                "DaskRunner: these datasets pass between nodes in memory, which Dask workers do "
                f"not share: {', '.join(in_memory)}. Declare them in the catalog with a path on "
                "storage every worker reaches."
            )

    def _run(
        self,
        pipeline: Pipeline,
        catalog: CatalogProtocol,
        hook_manager: Any = None,
        run_id: str | None = None,
    ) -> None:
        from distributed import as_completed

        self.check_persisted(pipeline, catalog)
        dependencies = pipeline.node_dependencies
        todo = set(dependencies)
        done: set[Node] = set()
        env = {k: os.environ[k] for k in _FORWARDED_ENV if k in os.environ}
        client, cluster = self._client()
        marker = f"{run_id or ''}-{uuid.uuid4().hex}"  # this run's done-marks on the scheduler
        try:
            by_future: dict[Any, Node] = {}
            running = as_completed()

            def submit_ready() -> None:
                ready = {n for n in todo if dependencies[n] <= done}
                todo.difference_update(ready)
                for node in sorted(ready, key=lambda n: n.name):
                    key = f"{node.name}-{run_id or ''}-{len(done)}-{len(by_future)}"
                    future = client.submit(
                        _run_node_on_worker,
                        node,
                        catalog,
                        run_id,
                        env,
                        os.getcwd(),
                        [_DONE, marker, key],
                        key=key,
                        pure=False,
                    )
                    by_future[future] = node
                    running.add(future)

            submit_ready()
            for future in running:
                node = by_future.pop(future)
                status = future.status
                error = future.exception() if status == "error" else None
                # Release the task at once (the runner needs only its status): a result held for
                # the runner in a worker's memory is recomputed - the node run again - when that
                # worker is lost.
                future.release()
                del future
                if status != "finished":
                    self._suggest_resume_scenario(pipeline, done, catalog)
                    if isinstance(error, NodeFailedError):
                        raise NodeFailedError(str(error)) from None
                    what = repr(error) if error is not None else f"its task ended {status}"
                    raise NodeFailedError(f"node {node.name!r} failed on the Dask cluster: {what}") from error
                done.add(node)
                self._logger.info("Completed node: %s", node.name)
                self._logger.info("Completed %d out of %d tasks", len(done), len(dependencies))
                submit_ready()
            if todo:
                raise RuntimeError(f"DaskRunner: nodes left unscheduled: {sorted(n.name for n in todo)}")
        finally:
            try:
                client.set_metadata([_DONE, marker], {})  # forget this run's marks
            except Exception:  # noqa: BLE001 - a scheduler already gone keeps nothing anyway
                pass
            client.close()
            if cluster is not None:
                cluster.close()
