"""End-to-end ``kedro run`` of the whole project (expert → demonstrations → imitation →
evaluation) on a tiny config, through a real KedroSession: the settings, the grid hook, the
catalog's dataset factories, versioning, and ParallelRunner."""

import pandas as pd
import pytest
import torch
from kedro.framework.session import KedroSession

from gail_pipeline.rl.policies import load_policy
from gail_pipeline.trajectories import read_trajectories
from tests.conftest import PROJECT, REPORTS, TINY


def _run(project, params, runner=None, pipelines=None):
    with KedroSession.create(project_path=project, runtime_params=params) as session:
        session.run(runner=runner, pipeline_names=pipelines)


def _latest_results(project):
    versions = sorted((project / "data/08_reporting/quick/results_table.csv").iterdir())
    return pd.read_csv(versions[-1] / "results_table.csv")


@pytest.mark.slow
def test_kedro_run_expert_and_demonstrations(project):
    _run(project, TINY)
    data = project / "data"
    policies = sorted((data / "06_models/cartpole/expert_policy.pt").iterdir())
    assert len(policies) == 1
    for size in (1, 2):
        versions = list((data / f"05_model_input/cartpole/demonstrations_n{size}.parquet").iterdir())
        assert len(versions) == 1
        demos = read_trajectories(versions[0] / f"demonstrations_n{size}.parquet", "CartPole-v1", 4)
        assert len(demos.trajectories) == size
        assert demos.metadata["expert_version"] == policies[0].name
    assert (data / "08_reporting/cartpole/reference_returns.json").is_dir()
    results = _latest_results(project)
    assert len(results) == 8  # 4 algorithms × 2 dataset sizes × 1 seed
    assert set(results["algorithm"]) == {"bc", "fem", "gtal", "gail"}
    assert results["normalized_score"].notna().all()
    assert (data / "06_models/quick/cartpole/gail/n2/s0/policy.pt").is_dir()
    assert (data / "08_reporting/quick/cartpole/gtal/n1/s0/learning_curve.csv").is_dir()
    comparison = max((data / "08_reporting/quick/paper_comparison.md").iterdir())
    assert "| cartpole | 2 | GAIL | 1 |" in (comparison / "paper_comparison.md").read_text()
    for figure in ("figure_one.png", "figure_one.html", "learning_curves.png", "learning_curves.html"):
        assert len(list((data / "08_reporting/quick" / figure).iterdir())) == 1

    # A second run adds new versions and leaves the first ones as they were.
    first = policies[0] / "expert_policy.pt"
    before = first.read_bytes()
    _run(project, TINY)
    assert len(list((data / "06_models/cartpole/expert_policy.pt").iterdir())) == 2
    assert first.read_bytes() == before


def test_shipped_expert_stands_in_before_the_expert_stage_runs(project):
    # A new user runs demonstrations → imitation → evaluation at once, on the shipped expert.
    params = {**TINY, "grid": {**TINY["grid"], "algorithms": ["bc"], "dataset_sizes": [1]}}
    _run(project, params, pipelines=["demonstrations", "imitation", "evaluation"])
    data = project / "data"
    assert not (data / "06_models/cartpole/expert_policy.pt").exists()
    (version,) = (data / "05_model_input/cartpole/demonstrations_n1.parquet").iterdir()
    demos = read_trajectories(version / "demonstrations_n1.parquet", "CartPole-v1", 4)
    assert demos.metadata["expert_version"] == "shipped"
    (evaluation,) = (data / "07_model_output/quick/cartpole/bc/n1/s0/evaluation.json").iterdir()
    import json

    result = json.loads((evaluation / "evaluation.json").read_text())
    shipped = json.loads((project / "data/01_raw/experts/cartpole.json").read_text())
    assert result["expert_return_mean"] == shipped["expert_return_mean"]


