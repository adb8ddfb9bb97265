"""One way to turn a YAML section into settings: a frozen dataclass, parsed by :func:`parse_settings`.

Every settings group of the project (``TRPOConfig``, ``PPOConfig``, ``BCConfig``, ``GAILConfig``,
``RuntimeSettings``, ``ImitationSettings``, ``ExpertSettings``, …) is a frozen dataclass whose
fields carry their defaults and a docstring each; the YAML nests as the dataclasses do. Parsing
refuses, with one message that names the key:

* an unknown key: ``imitation.gail.learnin_rate: unknown setting (did you mean 'learning_rate'?);
  known: …``
* a value of the wrong type: ``imitation.bc.steps: expected an integer, got 'many'``
* an impossible value (the class's ``checks()``): ``imitation.gail.learning_rate: impossible value -1.0``

A settings class may define ``checks(self) -> dict[str, bool | tuple[bool, str]]``: per field,
whether its value is possible, or ``(ok, "what is expected")`` for a message of the form
``expected <what>, got <value>``; and ``nested_settings(self) -> {name: settings}`` for settings
derived from it that must pass their own checks (PPO's schedule entries). A field whose YAML form
needs more than a type check names its parser in its metadata (``field(metadata={"parse": f})``,
``f(value, where)``). :func:`check_settings` runs the checks on an instance built in code.

This module is a leaf: it imports nothing of the project.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping
from functools import partial
from typing import Any, TypeVar

__all__ = ["ConfigError", "check_settings", "parse_settings", "positive_int", "settings_dict"]

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration value is missing, malformed or impossible. The message names it."""


class _TypeMismatch(ConfigError):
    """A value not of its field's type."""


def parse_settings(cls: type[T], values: Mapping[str, Any] | None, where: str) -> T:
    """``values`` (a YAML section; None: all defaults) as a checked instance of the frozen
    dataclass ``cls``; nested dataclass fields are parsed from their own sub-sections."""
    if values is None:
        values = {}
    if isinstance(values, cls):
        check_settings(values, where)
        return values
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where}: expected a mapping of settings, got {type(values).__name__} {values!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    for key in values:
        if key not in fields:
            raise ConfigError(
                f"{where}.{key}: unknown setting{_did_you_mean(key, fields)}; known: {', '.join(fields)}"
            )
    kwargs, mismatches = {}, []
    for key, value in values.items():
        parse = fields[key].metadata.get("parse") or partial(_convert, hint=hints[key])
        try:
            kwargs[key] = parse(value, f"{where}.{key}")
        except _TypeMismatch as exc:
            # The class's checks say what is expected where they cover the field (e.g. "a
            # positive integer or 'auto'"); else this message does.
            kwargs[key] = value
            mismatches.append(exc)
    settings = cls(**kwargs)
    try:
        check_settings(settings, where)
    except TypeError:  # a check comparing a value of the wrong type
        pass
    if mismatches:
        raise ConfigError(str(mismatches[0]))
    return settings


def check_settings(settings: Any, where: str) -> None:
    """Run the ``checks()`` of ``settings`` and of its nested settings; raise for the first
    failed one, naming the field and its value."""
    checks = getattr(settings, "checks", None)
    for key, result in (checks() if checks else {}).items():
        ok, expected = result if isinstance(result, tuple) else (result, None)
        if not ok:
            value = _dotted(settings, key)
            what = f"expected {expected}, got {value!r}" if expected else f"impossible value {value!r}"
            raise ConfigError(f"{where}.{key}: {what}")
    nested = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}
    if hasattr(settings, "nested_settings"):
        nested.update(settings.nested_settings())
    for name, value in nested.items():
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            check_settings(value, f"{where}.{name}")


def settings_dict(settings: Any) -> dict[str, Any]:
    """The settings as plain data (tuples as lists): what a checkpoint fingerprints or MLflow logs."""
    return _plain(dataclasses.asdict(settings))


def positive_int(value: Any) -> bool:
    """An ``int`` (not a ``bool``) ≥ 1."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _dotted(settings: Any, key: str) -> Any:
    value = settings
    for part in key.split("."):
        value = value[part] if isinstance(value, Mapping) else getattr(value, part)
    return value


def _did_you_mean(key: str, known: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _convert(value: Any, where: str, hint: Any) -> Any:
    """``value`` checked against the field's type ``hint`` (and lists made tuples where the field
    is a tuple); nested settings parsed."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in (o for o in options if o is not type(None)):
            try:
                return _convert(value, where, option)
            except ConfigError as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        raise _TypeMismatch(f"{where}: expected one of the types {hint}, got {value!r}")
    if dataclasses.is_dataclass(hint):
        return parse_settings(hint, value, where)
    if hint is bool:
        if not isinstance(value, bool):
            raise _TypeMismatch(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _TypeMismatch(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _TypeMismatch(f"{where}: expected a number, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise _TypeMismatch(f"{where}: expected a string, got {value!r}")
        return value
    if origin is tuple:
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise _TypeMismatch(f"{where}: expected a list, got {value!r}")
        item = typing.get_args(hint)[0]
        return tuple(_convert(v, where, item) for v in value)
    if origin in (Mapping, dict) or hint in (Mapping, dict):
        if not isinstance(value, Mapping):
            raise _TypeMismatch(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if typing.get_origin(hint) is typing.Literal:
        if value not in typing.get_args(hint):
            choices = ", ".join(str(a) for a in typing.get_args(hint))
            raise ConfigError(f"{where}: expected one of {choices}, got {value!r}")
        return value
    return value
