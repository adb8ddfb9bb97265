"""What ``UnitTrackingHook`` logs to MLflow is declared — node tags and catalog metadata
(``gail_pipeline.tracking``) — and nothing is inferred from node or dataset names.

A tiny ``kedro run`` (sequential and parallel) logs what the project's runs always logged (each unit
run's stage, parameters, curve, final and evaluation metrics, artifacts; the reports in the kedro
run's run), the demonstrations stage's run, every learner's demonstrations as an MLflow dataset
input (the Parquet version it read), and a kedro run's run named and described by its grid, with
its score chart, in a model-training experiment; unit tests call the hook on hand-made nodes with
a mock MLflow client. ``tests/test_kedro_run.py`` checks the child runs of the whole grid."""

import hashlib
import json
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Node, Pipeline

from gail_pipeline import hooks, tracking
from gail_pipeline.rl.policies import CategoricalPolicy
from tests.conftest import REPORTS, TINY

# Expert, BC (curve stepped by gradient steps) and GAIL (by env steps): one of each kind of run.
PARAMS = {**TINY, "grid": {**TINY["grid"], "algorithms": ["bc", "gail"], "dataset_sizes": [1]}}


def _numeric_columns(curve, step):
    return {c for c in curve.columns if c != step and pd.api.types.is_numeric_dtype(curve[c])}


@pytest.mark.slow  # a whole kedro run: 6 s on 2 idle cores, 25 s on busy ones
@pytest.mark.parametrize("parallel", [False, True], ids=["sequential", "parallel"])
def test_tiny_kedro_run_logs_the_declared_runs_metrics_and_artifacts(project, parallel):
    from kedro.runner import ParallelRunner
    from mlflow.tracking import MlflowClient

    with KedroSession.create(project_path=project, runtime_params=PARAMS) as session:
        # ParallelRunner: the node hooks log from its worker processes
        session.run(runner=ParallelRunner(max_workers=2) if parallel else None)
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
    units = {"cartpole.expert", "cartpole.bc.n1.s0", "cartpole.gail.n1.s0"}
    assert set(children) == units | {"cartpole.demonstrations"}

    # A model-training experiment (MLflow's UI lists its runs); the kedro run's run is named and
    # described by its grid.
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert parent.info.run_name == "quick · cartpole"
    note = parent.data.tags["mlflow.note.content"]
    assert "**Grid `quick`** (config env `base`, pipeline `__default__`): 2 imitation units." in note
    assert "| task | algorithms | dataset sizes | seeds | iterations |" in note
    assert "| cartpole | bc, gail | 1 | 1 | 2 |" in note

    # The reports go to the kedro run's own run, where the catalog's metadata says; beside them the
    # chart of the units' normalised scores.
    assert declared == REPORTS
    assert [a.path for a in client.list_artifacts(parent.info.run_id)] == [
        "normalized_scores.png",
        "reporting",
    ]
    assert {a.path for a in client.list_artifacts(parent.info.run_id, "reporting")} == REPORTS

    _check_demonstrations_run(client, children.pop("cartpole.demonstrations"), catalog)

    task_params = {"tasks.cartpole": params["tasks"]["cartpole"]}
    for name, run in children.items():
        expert = name == "cartpole.expert"
        stage = "expert" if expert else "imitation"  # a unit's run is created by its training
        assert run.info.status == "FINISHED"
        assert run.data.tags["gail_pipeline.stage"] == stage
        assert run.data.tags["gail_pipeline.unit"] == name
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        diagnostics = set() if ".bc." in name else {"diagnostics.png"}  # iterative learners, experts
        assert {a.path for a in client.list_artifacts(run.info.run_id)} == {
            "policy.pt",
            "learning_curve.png",
        } | diagnostics
        if not expert:  # the Parquet version the learner read, as an MLflow dataset input
            (dataset_input,) = run.inputs.dataset_inputs
            _check_dataset_input(dataset_input, "cartpole.demonstrations_n1", catalog, "training")

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
        if not expert:  # the columns the runs table sorts the units by
            assert {"normalized_score", "return_mean"} <= set(run.data.metrics)
        history = sorted(client.get_metric_history(run.info.run_id, f"curve.{y}"), key=lambda m: m.step)
        assert [m.step for m in history] == list(curve[step])
        assert [m.value for m in history] == pytest.approx(list(curve[y]))
    assert (
        len(client.get_metric_history(children["cartpole.gail.n1.s0"].info.run_id, "curve.return_mean")) == 2
    )


