"""A training run's state in one file, found again only by a run of the same settings."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

__all__ = ["Checkpoint", "CheckpointInUse", "held"]

logger = logging.getLogger(__name__)


class CheckpointInUse(RuntimeError):
    """Another run (of another process, or another of this process) trains the run a checkpoint
    belongs to."""


def _lock_holder(lock: Path) -> dict[str, Any] | None:
    """The process a lock file names (``pid``, ``host``), or None where it names none yet."""
    try:
        holder = json.loads(lock.read_text())
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) and isinstance(holder.get("pid"), int) else None


class Checkpoint:
    """A training run's state in one file, found again only by a run of the same settings.

    ``settings`` (anything JSON-able) fingerprint the run: a file written under other settings is
    ignored with a warning (and overwritten at the next save), as is an unreadable one. Saves are
    atomic (written beside, then renamed), so a run killed while saving leaves the previous
    checkpoint intact.

    Used as a context manager, it holds the run for this process (an exclusive ``flock`` on a
    file beside the checkpoint, which names the process): a second run of the same training
    started meanwhile (a benchmark run and a grid unit share checkpoints), in this process or
    another, stops at once with :class:`CheckpointInUse` instead of both continuing, and
    overwriting, one checkpoint. The operating system lets the lock go when its process ends,
    however it ends (killed midway, the machine restarted), so a lock file left behind holds
    nothing and the next run takes it over.
    """

    def __init__(
        self, path: str | Path, settings: Any, every: int = 10, may_change: Sequence[str] = ()
    ) -> None:
        if every < 1:
            raise ValueError(f"checkpoint_every must be >= 1, got {every}")
        self.path = Path(path)
        self.fingerprint = json.dumps(settings, sort_keys=True, default=str)
        self.every = int(every)
        self.may_change = tuple(may_change)
        self._lock_fd: int | None = None  # the open lock file while this object holds the run
        self._lock_pid: int | None = None  # the process that locked it

    def _fixed_part(self, fingerprint: Any) -> Any:
        """The settings a resumed run must share: the fingerprint without the ``may_change``
        keys (dotted paths into nested settings, e.g. ``ppo.learning_rate``)."""
        if not isinstance(fingerprint, str):
            return None
        settings = json.loads(fingerprint)
        for dotted in self.may_change:
            *parents, key = dotted.split(".")
            node = settings
            for parent in parents:
                node = node.get(parent, {}) if isinstance(node, dict) else {}
            if isinstance(node, dict):
                node.pop(key, None)
        return settings

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None (no file, other settings, unreadable)."""
        if not self.path.exists():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=False)
        except Exception as exc:  # noqa: BLE001 - any unreadable file means: start over
            logger.warning("checkpoint %s is unreadable (%s); training from scratch", self.path, exc)
            return None
        if not isinstance(state, dict) or (
            self._fixed_part(state.get("fingerprint")) != self._fixed_part(self.fingerprint)
        ):
            logger.warning("checkpoint %s was written with other settings; training from scratch", self.path)
            return None
        return state

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def __enter__(self) -> Checkpoint:
        self.hold()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def hold(self) -> None:
        """Hold the run for this process; :class:`CheckpointInUse` where a run already holds it."""
        lock = self.lock_path
        lock.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                if self._locked_at_path(fd, lock):
                    break
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
        try:
            left = _lock_holder(lock)
            if left is not None:
                logger.warning("%s: taking over the lock left by process %s (ended)", lock, left["pid"])
            me = json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode()
            os.pwrite(fd, me, 0)  # written over, then cut to length: never emptied
            os.ftruncate(fd, len(me))
        except BaseException:
            os.close(fd)
            raise
        self._lock_fd, self._lock_pid = fd, os.getpid()

    def _locked_at_path(self, fd: int, lock: Path) -> bool:
        """Lock ``fd`` (:class:`CheckpointInUse` where a run holds it) and say whether it is still
        the file at ``lock``: a holder lets the run go by removing the file, then unlocking it, so
        a file opened just before that and locked just after is no longer the run's lock."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _lock_holder(lock)
            who = f"process {holder['pid']} on {holder.get('host')}" if holder else "another process"
            raise CheckpointInUse(
                f"checkpoint {self.path} is in use: {who} trains the same run (a benchmark run and a "
                f"grid unit of one training share it). Wait for it to end or stop it."
            ) from None
        try:
            return os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            return False

    def release(self) -> None:
        """Let the run go where this object holds it: the lock file removed, then unlocked (in that
        order, see :meth:`_locked_at_path`); a forked copy of the holder only closes its file."""
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            if self._lock_pid == os.getpid():
                self.lock_path.unlink(missing_ok=True)
            os.close(fd)

    def due(self, iteration: int, last_iteration: int) -> bool:
        return iteration % self.every == 0 or iteration == last_iteration

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

    def save(self, state: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        torch.save({**state, "fingerprint": self.fingerprint}, tmp)
        os.replace(tmp, self.path)


def held(checkpoint: Checkpoint | None) -> contextlib.AbstractContextManager:
    """``checkpoint`` held for this process while a run trains (nothing where there is none)."""
    return checkpoint if checkpoint is not None else contextlib.nullcontext()
