from gail_pipeline.progress import progress_enabled, training_progress


def test_quiet_when_not_on_a_terminal(capsys):
    assert not progress_enabled()  # pytest captures stderr: not a terminal
    with training_progress("unit", 3) as update:
        update({"iteration": 1, "env_steps": 10, "return_mean": 1.0})
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_bar_shows_iteration_steps_and_return(capsys):
    with training_progress("cartpole.gail.n1.s0", 3, enabled=True) as update:
        for i in (1, 2, 3):
            update({"iteration": i, "env_steps": 5000 * i, "return_mean": 100.0 + i})
    out = capsys.readouterr().out
    assert "cartpole.gail.n1.s0" in out and "3/3" in out
    assert "steps 15,000" in out and "return 103.0" in out
