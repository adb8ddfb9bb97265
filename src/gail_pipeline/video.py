"""Rollout videos: one deterministic episode of a policy, rendered, as MP4.

:func:`render_rollout` plays one episode with the policy's deterministic actions (the Gaussian's
mean, the softmax's argmax) in the task's environment made with ``render_mode="rgb_array"``, and
keeps the frame of the first state and of every ``k``-th step after it::

    frames = min(⌊T / k⌋ + 1, max_frames)        (T: the episode's length in steps)

``k`` is :attr:`VideoSettings.every_k_steps`, or by default the smallest that keeps an episode of
the task's limit within ``max_frames`` (101: CartPole's 200 steps, k = 2, 101 frames at 25 fps;
Hopper's 1,000, k = 10, 101 frames at 12.5 fps). The clip plays at the environment's
``render_fps / k``, so it lasts as long as the episode would in real time. The episode runs to
its end even where the frame cap stops the clip early: its return and length are the episode's.

MuJoCo renders headless through EGL or OSMesa (``MUJOCO_GL``; where unset, EGL if an EGL driver
is installed, else OSMesa — Debian: ``libegl1 libegl-mesa0 libgl1-mesa-dri``, which ``make``
installs when run as root, or ``libosmesa6``); the classic-control tasks draw with pygame. Software
rendering is slow: Hopper at 320×240 costs about 80 ms a frame on one busy core (mesa's
llvmpipe; 101 frames ≈ 8 s, 201 ≈ 16 s), CartPole about 3 ms (scaled to 320×212), and encoding a
clip about 0.2 s. Where an environment cannot render, :func:`render_rollout` logs
why once per process and environment and returns a one-frame clip that says so, so a pipeline
goes on (:attr:`Video.rendered` is False).

:func:`encode` writes MP4 (H.264, ``yuv420p``: plays in browsers, MLflow's artifact view and
Jupyter) through the ffmpeg that ``imageio-ffmpeg`` ships, :func:`decode` reads it back frame by
frame; :func:`frame_strip` puts a few frames side by side in one figure.
"""

from __future__ import annotations

import ctypes.util
import dataclasses
import logging
import math
import os
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gail_pipeline.config import ConfigError, parse_settings
from gail_pipeline.tasks import TaskSpec, make_env

if TYPE_CHECKING:
    import gymnasium as gym
    from matplotlib.figure import Figure

    from gail_pipeline.rl.sampler import Actor

__all__ = [
    "FORMATS",
    "Video",
    "VideoSettings",
    "decode",
    "encode",
    "frame_count",
    "frame_strip",
    "parse_video_settings",
    "render_rollout",
]

logger = logging.getLogger(__name__)

FORMATS = ("mp4",)


@dataclass(frozen=True)
class VideoSettings:
    """The ``evaluation.video`` section: one rollout video per expert and learned policy."""

    enabled: bool = True
    """Render the videos (``evaluation.video: false`` is short for ``{enabled: false}``): the
    expert stage's ``<task>.expert_video`` and the evaluation stage's ``<unit>.video``."""
    every_k_steps: int | None = None
    """Keep the frame of every k-th step (and of the first state); None: the smallest k that keeps
    an episode of the task's limit within ``max_frames``."""
    max_frames: int = 101
    """At most this many frames per clip (rendering costs time: ~75 ms a MuJoCo frame here)."""
    width: int = 320
    """Frame width in pixels (MuJoCo renders at this size; other renderers are scaled to fit)."""
    height: int = 240
    """Frame height in pixels."""

    def checks(self) -> dict[str, Any]:
        k = self.every_k_steps
        return {
            "every_k_steps": (k is None or k >= 1, "a positive integer or null"),
            "max_frames": (self.max_frames >= 1, "a positive integer"),
            "width": (16 <= self.width <= 4096, "an integer from 16 to 4096"),
            "height": (16 <= self.height <= 4096, "an integer from 16 to 4096"),
        }