def _check_dataset_input(dataset_input, name, catalog, context):
    """``dataset_input`` is the catalog's latest version of ``name`` (the one this run saved and
    read): version and path as tags and in the profile, the file's uri, a digest of its bytes."""
    meta = catalog.load(name).metadata
    version, path = meta["version"], meta["path"]
    dataset = dataset_input.dataset
    tags = {t.key: t.value for t in dataset_input.tags}
    assert dataset.name == name
    assert tags == {
        "mlflow.data.context": context,
        "gail_pipeline.version": version,
        "gail_pipeline.path": path,
    }
    assert json.loads(dataset.source) == {"uri": path} and dataset.source_type == "local"
    sha256 = hashlib.sha256(open(path, "rb").read()).hexdigest()  # noqa: SIM115
    assert dataset.digest == sha256[:16]
    profile = json.loads(dataset.profile)
    assert (profile["version"], profile["path"], profile["sha256"]) == (version, path, sha256)


def _check_demonstrations_run(client, run, catalog):
    """``cartpole.demonstrations``: the expert's rollouts and the datasets drawn from them, what
    they were drawn from (a dataset input) and where each was saved."""
    expert = catalog.load("cartpole.expert_trajectories")
    drawn = {n: catalog.load(f"cartpole.demonstrations_n{n}") for n in (1, 2)}
    assert run.info.status == "FINISHED"
    assert run.data.tags["gail_pipeline.stage"] == "demonstrations"
    expected = {
        "trajectories": len(expert.trajectories),
        "steps": sum(len(t) for t in expert.trajectories),
        "expert_return_mean": expert.metadata["return_mean"],
        "expert_return_std": expert.metadata["return_std"],
    }
    for n, demonstrations in drawn.items():
        expected[f"n{n}.trajectories"] = n
        expected[f"n{n}.steps"] = sum(len(t) for t in demonstrations.trajectories)
    assert run.data.metrics == pytest.approx(expected)
    params = run.data.params
    assert params["dataset_sizes"] == "[1, 2]" and params["stochastic_expert"] == "True"
    assert params["expert.version"] == catalog.load("cartpole.expert_policy").metadata["version"]
    for short, loaded in [("expert_trajectories", expert)] + [
        (f"demonstrations_n{n}", d) for n, d in drawn.items()
    ]:
        assert params[f"{short}.version"] == loaded.metadata["version"]
        assert params[f"{short}.path"] == loaded.metadata["path"]
    (dataset_input,) = run.inputs.dataset_inputs
    _check_dataset_input(dataset_input, "cartpole.expert_trajectories", catalog, "source")


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
    # (an env-step curve: an iterative learner's, so its diagnostics figure too)
    assert artifacts == ["diagnostics.png", "learning_curve.png", "policy.pt"]
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
    from gail_pipeline.pipelines import demonstrations, evaluation, expert, imitation

    task = {**TINY["tasks"]["cartpole"], "env_id": "CartPole-v1"}
    grid = {"tasks": ["cartpole"], "algorithms": ["bc"], "dataset_sizes": [1], "seeds": 1}
    (unit,) = units({"tasks": {"cartpole": task}, "grid": grid})
    pipeline = expert.create_pipeline("cartpole") + demonstrations.create_pipeline("cartpole", [1])
    pipeline += imitation.create_pipeline(unit)
    declared = {}  # the tracked nodes; the results tables and the rest log nothing of their own
    for node in (pipeline + evaluation.create_pipeline([unit])).nodes:
        if unit_tracking := tracking.unit_tracking(node):
            declared[node.name] = (unit_tracking.run_name(node), unit_tracking.stage, unit_tracking.logs)
    assert declared == {
        "cartpole.train_expert": ("cartpole.expert", "expert", "training"),
        "cartpole.measure_reference_returns": ("cartpole.expert", "expert", "metrics"),
        "cartpole.sample_expert_trajectories": (
            "cartpole.demonstrations",
            "demonstrations",
            "demonstrations",
        ),
        "cartpole.subsample_datasets": ("cartpole.demonstrations", "demonstrations", "demonstrations"),
        "cartpole.bc.n1.s0.train_bc": ("cartpole.bc.n1.s0", "imitation", "training"),
        "cartpole.bc.n1.s0.evaluate_policy": ("cartpole.bc.n1.s0", "evaluation", "metrics"),
    }


