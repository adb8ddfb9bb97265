"""Kedro-Viz: ``kedro viz build`` produces a static site that loads in a real headless browser."""

import functools
import http.server
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

PROJECT = Path(__file__).parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _serve(directory: Path) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def viz_build(tmp_path_factory):
    """``kedro viz build`` of a copy of the project's configuration."""
    tmp_path = tmp_path_factory.mktemp("viz")
    for item in ("conf", "pyproject.toml", "data/01_raw/paper"):
        (tmp_path / item).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if (PROJECT / item).is_dir() else shutil.copy)(PROJECT / item, tmp_path / item)
    (tmp_path / "src").mkdir()
    env = {"KEDRO_DISABLE_TELEMETRY": "true", "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}
    kedro = str(Path(sys.executable).parent / "kedro")
    result = subprocess.run(
        [kedro, "viz", "build"],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "build" / "index.html").exists()
    return tmp_path / "build"


def test_viz_build_shows_the_layers_in_data_flow_order(viz_build):
    import json

    graph = json.loads((viz_build / "api" / "main").read_text())
    # An empty list would mean the layers form a cycle, and Kedro-Viz drops them all.
    assert graph["layers"] == [
        "expert",
        "raw",
        "primary",
        "model_input",
        "models",
        "model_output",
        "reporting",
    ]
    modular = graph["modular_pipelines"]
    assert "cartpole" in modular  # the task's namespace is one collapsible group


def test_each_tasks_lineage_collapses_into_its_group(viz_build):
    """The units' evaluations and learning curves are inside the task's group: only the task's
    tables (names outside its namespace) leave it for the tables and figures over all tasks."""
    import json

    graph = json.loads((viz_build / "api" / "main").read_text())
    names = {node["id"]: node["name"] for node in graph["nodes"]}
    cartpole = graph["modular_pipelines"]["cartpole"]
    inside = {names.get(child["id"], child["id"]) for child in cartpole["children"]}
    for unit in ("cartpole.bc.n1.s0", "cartpole.gail.n10.s0"):
        assert {f"{unit}.evaluation", f"{unit}.learning_curve"} <= inside
    leaving = {names[output] for output in cartpole["outputs"]}
    assert {"cartpole_results_table", "cartpole_learning_curves"} <= leaving
    assert not any(name.endswith((".evaluation", ".learning_curve", ".policy")) for name in leaving)
    top = {
        names.get(child["id"], child["id"]) for child in graph["modular_pipelines"]["__root__"]["children"]
    }
    assert "build_results_table" in top and "cartpole.bc.n1.s0.evaluation" not in top


def test_no_dotted_dataset_name_crosses_a_namespace():
    """Kedro's rule (it warns otherwise): a dataset named with dots is read and written only by
    nodes of the namespace its name begins with; two tasks, every stage."""
    from gail_pipeline.config_loader import parameters_from_conf
    from gail_pipeline.grid import selected_tasks, units
    from gail_pipeline.pipelines import demonstrations, evaluation, expert, imitation, reporting

    params = parameters_from_conf(env="base", conf_source=PROJECT / "conf")
    params["grid"] = {**params["grid"], "tasks": ["cartpole", "acrobot"]}
    grid_units = units(params)
    pipeline = evaluation.create_pipeline(grid_units) + reporting.create_pipeline(grid_units)
    for task in selected_tasks(params):
        pipeline += expert.create_pipeline(task.name)
        pipeline += demonstrations.create_pipeline(task.name, task.dataset_sizes)
    for unit in grid_units:
        pipeline += imitation.create_pipeline(unit)
    assert {node.namespace for node in pipeline.nodes if node.name.endswith("build_task_results_table")} == {
        "cartpole",
        "acrobot",
    }
    for node in pipeline.nodes:
        for name in {*node.inputs, *node.outputs}:
            if "." in name and not name.startswith("params:"):
                assert node.namespace and name.split(".")[0] == node.namespace.split(".")[0], (
                    node.name,
                    name,
                )


@pytest.mark.slow
def test_viz_build_loads_in_headless_chromium(viz_build, tmp_path):
    if CHROMIUM is None:
        pytest.skip(
            "chromium is not installed (Debian: apt-get install chromium); the Kedro-Viz page check needs it"
        )
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    server = _serve(viz_build)
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-quic",
                ],
            )
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(f"http://127.0.0.1:{server.server_port}/")
            # The flowchart renders the project's nodes; the task namespace is one collapsible group.
            page.wait_for_selector("text=build_results_table", timeout=60_000)
            page.wait_for_selector(".pipeline-node", timeout=60_000)
            assert page.locator(".pipeline-node").count() > 10
            assert page.locator("text=cartpole").first.is_visible()
            page.screenshot(path=str(tmp_path / "viz.png"))
            browser.close()
    finally:
        server.shutdown()
    assert (tmp_path / "viz.png").stat().st_size > 10_000
