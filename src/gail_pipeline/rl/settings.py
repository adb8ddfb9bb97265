"""Hyperparameter dataclasses built from config: one check of the keys for all of them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any


def checked_settings(cls: type, values: Mapping[str, Any] | None, where: str, what: str) -> dict[str, Any]:
    """``values`` as a dict, after refusing any key that is not a field of ``cls`` with a message
    naming it (``{where}.{key}: unknown {what} setting; known: …``)."""
    values = dict(values or {})
    known = {f.name for f in dataclasses.fields(cls)}
    for key in values:
        if key not in known:
            raise ValueError(f"{where}.{key}: unknown {what} setting; known: {', '.join(sorted(known))}")
    return values


def refuse_impossible(config: Any, checks: Mapping[str, bool], where: str) -> None:
    """Raise for the first failed check, naming the setting and its value."""
    for key, ok in checks.items():
        if not ok:
            raise ValueError(f"{where}.{key}: impossible value {getattr(config, key)!r}")
