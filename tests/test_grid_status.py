"""A grid's progress from the catalog (gail_pipeline.grid_status): what is evaluated, trained,
missing, and the cells so far beside the paper's."""

from __future__ import annotations

import yaml
from kedro.framework.session import KedroSession

from gail_pipeline import grid_status
from gail_pipeline.grid import units
from tests.conftest import TINY


def _grid():
    """CartPole, BC and GAIL × sizes 1 and 4 × seeds 0 and 1."""
    params = {
        "tasks": {"cartpole": {"env_id": "CartPole-v1", "dataset_sizes": [1, 4], "seeds": 2}},
        "grid": {"tasks": ["cartpole"], "algorithms": ["bc", "gail"]},
    }
    return units(params)


def test_each_unit_is_evaluated_trained_or_not_trained_and_the_missing_ones_are_listed_by_cell():
    grid = _grid()
    saved = {"cartpole.bc.n1.s0.evaluation", "cartpole.bc.n1.s0.policy", "cartpole.gail.n4.s1.policy"}
    saved.add("cartpole.gail.n1.s1.evaluation")  # its policy gone: it will be trained again
    states = grid_status.unit_states(grid, saved.__contains__)
    by_name = {unit.namespace: state for unit, state in states}
    assert by_name["cartpole.bc.n1.s0"] == grid_status.EVALUATED
    assert by_name["cartpole.gail.n4.s1"] == grid_status.TRAINED
    assert by_name["cartpole.gail.n1.s0"] == by_name["cartpole.gail.n1.s1"] == grid_status.NOT_TRAINED
    table = grid_status.progress_table(states, {"cartpole.gail.n4.s1": 5400.0}).set_index("unit")
    assert table.loc["gail", grid_status.TRAINING_HOURS] == 1.5
    assert table.loc["bc", ["wanted", grid_status.EVALUATED, grid_status.NOT_TRAINED]].tolist() == [4, 1, 3]
    assert table.loc["gail", [grid_status.TRAINED, grid_status.NOT_TRAINED]].tolist() == [1, 3]
    report = grid_status.status_markdown(states, None, ["# header"])
    assert (
        "1 of 8 units evaluated, 1 trained and awaiting their evaluation, 6 not trained (or in training)."
        in report
    )
    assert "- cartpole bc n1: not trained (or in training) seeds 1" in report
    assert (
        "- cartpole gail n4: not trained (or in training) seeds 0; trained, not evaluated seeds 1" in report
    )
    assert "No unit evaluated yet." in report  # no comparison given
    done = [(unit, grid_status.EVALUATED) for unit, _ in states]
    assert "Nothing: the grid is complete" in grid_status.status_markdown(done, "| table |")
    assert "its parameters select none" in grid_status.status_markdown([], None)


def test_the_progress_of_a_half_run_grid_reads_its_evaluations_from_the_catalog(project):
    """A tiny CartPole grid (BC, 2 sizes, 1 seed) with one unit trained and evaluated, one
    trained only: the report counts them and compares the evaluated cell with the paper's."""
    (project / "conf/local/parameters_test.yml").write_text(
        yaml.safe_dump({**TINY, "grid": {**TINY["grid"], "algorithms": ["bc"], "seeds": 1}})
    )
    with KedroSession.create(project_path=project) as session:
        session.run(pipeline_names=["demonstrations"])
    with KedroSession.create(project_path=project) as session:
        session.run(pipeline_names=["imitation", "evaluation"], namespaces=["cartpole.bc.n1"])
    with KedroSession.create(project_path=project) as session:
        session.run(pipeline_names=["imitation"], namespaces=["cartpole.bc.n2"])
    output = project / "progress.md"
    grid_status.main(["--output", str(output)])
    report = output.read_text()
    assert "1 of 2 units evaluated, 1 trained and awaiting their evaluation, 0 not trained" in report
    assert "- cartpole bc n2: trained, not evaluated seeds 0" in report
    (cell,) = [line for line in report.splitlines() if line.startswith("| cartpole | 1 | BC |")]
    assert cell.split(" | ")[3] == "1"  # seeds so far
    assert "72.02" in cell  # the paper's BC at 1 trajectory beside it
