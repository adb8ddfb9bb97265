"""What ``UnitTrackingHook`` logs to MLflow is declared — node tags and catalog metadata
(``gail_pipeline.tracking``) — and nothing is inferred from node or dataset names.

A tiny ``kedro run`` logs what the project's runs always logged (each unit run's stage, parameters,
curve, final and evaluation metrics, artifacts; the reports in the kedro run's run); unit tests
call the hook on hand-made nodes with a mock MLflow client. ``tests/test_kedro_run.py`` checks
the child runs of the whole grid, sequential and parallel."""

from unittest import mock

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Node, Pipeline

from gail_pipeline import hooks, tracking
from gail_pipeline.rl.policies import CategoricalPolicy
from tests.conftest import TINY

# Expert, BC (curve stepped by gradient steps) and GAIL (by env steps): one of each kind of run.
PARAMS = {**TINY, "grid": {**TINY["grid"], "algorithms": ["bc", "gail"], "dataset_sizes": [1]}}
REPORTS = {
    "reporting/figure_one.png",
    "reporting/figure_one.html",
    "reporting/learning_curves.png",
    "reporting/learning_curves.html",
    "reporting/paper_comparison.md",
}


def _numeric_columns(curve, step):
    return {c for c in curve.columns if c != step and pd.api.types.is_numeric_dtype(curve[c])}


@pytest.mark.slow  # a whole kedro run: 6 s on 2 idle cores, 25 s on busy ones
def test_tiny_kedro_run_logs_the_declared_runs_metrics_and_artifacts(project):
    from mlflow.tracking import MlflowClient

    with KedroSession.create(project_path=project, runtime_params=PARAMS) as session:
        session.run()
    with KedroSession.create(project_path=project, runtime_params=PARAMS) as session:
        context = session.load_context()  # the run's saved outputs, to compare with
        catalog, params = context.catalog, context.params
        declared = {
            entry["metadata"]["tracking"]["artifact_path"]
            for entry in context.config_loader["catalog"].values()
            if "tracking" in (entry.get("metadata") or {})
        }

    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("gail_pipeline")
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = {r.info.run_name: r for r in runs if "mlflow.parentRunId" in r.data.tags}
    assert set(children) == {"cartpole.expert", "cartpole.bc.n1.s0", "cartpole.gail.n1.s0"}

    # The reports go to the kedro run's own run, where the catalog's metadata says.
    assert declared == REPORTS
    assert [a.path for a in client.list_artifacts(parent.info.run_id)] == ["reporting"]
    assert {a.path for a in client.list_artifacts(parent.info.run_id, "reporting")} == REPORTS

    task_params = {"tasks.cartpole": params["tasks"]["cartpole"]}
    for name, run in children.items():
        expert = name == "cartpole.expert"
        stage = "expert" if expert else "imitation"  # a unit's run is created by its training
        assert run.info.status == "FINISHED"
        assert run.data.tags["gail_pipeline.stage"] == stage
        assert run.data.tags["gail_pipeline.unit"] == name
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert {a.path for a in client.list_artifacts(run.info.run_id)} == {"policy.pt", "learning_curve.png"}

        stage_params = {"expert": params["expert"]} if expert else {"imitation": params["imitation"]}
        logged = run.data.params
        assert {k: v for k, v in logged.items() if not k.startswith("unit.")} == tracking.flatten(
            hooks.with_defaults({**task_params, **stage_params})
        )
        # Every setting is recorded, the defaults the YAML leaves out included.
        assert logged[f"{stage}.trpo.max_kl"] == "0.01"
        assert logged["tasks.cartpole.batch_size"] == "300"
        if not expert:
            assert logged["imitation.policy_hidden_sizes"] == "[16]"
            assert logged["unit.algorithm"] == name.split(".")[1] and logged["unit.dataset_size"] == "1"

        if expert:
            curve = catalog.load("cartpole.expert_training_curve")
            result = catalog.load("cartpole.reference_returns")
            result_keys = {
                "expert_return_mean",
                "expert_return_std",
                "random_return_mean",
                "random_return_std",
            }
        else:
            curve = catalog.load(f"{name}.learning_curve")
            result = catalog.load(f"{name}.evaluation")
            result_keys = {"return_mean", "return_std", "normalized_score"}
            result_keys |= {"expert_return_mean", "random_return_mean"}
        step, y = ("step", "validation_nll") if ".bc." in name else ("env_steps", "return_mean")
        curve_metrics = {f"curve.{c}" for c in _numeric_columns(curve, step)}
        assert set(run.data.metrics) == curve_metrics | {f"final_{y}"} | result_keys
        assert run.data.metrics[f"final_{y}"] == pytest.approx(curve[y].iloc[-1])
        for key in result_keys:
            assert run.data.metrics[key] == pytest.approx(result[key])
        history = sorted(client.get_metric_history(run.info.run_id, f"curve.{y}"), key=lambda m: m.step)
        assert [m.step for m in history] == list(curve[step])
        assert [m.value for m in history] == pytest.approx(list(curve[y]))
    assert (
        len(client.get_metric_history(children["cartpole.gail.n1.s0"].info.run_id, "curve.return_mean")) == 2
    )