@pytest.mark.slow
def test_parallel_runner_gives_the_sequential_results(project):
    from kedro.runner import ParallelRunner

    _run(project, TINY)
    sequential = _latest_results(project)
    _run(project, TINY, runner=ParallelRunner(max_workers=2))
    parallel = _latest_results(project)
    assert len(list((project / "data/08_reporting/quick/results_table.csv").iterdir())) == 2
    pd.testing.assert_frame_equal(sequential, parallel)
    # The policies themselves, not only 5-episode returns: every weight of every learned policy
    # (and of the expert) is the same tensor in both runs.
    models = project / "data/06_models"
    policies = sorted(models.glob("quick/cartpole/*/n*/s0/policy.pt")) + [
        models / "cartpole/expert_policy.pt"
    ]
    assert len(policies) == 9
    for policy in policies:
        versions = sorted(policy.iterdir())
        assert len(versions) == 2  # each run's own file
        first, second = (load_policy(v / policy.name) for v in versions)
        assert first.state_dict().keys() == second.state_dict().keys()
        for name, value in first.state_dict().items():
            assert torch.equal(value, second.state_dict()[name]), f"{policy.relative_to(models)}: {name}"


def _runs(project):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("gail_pipeline")
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return client, parents, children


EXPECTED_UNITS = {"cartpole.expert", "cartpole.demonstrations"} | {
    f"cartpole.{algo}.n{n}.s0" for algo in ("bc", "fem", "gtal", "gail") for n in (1, 2)
}


def _check_children(client, parent, children):
    mine = [r for r in children if r.data.tags["mlflow.parentRunId"] == parent.info.run_id]
    assert sorted(r.info.run_name for r in mine) == sorted(EXPECTED_UNITS)
    for run in [parent, *mine]:  # what produced each run: code and package versions
        assert run.data.tags["gail_pipeline.package.torch"] == torch.__version__
        assert run.data.tags["gail_pipeline.git_commit"]
    for run in mine:
        metrics = run.data.metrics
        if run.info.run_name == "cartpole.expert":
            assert {"expert_return_mean", "random_return_mean"} <= set(metrics)
            continue
        if run.info.run_name == "cartpole.demonstrations":
            assert {"trajectories", "steps", "expert_return_mean"} <= set(metrics)
            continue
        assert {"return_mean", "normalized_score"} <= set(metrics)
        assert run.data.params["unit.algorithm"] == run.info.run_name.split(".")[1]
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        iterative = ".bc." not in run.info.run_name
        assert artifacts == {"policy.pt", "learning_curve.png"} | (
            {"diagnostics.png"} if iterative else set()
        )
        if ".bc." not in run.info.run_name:
            history = client.get_metric_history(run.info.run_id, "curve.return_mean")
            assert len(history) == 2  # two iterations, stepped by env steps
            assert history[0].step > 0 and history[1].step > history[0].step


@pytest.mark.slow
def test_mlflow_child_run_per_unit_sequential_and_parallel(project):
    from kedro.runner import ParallelRunner

    _run(project, TINY)
    _run(project, TINY, runner=ParallelRunner(max_workers=2))
    client, parents, children = _runs(project)
    assert len(parents) == 2
    assert len(children) == 2 * len(EXPECTED_UNITS)  # none stray, none missing
    for parent in parents:
        _check_children(client, parent, children)
        reports = {a.path for a in client.list_artifacts(parent.info.run_id, "reporting")}
        assert reports == REPORTS


@pytest.mark.slow
def test_results_notebook_runs_top_to_bottom(project):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    _run(project, TINY)
    (project / "notebooks").mkdir()
    notebook = nbformat.read(PROJECT / "notebooks" / "results.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(project / "notebooks")}},
    )
    client.execute()  # raises CellExecutionError naming the failing cell
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    text = "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "normalized_score" in text and "paper_normalized_score" in text
    assert any("image/png" in o.get("data", {}) for o in outputs)


def test_paper_env_session_resolves_the_paper_label(project):
    """The grid label comes from conf/<env>/globals.yml through a KedroSession too (an extra
    config loader created while building the pipelines once replaced the session's globals)."""
    with KedroSession.create(project_path=project, env="paper") as session:
        context = session.load_context()
        assert (
            context.catalog.get("results_table")
            ._filepath.as_posix()
            .endswith("data/08_reporting/paper/results_table.csv")
        )
        assert "hopper.gail.n25.s0.train_gail" in {
            n.name
            for n in __import__("kedro.framework.project", fromlist=["pipelines"])
            .pipelines["imitation"]
            .nodes
        }


