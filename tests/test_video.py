"""Rollout videos: one deterministic episode rendered, written as MP4, read back with as
many frames as the episode has states (every k-th kept: the documented count); the catalog's
versioned video dataset; the pipelines' video nodes and their MLflow artifact; and a run that
goes on, with one message, where an environment cannot render."""

import logging
from functools import partial
from unittest import mock

import gymnasium as gym
import numpy as np
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.io.core import Version
from kedro.runner import SequentialRunner

from gail_pipeline import tracking, video
from gail_pipeline.config import ConfigError, parse_settings
from gail_pipeline.datasets import VideoDataset
from gail_pipeline.parameters import EvaluationSettings
from gail_pipeline.rl.policies import CategoricalPolicy, load_policy
from gail_pipeline.tasks import TaskSpec, make_env
from gail_pipeline.video import Video, VideoSettings, decode, frame_count, render_rollout
from tests.conftest import PROJECT

CARTPOLE = TaskSpec(name="cartpole", env_id="CartPole-v1", max_episode_steps=60)


@pytest.fixture(scope="module")
def expert():
    return load_policy(PROJECT / "data/01_raw/experts/cartpole.pt")


@pytest.fixture(scope="module")
def weak_policy():
    """An untrained policy: equal logits, so its deterministic action is always 0 (push left) and
    the pole falls within a few steps — an episode ended by termination, shorter than the limit."""
    return CategoricalPolicy(4, 2, hidden_sizes=(8,))


def _episode(task, policy, seed):
    """(length, return) of the same deterministic episode, played without rendering."""
    env = make_env(task)
    obs, _ = env.reset(seed=seed)
    steps, total, done = 0, 0.0, False
    while not done:
        action = policy.act(np.asarray(obs, dtype=np.float32)[None], deterministic=True)[0]
        obs, reward, terminated, truncated, _ = env.step(action)
        steps, total, done = steps + 1, total + reward, terminated or truncated
    return steps, total


@pytest.mark.parametrize("which", ["expert", "weak_policy"])
def test_a_rendered_episode_has_a_frame_per_state_and_plays_back(which, request):
    policy = request.getfixturevalue(which)
    length, total = _episode(CARTPOLE, policy, seed=5)
    assert (length == 60) == (which == "expert")  # the untrained one drops the pole early
    clip = render_rollout(CARTPOLE, policy, seed=5)
    assert clip.rendered and clip.metadata["episode_length"] == length
    assert clip.metadata["episode_return"] == pytest.approx(total)
    assert clip.frames.shape == (length + 1, 212, 320, 3)  # 600×400 scaled into 320×240, even sides
    assert clip.fps == 50  # CartPole's render_fps: real time
    # The frames differ: the cart and pole move (the balanced one by less than a pixel at times).
    assert len({frame.tobytes() for frame in clip.frames}) >= min(10, length)
    assert np.abs(clip.frames[0].astype(int) - clip.frames[-1].astype(int)).sum() > 1000

    frames, fps = decode(clip.encoded("mp4"))
    assert frames.shape == clip.frames.shape and fps == pytest.approx(50)
    assert np.abs(frames.astype(int) - clip.frames.astype(int)).mean() < 3  # lossy, but close
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).sum() > 1000


def test_every_kth_step_and_the_frame_cap(expert):
    full = render_rollout(CARTPOLE, expert, seed=2)
    every3 = render_rollout(CARTPOLE, expert, seed=2, settings=VideoSettings(every_k_steps=3))
    assert len(every3.frames) == frame_count(60, 3, 201) == 21  # ⌊60 / 3⌋ + 1
    np.testing.assert_array_equal(every3.frames, full.frames[::3])  # the states of steps 0, 3, 6, …
    assert every3.fps == pytest.approx(50 / 3) and every3.metadata["every_k_steps"] == 3
    capped = render_rollout(CARTPOLE, expert, seed=2, settings=VideoSettings(every_k_steps=2, max_frames=7))
    np.testing.assert_array_equal(capped.frames, full.frames[:13:2])
    assert capped.metadata["episode_length"] == 60  # the episode ran to its end all the same
    # By default the smallest k that fits the task's episode limit into max_frames.
    auto = render_rollout(CARTPOLE, expert, seed=2, settings=VideoSettings(max_frames=25))
    assert auto.metadata["every_k_steps"] == 3 and len(auto.frames) == 21
    assert video.default_every_k_steps(1000, 201) == 5 and video.default_every_k_steps(200, 201) == 1
    assert VideoSettings().max_frames == 101 and video.default_every_k_steps(200, 101) == 2


