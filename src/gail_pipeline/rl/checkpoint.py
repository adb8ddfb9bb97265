"""A training run's state in one file, found again only by a run of the same settings."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

__all__ = ["Checkpoint"]

logger = logging.getLogger(__name__)


class Checkpoint:
    """A training run's state in one file, found again only by a run of the same settings.

    ``settings`` (anything JSON-able) fingerprint the run: a file written under other settings is
    ignored with a warning (and overwritten at the next save), as is an unreadable one. Saves are
    atomic (written beside, then renamed), so a run killed while saving leaves the previous
    checkpoint intact.
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

    def due(self, iteration: int, last_iteration: int) -> bool:
        return iteration % self.every == 0 or iteration == last_iteration

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

    def save(self, state: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        torch.save({**state, "fingerprint": self.fingerprint}, tmp)
        os.replace(tmp, self.path)
