"""The end of a ``kedro run``: the run summary (printed once, by the process that started the run,
whatever the runner) and a quiet log (third-party deprecation warnings filtered, one line per node)."""

import logging
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml
from kedro.framework.session import KedroSession

from gail_pipeline.logs import IGNORED_WARNINGS, NodeLineFilter, WarningFilter, filter_warnings
from tests.conftest import TINY

# Two units, to keep the runs short: BC and GAIL on one trajectory.
PARAMS = {**TINY, "grid": {**TINY["grid"], "algorithms": ["bc", "gail"], "dataset_sizes": [1]}}
UNITS = ["cartpole.bc.n1.s0", "cartpole.gail.n1.s0"]


def _run(project, params, runner=None, pipelines=None):
    with KedroSession.create(project_path=project, runtime_params=params) as session:
        session.run(runner=runner, pipeline_names=pipelines)


def _latest(project, name):
    versions = sorted((project / "data/08_reporting/quick" / name).iterdir())
    return versions[-1] / name


def _table_rows(output):
    """The summary's table: {unit: (return, normalised score, paper)}."""
    rows = {}
    for line in output.splitlines():
        if line.startswith("cartpole."):
            unit, *cells = line.split()
            rows[unit] = tuple(cells)
    return rows


def _check_summary(project, output):
    assert output.count("Run summary:") == 1
    results = pd.read_csv(_latest(project, "results_table.csv"))
    rows = _table_rows(output)
    assert list(rows) == UNITS
    for unit, row in zip(UNITS, results.itertuples()):
        assert unit == f"{row.task}.{row.algorithm}.n{row.n_trajectories}.s{row.seed}"
        assert rows[unit][:2] == (f"{row.return_mean:.2f}", f"{row.normalized_score:.3f}")
    # The paper at one trajectory, normalised by its own expert (200) and random (18.64) returns.
    assert rows["cartpole.bc.n1.s0"][2] == f"{(72.02 - 18.64) / (200 - 18.64):.3f}"
    assert rows["cartpole.gail.n1.s0"][2] == "1.000"
    version = _latest(project, "results_table.csv").parent.name
    assert f"Reports: data/08_reporting/quick/<name>/{version}/<name>" in output
    reports = ("results_table.csv", "paper_comparison.md", "appendix_b.md", "aggregate_scores.md")
    for report in (*reports, "figure_one.png", "performance_profiles.png", "learning_curves.png"):
        assert report in output
    for command in ("make mlflow-ui", ".venv/bin/kedro viz run", "notebooks/results.ipynb"):
        assert command in output


def test_a_kedro_run_ends_with_its_summary(project, capsys):
    _run(project, PARAMS)
    _check_summary(project, capsys.readouterr().out)


def test_a_run_without_evaluation_says_what_ran(project, capsys):
    _run(project, PARAMS, pipelines=["expert"])
    output = capsys.readouterr().out
    assert output.count("Run summary:") == 1
    assert "Run summary: 2 nodes: expert 2 for cartpole" in output
    assert "No evaluation in this run" in output and "make mlflow-ui" in output
    assert "Reports:" not in output


@pytest.mark.slow
def test_kedro_run_under_parallel_runner_prints_one_summary_and_no_warnings(project):
    """``kedro run`` as a user types it, its workers' output included: the summary comes once, and
    no third-party deprecation warning nor Kedro's warning about dotted dataset names is left."""
    (project / "conf/local/parameters_tiny.yml").write_text(yaml.safe_dump(PARAMS))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "kedro"), "run", "--runner", "ParallelRunner"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    _check_summary(project, output)
    for text in ("register_new_resolver", "Add type hints", "class-based `config`", "contain '.'"):
        assert text not in output
    # Kedro-Viz's notice that it records no workflow under ParallelRunner is the one warning.
    assert output.count("WARNING") == output.count("Workflow tracking is disabled") == 1
    # One line per node: "Completed n out of N tasks: <node>"; no dataset nor "Running node" lines.
    assert "Completed 1 out of 17 tasks: cartpole.train_expert" in output
    assert len(re.findall(r"Completed \d+ out of 17 tasks: ", output)) == 17
    for text in ("Completed node:", "Running node", "Loading data from", "Saving data to"):
        assert text not in output


# A text of each ignored warning, by the module that raises it.
WARNING_TEXTS = {
    "kedro.config.omegaconf_config": "register_new_resolver() is deprecated and will be removed",
    "kedro_mlflow.framework.hooks.mlflow_hook": "register_new_resolver() is deprecated and will be removed",
    "mlflow.pyfunc.utils.data_validation": "\x1b[33mAdd type hints to the `predict` method to enable",
    "kedro_mlflow.config.kedro_mlflow_config": "Support for class-based `config` is deprecated, use …",
}


@pytest.mark.parametrize(("message", "category", "module"), IGNORED_WARNINGS)
def test_the_ignored_warnings_are_filtered_by_message_and_module(message, category, module):
    text, path = WARNING_TEXTS[module], f"/v/{module.replace('.', '/')}.py"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        filter_warnings()
        warnings.warn_explicit(text, category, path, 1, module=module)
        warnings.warn_explicit(text, category, "/src/mine.py", 1, module="mine")  # raised elsewhere
        warnings.warn_explicit("another text", category, path, 2, module=module)
    assert [(str(w.message), w.filename) for w in caught] == [(text, "/src/mine.py"), ("another text", path)]


def test_the_warning_log_filter_drops_only_the_ignored_warnings():
    log_filter = WarningFilter()

    def record(text):
        return logging.LogRecord("py.warnings", logging.WARNING, "", 0, "%s", (text,), None)

    hint = (
        "/v/site-packages/mlflow/pyfunc/utils/data_validation.py:187: UserWarning: "
        "\x1b[33mAdd type hints to the `predict` method to enable data validation"
    )
    assert not log_filter.filter(record(hint))
    assert log_filter.filter(
        record("/src/my_module.py:3: UserWarning: Add type hints to the `predict` method")
    )
    assert log_filter.filter(record("/v/kedro/config/omegaconf_config.py:701: UserWarning: something else"))


def test_the_runners_two_lines_per_node_become_one():
    node_lines = NodeLineFilter()

    def record(msg, *args):
        return logging.LogRecord("kedro.runner.sequential_runner", logging.INFO, "", 0, msg, args, None)

    assert not node_lines.filter(record("Completed node: %s", "cartpole.train_expert"))
    done = record("Completed %d out of %d tasks", 1, 24)
    assert node_lines.filter(done)
    assert done.getMessage() == "Completed 1 out of 24 tasks: cartpole.train_expert"
    other = record("Pipeline execution completed successfully in %.1f sec.", 1.0)
    assert node_lines.filter(other) and other.getMessage().startswith("Pipeline execution")