def parse_video_settings(value: Any, where: str) -> VideoSettings:
    """``evaluation.video``: a mapping of :class:`VideoSettings`, or ``true`` / ``false``."""
    if isinstance(value, bool):
        return VideoSettings(enabled=value)
    return parse_settings(VideoSettings, value, where)


@dataclass
class Video:
    """Frames ``(n, height, width, 3)`` of ``uint8`` RGB, played at ``fps``; ``metadata`` says what
    was rendered (env, policy, seed, k, the episode's return and length, render time)."""

    frames: np.ndarray
    fps: float
    metadata: dict[str, Any] = field(default_factory=dict)
    _encoded: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        frames = np.asarray(self.frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or not len(frames):
            raise ValueError(f"a video's frames are (n ≥ 1, height, width, 3) uint8, got {frames.shape}")
        if not self.fps > 0:
            raise ValueError(f"a video's fps must be positive, got {self.fps}")
        self.frames = frames

    @property
    def rendered(self) -> bool:
        """False for the one-frame clip that says why the environment could not render."""
        return bool(self.metadata.get("rendered", True))

    def encoded(self, fmt: str = "mp4") -> bytes:
        """The file's bytes in ``fmt`` (computed once: a hook and a dataset may both ask)."""
        if fmt not in self._encoded:
            self._encoded[fmt] = encode(self, fmt)
        return self._encoded[fmt]


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------
_UNAVAILABLE: dict[str, str] = {}  # env id → why it could not render (said once per process)


def frame_count(episode_length: int, every_k_steps: int, max_frames: int) -> int:
    """Frames of a clip of an episode of ``episode_length`` steps: min(⌊T / k⌋ + 1, max_frames)."""
    return min(episode_length // every_k_steps + 1, max_frames)


def default_every_k_steps(episode_limit: int | None, max_frames: int) -> int:
    """The smallest k for which an episode of ``episode_limit`` steps fits in ``max_frames``."""
    if episode_limit is None:
        return 1
    return max(1, math.ceil((episode_limit + 1) / max_frames))


def render_rollout(
    task: TaskSpec,
    policy: Actor,
    seed: int,
    settings: VideoSettings | None = None,
    label: str | None = None,
) -> Video:
    """One deterministic episode of ``policy`` on ``task`` (reset with ``seed``), rendered."""
    settings = settings or VideoSettings()
    label = label or task.name
    if task.env_id in _UNAVAILABLE:
        logger.debug("%s: no video (%s)", label, _UNAVAILABLE[task.env_id])
        return _placeholder(task, settings, _UNAVAILABLE[task.env_id], label)
    started = time.perf_counter()
    try:
        env = _render_env(task, settings)
    except _RenderError as exc:
        return _cannot_render(task, settings, exc, label)
    try:
        limit = env.spec.max_episode_steps if env.spec is not None else None
        k = settings.every_k_steps or default_every_k_steps(limit, settings.max_frames)
        try:
            frames, steps, total = _play(env, policy, seed, k, settings)
        except _RenderError as exc:
            return _cannot_render(task, settings, exc, label)
        fps = float(env.metadata.get("render_fps") or 30) / k
    finally:
        if "env" in locals():
            env.close()
    seconds = time.perf_counter() - started
    metadata = {
        "label": label,
        "env_id": task.env_id,
        "seed": seed,
        "every_k_steps": k,
        "episode_length": steps,
        "episode_return": total,
        "frames": len(frames),
        "render_seconds": round(seconds, 3),
        "rendered": True,
    }
    logger.info(
        "%s: video of a %d-step episode (return %.2f), %d frames (every %d), rendered in %.1f s",
        label,
        steps,
        total,
        len(frames),
        k,
        seconds,
    )
    return Video(np.stack(frames), fps, metadata)


class _RenderError(RuntimeError):
    """The environment could not be made to render, or its ``render()`` failed: no GL, no pygame…"""


def _cannot_render(task: TaskSpec, settings: VideoSettings, exc: _RenderError, label: str) -> Video:
    """Say why once (per process and env id), and stand a one-frame clip that says so in."""
    reason = f"{task.env_id} cannot render here: {exc}"
    _UNAVAILABLE[task.env_id] = reason
    logger.warning("%s; no rollout videos for it in this process, the run goes on", reason)
    return _placeholder(task, settings, reason, label)


def _render_env(task: TaskSpec, settings: VideoSettings) -> gym.Env:
    """The task's env with ``render_mode="rgb_array"``; MuJoCo's at the settings' frame size."""
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")  # pygame headless: no sound, no display
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    sized = dataclasses.replace(
        task, env_kwargs={**task.env_kwargs, "width": settings.width, "height": settings.height}
    )
    _choose_mujoco_gl()  # before a MuJoCo env is made: it may open its GL context at once
    try:
        return make_env(sized, render_mode="rgb_array")
    except ConfigError:  # an env without frame-size arguments (classic control): scaled later
        pass
    try:
        return make_env(task, render_mode="rgb_array")
    except ConfigError as exc:  # the env itself is checked before a run: its renderer failed
        raise _RenderError(str(exc.__cause__ or exc)) from exc


def _choose_mujoco_gl() -> None:
    """``MUJOCO_GL`` as set, else ``egl`` where an EGL driver is installed (mesa's or NVIDIA's),
    else ``osmesa`` where OSMesa is (read by gymnasium when an env first renders)."""
    if os.environ.get("MUJOCO_GL"):
        return
    if ctypes.util.find_library("EGL") and (
        ctypes.util.find_library("EGL_mesa") or ctypes.util.find_library("EGL_nvidia")
    ):
        os.environ["MUJOCO_GL"] = "egl"
    elif ctypes.util.find_library("OSMesa"):
        os.environ["MUJOCO_GL"] = "osmesa"


def _play(
    env: gym.Env, policy: Actor, seed: int, k: int, settings: VideoSettings
) -> tuple[list[np.ndarray], int, float]:
    """(frames, episode length, return) of one deterministic episode."""
    import gymnasium as gym

    box = isinstance(env.action_space, gym.spaces.Box)
    obs, _ = env.reset(seed=seed)
    _follow_tracked_body(env)
    frames = [_frame(env, settings)]
    steps, total, done = 0, 0.0, False
    while not done:
        action = policy.act(np.asarray(obs, dtype=np.float32)[None], deterministic=True)[0]
        if box:
            action = np.clip(action, env.action_space.low, env.action_space.high)
        obs, reward, terminated, truncated, _ = env.step(action)
        steps, total, done = steps + 1, total + float(reward), terminated or truncated
        if steps % k == 0 and len(frames) < settings.max_frames:
            frames.append(_frame(env, settings))
    return frames, steps, total


def _follow_tracked_body(env: gym.Env) -> None:
    """A MuJoCo env whose default camera tracks a body (Hopper, Walker2d, HalfCheetah …) keeps
    it in view: gymnasium 1.4 resets the camera to a free one at every frame, which leaves the
    body to walk out of the picture."""
    renderer = getattr(env.unwrapped, "mujoco_renderer", None)
    config = getattr(renderer, "default_cam_config", None) or {}
    if renderer is None or config.get("trackbodyid", -1) < 0 or renderer.camera_id != -1:
        return
    import mujoco

    _render(env)  # creates the viewer and its camera
    renderer.camera_id = None  # render with the camera as set here
    renderer.viewer.cam.type = mujoco.mjtCamera.mjCAMERA_TRACKING
    renderer.viewer.cam.trackbodyid = config["trackbodyid"]


def _render(env: gym.Env) -> Any:
    try:
        return env.render()
    except Exception as exc:  # noqa: BLE001 — any renderer failure means no video, not no run
        raise _RenderError(f"{type(exc).__name__}: {exc}".strip()) from exc


def _frame(env: gym.Env, settings: VideoSettings) -> np.ndarray:
    frame = _render(env)
    if not isinstance(frame, np.ndarray) or frame.ndim != 3:
        raise _RenderError(f"render() returned {type(frame).__name__}, not an RGB array")
    return _fit(np.ascontiguousarray(frame[..., :3], dtype=np.uint8), settings.width, settings.height)


def _fit(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scaled down to fit (width, height), aspect kept; even sides (H.264's 4:2:0 needs them)."""
    h, w = frame.shape[:2]
    if w > width or h > height:
        from PIL import Image

        scale = min(width / w, height / h)
        size = (max(2, round(w * scale)), max(2, round(h * scale)))
        frame = np.asarray(Image.fromarray(frame).resize(size, Image.Resampling.BILINEAR))
        h, w = frame.shape[:2]
    return frame[: h - h % 2, : w - w % 2]


def _placeholder(task: TaskSpec, settings: VideoSettings, reason: str, label: str) -> Video:
    """A one-frame clip that says why there is no video."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (settings.width - settings.width % 2, settings.height - settings.height % 2))
    text = "\n".join(textwrap.wrap(f"{label}: no video. {reason}", width=max(10, settings.width // 7)))
    ImageDraw.Draw(image).multiline_text((6, 6), text, fill=(255, 255, 255))
    metadata = {"label": label, "env_id": task.env_id, "rendered": False, "reason": reason, "frames": 1}
    return Video(np.asarray(image)[None], 1.0, metadata)


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------
def encode(video: Video, fmt: str = "mp4") -> bytes:
    """The video as an MP4 file's bytes (H.264, yuv420p, +faststart)."""
    if fmt not in FORMATS:
        raise ValueError(f"video format {fmt!r}: expected one of {', '.join(FORMATS)}")
    import imageio_ffmpeg

    frames = video.frames[:, : video.frames.shape[1] // 2 * 2, : video.frames.shape[2] // 2 * 2]
    height, width = frames.shape[1:3]
    with tempfile.TemporaryDirectory(prefix="gail_pipeline_video_") as tmp:
        path = Path(tmp) / "video.mp4"
        writer = imageio_ffmpeg.write_frames(
            str(path),
            (width, height),
            fps=video.fps,
            codec="libx264",
            quality=None,
            macro_block_size=2,
            ffmpeg_log_level="error",
            output_params=["-crf", "26", "-preset", "veryfast", "-movflags", "+faststart"],
        )
        writer.send(None)  # start ffmpeg
        for frame in frames:
            writer.send(np.ascontiguousarray(frame))
        writer.close()
        return path.read_bytes()


def decode(data: bytes, fmt: str = "mp4") -> tuple[np.ndarray, float]:
    """(frames, fps) of an MP4 file's bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"video format {fmt!r}: expected one of {', '.join(FORMATS)}")
    import imageio_ffmpeg

    with tempfile.TemporaryDirectory(prefix="gail_pipeline_video_") as tmp:
        path = Path(tmp) / "video.mp4"
        path.write_bytes(data)
        reader = imageio_ffmpeg.read_frames(str(path))
        meta = next(reader)
        width, height = meta["size"]
        frames = [np.frombuffer(b, dtype=np.uint8).reshape(height, width, 3) for b in reader]
    return np.stack(frames), float(meta["fps"])


def frame_strip(
    video: Video, count: int = 5, title: str | None = None, caption: Callable[[int], str] | None = None
) -> Figure:
    """``count`` evenly spaced frames side by side (first and last included), each captioned with
    its step (``every_k_steps`` × frame index; a video read from a file knows its frame index
    only) unless ``caption(frame index)`` says otherwise."""
    from matplotlib.figure import Figure

    picks = np.unique(
        np.linspace(0, len(video.frames) - 1, min(count, len(video.frames))).round().astype(int)
    )
    height, width = video.frames.shape[1:3]
    fig = Figure(figsize=(2.4 * len(picks), 2.4 * height / width + 0.6), dpi=100)
    axes = np.atleast_1d(fig.subplots(1, len(picks)))
    k = video.metadata.get("every_k_steps")
    for ax, index in zip(axes, picks):
        ax.imshow(video.frames[index])
        label = caption(int(index)) if caption else f"step {index * k}" if k else f"frame {index}"
        ax.set_title(label, fontsize=9)
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