# --------------------------------------------------------------------------------------------
# The hook on hand-made nodes: only declarations count
# --------------------------------------------------------------------------------------------
def _policy():
    policy = CategoricalPolicy(4, 2, hidden_sizes=(4,))
    policy.metadata = {"algorithm": "bc", "seed": 0}
    return policy


CURVE = pd.DataFrame({"iteration": [1, 2], "env_steps": [300, 600], "return_mean": [10.0, 20.0]})


@pytest.fixture
def client(monkeypatch):
    """The mock ``MlflowClient`` the hook creates, inside a kedro run's MLflow run."""
    client = mock.MagicMock(name="client")
    client.search_runs.return_value = []
    client.create_run.return_value.info.run_id = "child-run"
    client.get_run.return_value.data.params = {}
    monkeypatch.setattr("mlflow.tracking.MlflowClient", mock.Mock(return_value=client))
    monkeypatch.setenv(hooks._PARENT_RUN, "parent-run")
    monkeypatch.setenv(hooks._EXPERIMENT, "0")
    return client


def _clients_created():
    import mlflow.tracking

    return mlflow.tracking.MlflowClient.call_count


def _after_node_run(node, outputs, catalog=None, inputs=None):
    hooks.UnitTrackingHook().after_node_run(
        node=node,
        catalog=catalog if catalog is not None else DataCatalog(),
        inputs=inputs or {},
        outputs=outputs,
    )


def _namespaced(node, namespace):
    """``node`` as the project's pipelines build it: a pipeline's namespace prefixes its name and
    datasets, not its parameters."""
    params = {i: i for i in node.inputs if i.startswith("params:")}
    (namespaced,) = Pipeline([node], namespace=namespace, parameters=params).nodes
    return namespaced


def _train_node(name, tags):
    node = Node(
        lambda demonstrations, task: (None, None),
        inputs=["demonstrations", "params:task"],
        outputs=["policy", "learning_curve"],
        name=name,
        tags=tags,
    )
    return _namespaced(node, "cartpole.bc.n1.s0")


def test_untagged_node_is_not_logged_even_if_named_train(client):
    node = _train_node("train_bc", ["imitation", "bc"])
    _after_node_run(
        node,
        {"cartpole.bc.n1.s0.policy": _policy(), "cartpole.bc.n1.s0.learning_curve": CURVE},
        inputs={"params:task": {"batch_size": 300}},
    )
    assert _clients_created() == 0 and client.mock_calls == []


def test_tagged_node_is_logged_whatever_its_name(client):
    node = _train_node("fit", [tracking.TRAIN])
    policy = _policy()
    _after_node_run(
        node,
        {"cartpole.bc.n1.s0.policy": policy, "cartpole.bc.n1.s0.learning_curve": CURVE},
        inputs={"cartpole.bc.n1.s0.demonstrations": object(), "params:task": {"batch_size": 300}},
    )
    client.create_run.assert_called_once()
    assert client.create_run.call_args.kwargs["run_name"] == "cartpole.bc.n1.s0"
    assert client.create_run.call_args.kwargs["tags"]["gail_pipeline.stage"] == "imitation"
    params = {p.key: p.value for c in client.log_batch.call_args_list for p in c.kwargs.get("params") or []}
    assert params == {"task.batch_size": "300", "unit.algorithm": "bc", "unit.seed": "0"}
    metrics = [
        (m.key, m.step, m.value)
        for c in client.log_batch.call_args_list
        for m in c.kwargs.get("metrics") or []
    ]
    assert ("curve.return_mean", 600, 20.0) in metrics and ("final_return_mean", 0, 20.0) in metrics
    artifacts = sorted(c.args[1].rsplit("/", 1)[-1] for c in client.log_artifact.call_args_list)
    assert artifacts == ["learning_curve.png", "policy.pt"]
    client.set_terminated.assert_called_once_with("child-run")


