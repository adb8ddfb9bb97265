import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

# The networks are small: one intra-op thread is fastest and keeps runs reproducible, also
# for the training loops' `update_threads: auto` (gail_pipeline.rl.device.auto_update_threads).
torch.set_num_threads(1)
os.environ.setdefault("GAIL_PIPELINE_TORCH_THREADS", "1")
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")


@pytest.fixture(scope="session")
def cartpole_expert_data():
    """A CartPole (200-step) TRPO expert and 10 of its stochastic trajectories, built once."""
    from functools import partial

    from gail_pipeline.rl.sampler import RolloutSampler
    from gail_pipeline.rl.training import train_trpo
    from gail_pipeline.tasks import TaskSpec, make_env
    from gail_pipeline.trajectories import Demonstrations

    task = TaskSpec(name="cartpole", env_id="CartPole-v1", max_episode_steps=200)
    make = partial(make_env, task)
    expert = train_trpo(make, iterations=20, batch_size=5000, seed=0, max_episode_steps=200).policy
    sampler = RolloutSampler(make, 8, seed=1)
    trajectories = sampler.sample(expert, num_episodes=10)
    return task, expert, Demonstrations(trajectories, task.env_id, {})


PROJECT = Path(__file__).parents[1]

# A whole `kedro run` in seconds: CartPole, 50-step episodes, tiny networks and budgets.

TINY = {
    "tasks": {
        "cartpole": {
            "max_episode_steps": 50,
            "dataset_sizes": [1, 2],
            "subsample_interval": 2,  # the 2-iteration expert's episodes are short
            "evaluation_episodes": 5,
            "batch_size": 300,
            "bc_steps": 21,
            "bc_validate_every": 10,
            "expert": {"hidden_sizes": [16], "batch_size": 300, "iterations": 2, "num_envs": 2},
        }
    },
    "grid": {"dataset_sizes": [1, 2], "iterations": 2},
    "expert": {"checkpoint_dir": None},
    "imitation": {"policy_hidden_sizes": [16], "num_envs": 2, "checkpoint_dir": None},
    "evaluation": {"video": {"enabled": False}},  # the videos have tests of their own (test_video.py)
}


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A copy of the project's conf and shipped data in tmp_path, bootstrapped for KedroSession."""
    from kedro.framework.startup import bootstrap_project

    for item in ("conf", "pyproject.toml", "data/01_raw/paper", "data/01_raw/experts"):
        src = PROJECT / item
        (tmp_path / item).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / item)
    (tmp_path / "src").mkdir()  # the package itself is installed; Kedro only checks the folder
    shutil.rmtree(tmp_path / "conf" / "local", ignore_errors=True)
    (tmp_path / "conf" / "local").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    bootstrap_project(tmp_path)
    return tmp_path


# The reports a kedro run logs to its MLflow run (the catalog declares them: tracking metadata).
REPORTS = {
    "reporting/figure_one.png",
    "reporting/figure_one.html",
    "reporting/learning_curves.png",
    "reporting/learning_curves.html",
    "reporting/paper_comparison.md",
    "reporting/appendix_b.csv",
    "reporting/appendix_b.md",
    "reporting/aggregate_scores.csv",
    "reporting/gail_config_tests.csv",
    "reporting/aggregate_scores.md",
    "reporting/performance_profiles.png",
    "reporting/performance_profiles.html",
}


def process_holding(checkpoint: Path) -> subprocess.Popen:
    """Another process that holds ``checkpoint``'s run (as a run training it does) until killed."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from gail_pipeline.rl.checkpoint import Checkpoint\n"
            "Checkpoint(sys.argv[1], {}).hold()\n"
            "print('held', flush=True)\n"
            "time.sleep(120)\n",
            str(checkpoint),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    if holder.stdout.readline().strip() != "held":  # it ended without holding the run
        holder.kill()
        holder.wait()
        raise AssertionError("the process meant to hold the checkpoint did not")
    return holder