def _demonstrations(metadata, sizes=(3, 4)):
    from gail_pipeline.trajectories import Demonstrations, Trajectory

    trajectories = [
        Trajectory(
            observations=np.zeros((n, 4), np.float32),
            actions=np.zeros(n, np.int64),
            rewards=np.ones(n),
            terminated=True,
            truncated=False,
            steps=np.arange(n),
        )
        for n in sizes
    ]
    return Demonstrations(trajectories, "CartPole-v1", dict(metadata))


def test_demonstrations_node_logs_its_sets_and_its_source_dataset(client):
    """The subsampling node: sizes from its outputs' metadata; its input trajectory set, as the
    catalog's dataset loaded it (version, path), becomes a dataset input of the task's run."""
    node = Node(
        lambda trajectories, task: None,
        inputs=["expert_trajectories", "params:task"],
        outputs={"n2": "demonstrations_n2"},
        name="draw",
        tags=[tracking.DEMONSTRATIONS],
    )
    node = _namespaced(node, "cartpole")
    source = _demonstrations({"version": "2024-01-01T00.00.00.000Z", "path": "memory-only/expert.parquet"})
    with mock.patch.object(tracking, "_file_digest", return_value="ab" * 32) as digest:
        _after_node_run(
            node,
            {
                "cartpole.demonstrations_n2": _demonstrations(
                    {"num_trajectories": 2, "subsample_interval": 20}
                )
            },
            inputs={"cartpole.expert_trajectories": source, "params:task": {"batch_size": 300}},
        )
    digest.assert_called_once_with("memory-only/expert.parquet")
    kwargs = client.create_run.call_args.kwargs
    assert (kwargs["run_name"], kwargs["tags"]["gail_pipeline.stage"]) == (
        "cartpole.demonstrations",
        "demonstrations",
    )
    (dataset_input,) = client.log_inputs.call_args.kwargs["datasets"]
    assert dataset_input.dataset.name == "cartpole.expert_trajectories"
    assert dataset_input.dataset.digest == "ab" * 8
    assert {t.key: t.value for t in dataset_input.tags} == {
        "mlflow.data.context": "source",
        "gail_pipeline.version": "2024-01-01T00.00.00.000Z",
        "gail_pipeline.path": "memory-only/expert.parquet",
    }
    params = {p.key: p.value for c in client.log_batch.call_args_list for p in c.kwargs.get("params") or []}
    assert params == {"task.batch_size": "300", "subsample_interval": "20", "dataset_sizes": "[2]"}
    metrics = {m.key: m.value for c in client.log_batch.call_args_list for m in c.kwargs.get("metrics") or []}
    assert metrics == {"n2.trajectories": 2.0, "n2.steps": 7.0}
    client.set_terminated.assert_called_once_with("child-run")


def test_a_set_never_saved_to_a_file_is_digested_by_its_arrays():
    first = tracking.dataset_input("d", _demonstrations({}), "training")
    assert json.loads(first.dataset.source) == {"uri": "memory:d"}
    assert first.dataset.digest == tracking.dataset_input("d", _demonstrations({}), "training").dataset.digest
    assert (
        first.dataset.digest
        != tracking.dataset_input("d", _demonstrations({}, (3, 5)), "training").dataset.digest
    )


