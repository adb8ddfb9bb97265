"""A training run's state in one file, found again only by a run of the same settings."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

__all__ = ["Checkpoint", "CheckpointInUse", "held"]

logger = logging.getLogger(__name__)

_HELD: set[Path] = set()  # the lock files this process holds


class CheckpointInUse(RuntimeError):
    """Another process that still runs trains the run a checkpoint belongs to."""


def _lock_holder(lock: Path) -> dict[str, Any] | None:
    """The process a lock file names (``pid``, ``host``), or None where it is unreadable."""
    try:
        holder = json.loads(lock.read_text())
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) and isinstance(holder.get("pid"), int) else None


def _runs(pid: int) -> bool:
    """Whether process ``pid`` of this machine runs (a zombie, ended but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


class Checkpoint:
    """A training run's state in one file, found again only by a run of the same settings.

    ``settings`` (anything JSON-able) fingerprint the run: a file written under other settings is
    ignored with a warning (and overwritten at the next save), as is an unreadable one. Saves are
    atomic (written beside, then renamed), so a run killed while saving leaves the previous
    checkpoint intact.

    Used as a context manager, it holds the run for this process (a lock file beside the
    checkpoint, naming the process): a second run of the same training started meanwhile (a
    benchmark run and a grid unit share checkpoints) stops at once with :class:`CheckpointInUse`
    instead of both continuing, and overwriting, one checkpoint. A lock whose process no longer
    runs (killed midway, the machine restarted) is taken over.
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
        """Hold the run for this process; :class:`CheckpointInUse` where a running process does."""
        lock = self.lock_path
        lock.parent.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname()}
        # The lock appears with its content (a hard link of a written file), so a reader never
        # finds it empty; the link fails where a lock exists.
        mine = lock.with_name(f"{lock.name}.{me['pid']}.{threading.get_ident()}")
        mine.write_text(json.dumps(me))
        try:
            for _ in range(2):
                try:
                    os.link(mine, lock)
                except FileExistsError:
                    holder = _lock_holder(lock)
                    if holder is not None and self._held_by_a_running_process(holder):
                        raise CheckpointInUse(
                            f"checkpoint {self.path} is in use: process {holder['pid']} on "
                            f"{holder.get('host')} trains the same run (a benchmark run and a grid "
                            f"unit of one training share it). Wait for it to end or stop it; if no "
                            f"such process runs, remove {lock}."
                        ) from None
                    logger.warning("%s: taking over the lock of a process that no longer runs", lock)
                    lock.unlink(missing_ok=True)
                    continue
                _HELD.add(lock.resolve())
                return
            raise CheckpointInUse(f"checkpoint {self.path}: another process took its lock meanwhile")
        finally:
            mine.unlink(missing_ok=True)

    def _held_by_a_running_process(self, holder: dict[str, Any]) -> bool:
        if holder.get("host") != socket.gethostname():
            return True  # another machine's process: no way to tell, so taken as running
        if holder["pid"] == os.getpid():  # this process: held by another of its runs (a thread)
            return self.lock_path.resolve() in _HELD
        return _runs(holder["pid"])

    def release(self) -> None:
        """Let the run go (the lock file removed where this process holds it)."""
        lock = self.lock_path
        if lock.resolve() in _HELD:
            _HELD.discard(lock.resolve())
            holder = _lock_holder(lock)
            if holder is not None and holder["pid"] == os.getpid():
                lock.unlink(missing_ok=True)

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
