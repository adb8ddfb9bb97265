"""The Dask runner: a small grid through a real 2-worker ``distributed.LocalCluster`` gives the
SequentialRunner's results; a node failing on a worker is reported by name with its traceback;
datasets that would pass between nodes in memory are refused before anything runs."""

import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Pipeline, node

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
    client, parents, children = _runs(project)
    assert len(parents) == 2
    for parent in parents:  # the workers logged each unit into the run's own MLflow run
        _check_children(client, parent, children)


@pytest.mark.slow
def test_a_node_failing_on_a_worker_is_named_with_its_traceback(project, cluster):
    params = {
        **PINNED,
        "grid": {**PINNED["grid"], "algorithms": ["gail"], "dataset_sizes": [1]},
        "imitation": {**PINNED["imitation"], "gail": {"learning_rate": -1.0}},
    }
    with pytest.raises(NodeFailedError) as info:
        _run(
            project,
            params,
            runner=DaskRunner(scheduler_address=cluster.scheduler_address),
            pipelines=["demonstrations", "imitation"],
        )
    message = str(info.value)
    assert "node 'cartpole.gail.n1.s0.train_gail' failed on Dask worker tcp://" in message
    assert "ConfigError: imitation.gail.learning_rate: impossible value -1.0" in message
    assert "--- traceback on the worker ---" in message and "train_learner" in message


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