@pytest.mark.parametrize(
    ("tags", "set_to"), [({}, "custom_model_development"), ({"mlflow.experimentKind": "x"}, None)]
)
def test_experiment_kind_is_set_only_where_missing(tags, set_to):
    client = mock.MagicMock()
    client.get_experiment.return_value.tags = tags
    tracking.ensure_experiment_kind(client, "7")
    if set_to:
        client.set_experiment_tag.assert_called_once_with("7", "mlflow.experimentKind", set_to)
    else:
        client.set_experiment_tag.assert_not_called()


def test_parent_run_is_named_and_described_by_the_grid():
    task = {**TINY["tasks"]["cartpole"], "env_id": "CartPole-v1"}
    params = {
        "tasks": {"cartpole": task, "pendulum": {**task, "env_id": "Pendulum-v1"}},
        "grid": {
            "tasks": ["cartpole", "pendulum"],
            "algorithms": ["bc", "gail"],
            "seeds": 2,
            "iterations": 3,
        },
    }
    assert tracking.parent_run_name("quick", params) == "quick · cartpole, pendulum"
    assert (
        tracking.parent_run_name("quick", params, "demonstrations")
        == "quick · cartpole, pendulum (demonstrations)"
    )
    note = tracking.grid_description("quick", "local", params, None)
    assert note.startswith(
        "**Grid `quick`** (config env `local`, pipeline `__default__`): 16 imitation units."
    )
    assert (
        "| cartpole | bc, gail | 1, 2 | 2 | 3 |" in note and "| pendulum | bc, gail | 1, 2 | 2 | 3 |" in note
    )


def test_score_chart_is_logged_from_the_child_runs_and_skipped_without_scores():
    client = mock.MagicMock()
    run = mock.MagicMock()
    run.data.tags = {"gail_pipeline.unit": "cartpole.gail.n1.s0"}
    run.data.metrics = {"normalized_score": 0.5}
    expert_run = mock.MagicMock()
    expert_run.data.metrics = {"expert_return_mean": 50.0}
    client.search_runs.return_value = [run, expert_run]
    assert tracking.log_score_chart(client, "1", "parent-run")
    (figure, path) = client.log_figure.call_args.args[1:]
    assert path == "normalized_scores.png"
    assert [t.get_text() for t in figure.axes[0].get_yticklabels()] == ["cartpole.gail.n1.s0"]
    client.search_runs.return_value = [expert_run]
    client.log_figure.reset_mock()
    assert not tracking.log_score_chart(client, "1", "parent-run")
    client.log_figure.assert_not_called()


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
        ({"artifact": "model", "artifact_path": "r/t.pt"}, "artifact: expected one of figure, text, table"),
        ({"artifact": "text", "artifact_path": "/abs/t.md"}, "artifact_path: expected a relative"),
    ],
)
def test_malformed_dataset_declarations_are_refused(declared, message):
    with pytest.raises(ValueError, match=message):
        tracking.report_artifact("summary", {"tracking": declared})
    assert tracking.report_artifact("summary", {"kedro-viz": {}}) is None
    assert tracking.report_artifact("summary", None) is None


def test_a_dataset_registered_by_a_parallel_unit_in_the_same_instant_is_logged_on_a_retry():
    """Two workers logging one dataset at once: MLflow's look-up-then-insert fails the second on
    the store's unique key; the retry links it. Any other error is raised at once."""
    from mlflow.exceptions import MlflowException

    race = MlflowException("(sqlite3.IntegrityError) UNIQUE constraint failed: datasets.experiment_id")
    client = mock.Mock()
    client.log_inputs.side_effect = [race, None]
    tracking.log_dataset_inputs(client, "run", ["dataset"])
    assert client.log_inputs.call_count == 2
    client = mock.Mock()
    client.log_inputs.side_effect = MlflowException("no such run")
    with pytest.raises(MlflowException, match="no such run"):
        tracking.log_dataset_inputs(client, "run", ["dataset"])
    assert client.log_inputs.call_count == 1
    client = mock.Mock()
    client.log_inputs.side_effect = [race, race, race]
    with pytest.raises(MlflowException, match="UNIQUE"):
        tracking.log_dataset_inputs(client, "run", ["dataset"])
