"""The Dask runner: a small grid through a real 2-worker ``distributed.LocalCluster`` gives the
SequentialRunner's results and policies; a worker killed mid-grid costs no finished node a second
run; a node failing on a worker is reported by name with its traceback; datasets that would pass
between nodes in memory are refused before anything runs."""

import logging
import os
import signal
import time

import pandas as pd
import pytest
import torch
from kedro.framework.session import KedroSession
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Pipeline, node

from gail_pipeline.rl.policies import load_policy
from gail_pipeline.runner import DaskRunner, NodeFailedError
from tests.conftest import TINY
from tests.test_kedro_run import _check_children, _latest_results, _run, _runs

distributed = pytest.importorskip("distributed")

# Thread counts are pinned: `update_threads: auto` gives a unit in the main process every CPU and
# a unit in a worker process one thread, and float sums differ with the thread count.
PINNED = {**TINY, "imitation": {**TINY["imitation"], "update_threads": 1}}


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as c:
        yield c


@pytest.mark.slow
def test_dask_cluster_gives_the_sequential_results_and_logs_every_unit(project, cluster):
    _run(project, PINNED)
    sequential = _latest_results(project)
    _run(project, PINNED, runner=DaskRunner(scheduler_address=cluster.scheduler_address))
    on_dask = _latest_results(project)
    assert len(list((project / "data/08_reporting/quick/results_table.csv").iterdir())) == 2
    pd.testing.assert_frame_equal(sequential, on_dask)
    _assert_same_policies(project)
    client, parents, children = _runs(project)
    assert len(parents) == 2
    for parent in parents:  # the workers logged each unit into the run's own MLflow run
        _check_children(client, parent, children)


def _assert_same_policies(project):
    """Each policy file of the first run (sequential) holds exactly the weights of the second."""
    models = project / "data/06_models"
    policies = sorted({path.parent.parent for path in models.glob("**/policy.pt/*/policy.pt")})
    policies.append(models / "cartpole/expert_policy.pt")
    assert len(policies) == 9  # the expert and 4 algorithms x 2 dataset sizes x 1 seed
    for folder in policies:
        first, second = (load_policy(v / folder.name) for v in sorted(folder.iterdir()))
        weights, again = first.state_dict(), second.state_dict()
        assert list(weights) == list(again), folder
        for name, tensor in weights.items():
            assert torch.equal(tensor, again[name]), f"{folder.relative_to(project)}: {name} differs"


class _FinishedThenRunAgain(distributed.diagnostics.plugin.SchedulerPlugin):
    """Records, on the scheduler, every task that starts again after it had finished (its result
    lost with a worker) and every task that fails."""

    name = "test-finished-then-run-again"

    def __init__(self):
        self.finished, self.run_again, self.erred = set(), [], []

    def transition(self, key, start, finish, *args, **kwargs):
        if finish == "memory":
            self.finished.add(key)
        elif finish == "processing" and key in self.finished:
            self.run_again.append(key)
        elif finish == "erred":
            self.erred.append(key)


class _KillAWorker(logging.Handler):
    """Kills (SIGKILL) a worker process when the runner reports its ``after``-th finished node:
    the worker that holds the most task results, if any does."""

    def __init__(self, client, after):
        super().__init__(logging.INFO)
        self.client, self.after, self.completed, self.killed = client, after, 0, None
        self.pids = client.run(os.getpid)

    def emit(self, record):
        # One line per finished node: "Completed n out of N tasks: <node>" (gail_pipeline.logs).
        if not record.getMessage().startswith("Completed ") or "tasks: " not in record.getMessage():
            return
        self.completed += 1
        if self.completed != self.after:
            return
        time.sleep(0.5)  # let the runner's releases reach the scheduler
        held = self.client.has_what()
        worker = max(sorted(self.pids), key=lambda address: len(held.get(address, ())))
        os.kill(self.pids[worker], signal.SIGKILL)
        self.killed = (worker, len(held.get(worker, ())))


@pytest.mark.slow
def test_a_worker_killed_mid_grid_costs_no_finished_node_a_second_run(project):
    # Its own cluster: a worker dies in it.
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        reruns = _FinishedThenRunAgain()
        cluster.scheduler.add_plugin(reruns)
        killer = _KillAWorker(client, after=4)
        with KedroSession.create(project_path=project, runtime_params=PINNED) as session:
            runner_logger = logging.getLogger("gail_pipeline.runner")
            level = runner_logger.level
            runner_logger.setLevel(logging.INFO)
            runner_logger.addHandler(killer)
            try:
                session.run(runner=DaskRunner(scheduler_address=cluster.scheduler_address))
            finally:
                runner_logger.removeHandler(killer)
                runner_logger.setLevel(level)
        assert killer.killed is not None, "no worker was killed"
        # The run went on to the end: every unit's result, every node run once.
        results = _latest_results(project)
        assert len(results) == 8 and results["normalized_score"].notna().all()
        assert reruns.run_again == [], f"finished nodes run again after {killer.killed}"
        assert reruns.erred == []
        logs = "\n".join(line for lines in client.get_worker_logs().values() for _, line in lines)
        assert "Compute Failed" not in logs and "must not exist" not in logs


@pytest.mark.slow
def test_a_node_failing_on_a_worker_is_named_with_its_traceback(project, cluster):
    # A bad value of a setting stops the run before any node (tests/test_early_validation.py);
    # an environment that cannot be made fails only in the node that makes it, on a worker.
    cartpole = {**PINNED["tasks"]["cartpole"], "env_kwargs": {"no_such_argument": 1}}
    params = {
        **PINNED,
        "tasks": {**PINNED["tasks"], "cartpole": cartpole},
        "grid": {**PINNED["grid"], "algorithms": ["gail"], "dataset_sizes": [1]},
    }
    with pytest.raises(NodeFailedError) as info:
        _run(
            project,
            params,
            runner=DaskRunner(scheduler_address=cluster.scheduler_address),
            pipelines=["demonstrations", "imitation"],
        )
    message = str(info.value)
    assert "node 'cartpole.sample_expert_trajectories' failed on Dask worker tcp://" in message
    assert "ConfigError: tasks.cartpole: gymnasium.make('CartPole-v1') failed" in message
    assert "--- traceback on the worker ---" in message and "sample_expert_trajectories" in message


def test_datasets_passed_in_memory_are_refused_by_name():
    pipeline = Pipeline(
        [
            node(lambda x: x, "raw", "between", name="first"),
            node(lambda x: x, "between", "result", name="second"),
        ]
    )
    catalog = DataCatalog({"raw": MemoryDataset(1)})
    with pytest.raises(ValueError, match="in memory, which Dask workers do not share: between"):
        DaskRunner().check_persisted(pipeline, catalog)