def test_mujoco_renders_headless():
    """Hopper through EGL or OSMesa (skipped where neither works): 31 frames of a 30-step episode."""
    hopper = TaskSpec(name="hopper", env_id="Hopper-v5", max_episode_steps=30)
    policy = load_policy(PROJECT / "data/01_raw/experts/hopper.pt")
    clip = render_rollout(hopper, policy, seed=0, settings=VideoSettings(width=160, height=120))
    if not clip.rendered:
        pytest.skip(f"no headless OpenGL here: {clip.metadata['reason']}")
    assert clip.frames.shape == (31, 120, 160, 3)
    assert len({frame.tobytes() for frame in clip.frames}) > 25
    assert len(decode(clip.encoded())[0]) == 31


def test_an_env_that_cannot_render_gives_a_one_frame_clip_and_one_message(expert, monkeypatch, caplog):
    monkeypatch.setattr(video, "_UNAVAILABLE", {})

    def fail(self):
        raise gym.error.DependencyNotInstalled("pygame is not installed")

    monkeypatch.setattr("gymnasium.envs.classic_control.cartpole.CartPoleEnv.render", fail)
    with caplog.at_level(logging.WARNING, logger="gail_pipeline.video"):
        clips = [render_rollout(CARTPOLE, expert, seed=s, label=f"unit{s}") for s in range(3)]
    messages = [r.getMessage() for r in caplog.records if r.name == "gail_pipeline.video"]
    assert len(messages) == 1 and "CartPole-v1 cannot render here" in messages[0]
    assert "pygame is not installed" in messages[0] and "the run goes on" in messages[0]
    for clip in clips:
        assert not clip.rendered and clip.frames.shape == (1, 240, 320, 3)
        assert clip.frames.any()  # the text that says why
        assert len(decode(clip.encoded())[0]) == 1


def test_video_dataset_saves_versions_and_loads_the_latest(tmp_path, expert):
    clip = render_rollout(CARTPOLE, expert, seed=1, settings=VideoSettings(every_k_steps=4))
    short = Video(clip.frames[:3], clip.fps)
    path = str(tmp_path / "video.mp4")
    VideoDataset(path, version=Version(None, "2026-01-01T00.00.00.000Z")).save(short)
    VideoDataset(path, version=Version(None, "2026-01-02T00.00.00.000Z")).save(clip)
    loaded = VideoDataset(path, version=Version(None, None)).load()
    assert isinstance(loaded, Video) and loaded.frames.shape == clip.frames.shape == (16, 212, 320, 3)
    assert loaded.metadata["version"] == "2026-01-02T00.00.00.000Z" and loaded.fps == pytest.approx(12.5)
    first = VideoDataset(path, version=Version("2026-01-01T00.00.00.000Z", None)).load()
    assert len(first.frames) == 3
    assert (tmp_path / "video.mp4/2026-01-02T00.00.00.000Z/video.mp4").read_bytes()[4:8] == b"ftyp"
    with pytest.raises(Exception, match=r"a video file ends in \.mp4"):
        VideoDataset(str(tmp_path / "video.avi"))


def test_video_settings_parse_and_refuse():
    parse = partial(parse_settings, EvaluationSettings, where="evaluation")
    assert parse({"video": False}).video == VideoSettings(enabled=False)
    assert parse({"seed": 3, "video": {"every_k_steps": 2}}).video.every_k_steps == 2
    assert parse(None).video == VideoSettings()
    with pytest.raises(ConfigError, match=r"evaluation.video.every_k_step: unknown setting \(did you mean"):
        parse({"video": {"every_k_step": 2}})
    with pytest.raises(ConfigError, match="evaluation.video.max_frames: expected a positive integer, got 0"):
        parse({"video": {"max_frames": 0}})
    with pytest.raises(ConfigError, match="evaluation.video: expected a mapping of settings, got str"):
        parse({"video": "yes"})