@pytest.mark.slow
def test_gail_configs_run_side_by_side_in_one_grid(project, caplog, capsys):
    """grid.gail_configs through a real session: GAIL's recipe, paper settings (at the task's
    paper batch), frozen-discriminator control and a config named in gail_config_settings train,
    evaluate and report as units of one grid."""
    tiny = {**TINY["tasks"]["cartpole"], "paper_batch_size": 600}
    grid = {**TINY["grid"], "algorithms": ["gail"], "dataset_sizes": [1]}
    params = {
        **TINY,
        "tasks": {"cartpole": tiny},
        "grid": {**grid, "gail_configs": ["recipe", "paper", "frozen_d", "entropy_1e3"]},
        "gail_config_settings": {"entropy_1e3": {"gail": {"causal_entropy": 0.001}}},
    }
    _run(project, params)
    results = _latest_results(project)
    assert list(results["config"]) == ["recipe", "paper", "frozen_d", "entropy_1e3"]
    assert list(results["causal_entropy"]) == [0.0, 0.0, 0.0, 0.001]  # each unit's λ, recorded
    # 2 iterations of 300 env steps, or 1 of 600: each config the same budget, whole episodes
    assert (results["env_steps"] >= 600).all() and (results["env_steps"] < 1000).all()
    data = project / "data"
    for label in ("gail", "gail_paper", "gail_frozen_d", "gail_entropy_1e3"):
        (version,) = (data / f"08_reporting/quick/cartpole/{label}/n1/s0/learning_curve.csv").iterdir()
        curve = pd.read_csv(version / "learning_curve.csv")
        assert len(curve) == (1 if label == "gail_paper" else 2)
    comparison = max((data / "08_reporting/quick/paper_comparison.md").iterdir())
    text = (comparison / "paper_comparison.md").read_text()
    assert (
        "| cartpole | 1 | GAIL, paper settings | 1 |" in text
        and "| cartpole | 1 | GAIL, frozen D | 1 |" in text
    )
    aggregates = max((data / "08_reporting/quick/aggregate_scores.csv").iterdir())
    comparisons = pd.read_csv(aggregates / "aggregate_scores.csv")["comparison"]
    assert list(dict.fromkeys(comparisons)) == [
        "algorithms",
        "recipe_vs_paper",
        "recipe_vs_frozen_d",
        "recipe_vs_entropy_1e3",
    ]

    # the run's summary names each unit by its config
    assert "Could not summarise" not in caplog.text
    assert "cartpole.gail_frozen_d.n1.s0" in capsys.readouterr().out

    # MLflow records the settings each unit trained with, not the run's recipe alone
    _, _, children = _runs(project)
    params = {r.info.run_name: r.data.params for r in children if ".gail" in r.info.run_name}
    assert params["cartpole.gail.n1.s0"]["imitation.gail.learning_rate"] == "0.001"
    assert params["cartpole.gail_frozen_d.n1.s0"]["imitation.gail.learning_rate"] == "0.0"
    assert params["cartpole.gail_paper.n1.s0"]["imitation.gail.reward"] == "task"
    assert params["cartpole.gail_paper.n1.s0"]["unit.config"] == "paper"
    assert params["cartpole.gail_entropy_1e3.n1.s0"]["imitation.gail.causal_entropy"] == "0.001"
    assert params["cartpole.gail.n1.s0"]["imitation.gail.causal_entropy"] == "0.0"

    # docs/results/<grid label>/ from the catalog's latest reports, by the publish pipeline alone
    _run(project, params, pipelines=["publish"])
    table = pd.read_csv(project / "docs/results/quick.csv")
    assert list(table.columns) == [
        "task",
        "n_trajectories",
        "algorithm",
        "config",
        "seeds",
        "env_steps",
        "score_mean",
        "score_std",
        "ci_low",
        "ci_high",
        "paper_score",
    ]
    assert list(table["config"]) == ["recipe", "paper", "frozen_d", "entropy_1e3"]
    pd.testing.assert_series_equal(table["env_steps"], results["env_steps"].astype(float), check_names=False)
    published = project / "docs/results/quick"
    expected = {
        "results_table.csv",
        "table.md",
        "paper_comparison.md",
        "aggregate_scores.md",
        "gail_config_tests.csv",
    }
    expected |= {"figure_one.png", "performance_profiles.png", "learning_curves.png"}
    assert {p.name for p in published.iterdir()} == expected
    assert "| cartpole | 1 | " in (published / "table.md").read_text()