@pytest.mark.parametrize(
    ("tag", "run_name", "stage"),
    [
        (tracking.EXPERT_REFERENCE, "cartpole.expert", "expert"),
        (tracking.EVALUATION, "cartpole", "evaluation"),
    ],
)
def test_metrics_node_logs_its_result_to_the_declared_run(client, tag, run_name, stage):
    node = _namespaced(Node(lambda policy: None, "policy", "result", name="anything", tags=[tag]), "cartpole")
    _after_node_run(node, {"cartpole.result": {"return_mean": 5.0, "returns": [5.0], "task": "cartpole"}})
    kwargs = client.create_run.call_args.kwargs
    assert (kwargs["run_name"], kwargs["tags"]["gail_pipeline.stage"]) == (run_name, stage)
    (batch,) = client.log_batch.call_args_list
    assert [(m.key, m.value) for m in batch.kwargs["metrics"]] == [("return_mean", 5.0)]
    client.set_terminated.assert_not_called()


def test_reports_are_the_outputs_whose_dataset_declares_an_artifact(client):
    catalog = DataCatalog(
        datasets={
            "summary": MemoryDataset(metadata={"tracking": {"artifact": "text", "artifact_path": "r/s.md"}}),
            "chart": MemoryDataset(metadata={"tracking": {"artifact": "figure", "artifact_path": "r/c.png"}}),
            "table_markdown": MemoryDataset(),  # the names that used to be sniffed count for nothing
            "plot_png": MemoryDataset(metadata={"kedro-viz": {"layer": "reporting"}}),
        }
    )
    node = Node(
        lambda: None, inputs=None, outputs=["summary", "chart", "table_markdown", "plot_png"], name="x"
    )
    outputs = {"summary": "| a |", "chart": object(), "table_markdown": "| b |", "plot_png": object()}
    _after_node_run(node, outputs, catalog)
    client.log_text.assert_called_once_with("parent-run", "| a |", "r/s.md")
    client.log_figure.assert_called_once_with("parent-run", outputs["chart"], "r/c.png")
    client.create_run.assert_not_called()


def test_nothing_is_logged_outside_a_tracked_kedro_run(client, monkeypatch):
    monkeypatch.delenv(hooks._PARENT_RUN)
    _after_node_run(_train_node("fit", [tracking.TRAIN]), {"cartpole.bc.n1.s0.policy": _policy()})
    assert _clients_created() == 0 and client.mock_calls == []


def test_the_pipelines_declare_their_tracked_nodes():
    from gail_pipeline.grid import units
    from gail_pipeline.pipelines import evaluation, expert, imitation

    task = {**TINY["tasks"]["cartpole"], "env_id": "CartPole-v1"}
    grid = {"tasks": ["cartpole"], "algorithms": ["bc"], "dataset_sizes": [1], "seeds": 1}
    (unit,) = units({"tasks": {"cartpole": task}, "grid": grid})
    pipeline = expert.create_pipeline("cartpole") + imitation.create_pipeline(unit)
    declared = {}
    for node in (pipeline + evaluation.create_pipeline([unit])).nodes:
        unit_tracking = tracking.unit_tracking(node)
        declared[node.name] = unit_tracking and (
            unit_tracking.run_name(node),
            unit_tracking.stage,
            unit_tracking.training,
        )
    assert declared == {
        "cartpole.train_expert": ("cartpole.expert", "expert", True),
        "cartpole.measure_reference_returns": ("cartpole.expert", "expert", False),
        "cartpole.bc.n1.s0.train_bc": ("cartpole.bc.n1.s0", "imitation", True),
        "cartpole.bc.n1.s0.evaluate_policy": ("cartpole.bc.n1.s0", "evaluation", False),
        "build_results_table": None,
    }


@pytest.mark.parametrize(
    ("tags", "namespace", "message"),
    [
        ([tracking.TRAIN, tracking.EVALUATION], "cartpole", "logs to one unit run"),
        ([tracking.TRAIN], None, "no namespace"),
    ],
)
def test_conflicting_or_unplaceable_declarations_are_refused(tags, namespace, message):
    node = Node(lambda: None, inputs=None, outputs="out", name="n", tags=tags)
    if namespace:
        node = _namespaced(node, namespace)
    with pytest.raises(ValueError, match=message):
        tracking.unit_tracking(node)


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ({"artifact": "figure"}, "expected {artifact"),
        ({"artifact": "table", "artifact_path": "r/t.csv"}, "artifact: expected one of figure, text"),
        ({"artifact": "text", "artifact_path": "/abs/t.md"}, "artifact_path: expected a relative"),
    ],
)
def test_malformed_dataset_declarations_are_refused(declared, message):
    with pytest.raises(ValueError, match=message):
        tracking.report_artifact("summary", {"tracking": declared})
    assert tracking.report_artifact("summary", {"kedro-viz": {}}) is None
    assert tracking.report_artifact("summary", None) is None