def test_the_pipelines_render_a_video_per_policy_when_asked(expert):
    from gail_pipeline.grid import units
    from gail_pipeline.pipelines import evaluation
    from gail_pipeline.pipelines import expert as expert_stage

    task = {"env_id": "CartPole-v1", "max_episode_steps": 30, "evaluation_episodes": 2}
    grid = {"tasks": ["cartpole"], "algorithms": ["bc"], "dataset_sizes": [1], "seeds": 1}
    (unit,) = units({"tasks": {"cartpole": task}, "grid": grid})
    assert not [n for n in evaluation.create_pipeline([unit]).nodes if "video" in n.name]
    assert not [n for n in expert_stage.create_pipeline("cartpole").nodes if "video" in n.name]
    pipeline = evaluation.create_pipeline([unit], video=True)
    pipeline += expert_stage.create_pipeline("cartpole", video=True).only_nodes(
        "cartpole.render_expert_video"
    )
    assert {n.name: tracking.unit_tracking(n).run_name(n) for n in pipeline.nodes if "video" in n.name} == {
        "cartpole.bc.n1.s0.render_video": "cartpole.bc.n1.s0",
        "cartpole.render_expert_video": "cartpole.expert",
    }
    reference = {"expert_return_mean": 30.0, "random_return_mean": 10.0}
    catalog = DataCatalog(
        datasets={
            "cartpole.bc.n1.s0.policy": MemoryDataset(expert),
            "cartpole.expert_policy": MemoryDataset(expert),
            "cartpole.reference_returns": MemoryDataset(reference),
            "params:tasks.cartpole": MemoryDataset(task),
            "params:expert": MemoryDataset({}),
            "params:evaluation": MemoryDataset({"video": {"every_k_steps": 2}}),
        }
    )
    SequentialRunner().run(pipeline, catalog)
    for name in ("cartpole.bc.n1.s0.video", "cartpole.expert_video"):
        clip = catalog.load(name)
        assert clip.rendered and len(clip.frames) == 16  # 30 steps, every 2nd: ⌊30 / 2⌋ + 1
        assert clip.metadata["episode_return"] == 30.0


def test_a_video_node_logs_the_mp4_and_its_numbers_to_the_unit_run(expert, tmp_path):
    clip = render_rollout(CARTPOLE, expert, seed=0, settings=VideoSettings(every_k_steps=6))
    client = mock.MagicMock()
    logged = {}
    client.log_artifact.side_effect = lambda run, path, _: logged.update({path: open(path, "rb").read()})
    tracking.log_video(client, "unit-run", clip)
    ((path, data),) = logged.items()
    assert path.endswith("/rollout.mp4") and len(decode(data)[0]) == 11
    (batch,) = client.log_batch.call_args_list
    metrics = {m.key: m.value for m in batch.kwargs["metrics"]}
    assert metrics == {
        "video.frames": 11,
        "video.episode_length": 60,
        "video.episode_return": 60.0,
        "video.render_seconds": clip.metadata["render_seconds"],
    }
    client.set_tag.assert_not_called()


def test_an_env_whose_renderer_cannot_even_be_made_gives_the_one_frame_clip(expert, monkeypatch):
    monkeypatch.setattr(video, "_UNAVAILABLE", {})
    real = video.make_env

    def make(task, render_mode=None):
        if render_mode is not None:
            raise ConfigError("gymnasium.make failed") from RuntimeError("no OpenGL context")
        return real(task)

    monkeypatch.setattr(video, "make_env", make)
    clip = render_rollout(CARTPOLE, expert, seed=0)
    assert (
        not clip.rendered and clip.metadata["reason"] == "CartPole-v1 cannot render here: no OpenGL context"
    )


@pytest.mark.slow  # a whole tiny kedro run: ~30 s on busy cores
def test_a_kedro_run_saves_the_videos_and_logs_them_to_the_unit_runs(project):
    from kedro.framework.session import KedroSession
    from mlflow.tracking import MlflowClient

    from tests.conftest import TINY

    grid = {**TINY["grid"], "algorithms": ["bc"], "dataset_sizes": [1]}
    params = {**TINY, "grid": grid, "evaluation": {"video": {"enabled": True}}}
    with KedroSession.create(project_path=project, runtime_params=params) as session:
        session.run()
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("gail_pipeline")
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    data = project / "data/08_reporting"
    for run_name, folder in [
        ("cartpole.expert", data / "cartpole/expert_video.mp4"),
        ("cartpole.bc.n1.s0", data / "quick/cartpole/bc/n1/s0/video.mp4"),
    ]:
        run = runs[run_name]
        assert "rollout.mp4" in {a.path for a in client.list_artifacts(run.info.run_id)}
        logged = client.download_artifacts(run.info.run_id, "rollout.mp4", str(project))
        (version,) = folder.iterdir()
        saved = (version / folder.name).read_bytes()
        assert open(logged, "rb").read() == saved  # one encoding, saved and logged
        frames, _ = decode(saved)
        metrics = run.data.metrics
        assert len(frames) == metrics["video.frames"] == metrics["video.episode_length"] + 1  # k = 1
