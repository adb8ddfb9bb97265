"""``--only-missing-outputs`` keeps the units whose outputs exist: refuse to keep one that was
trained under other settings or on other demonstrations than the run now gives it, before any
node runs (a grid continued after its recipe, budget, task or expert data changed would otherwise
mix units of two experiments under one label, and nothing in its tables would say so)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from gail_pipeline.config import ConfigError
from gail_pipeline.imitation.train import trained_settings
from gail_pipeline.pipelines.imitation.pipeline import demonstrations_dataset
from gail_pipeline.tracking import TRAIN

__all__ = ["check_kept_units", "differences"]


def differences(saved: Any, current: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested mappings, as ``key: saved → current``."""
    if isinstance(saved, Mapping) and isinstance(current, Mapping):
        found = []
        for key in sorted(set(saved) | set(current), key=str):
            where = f"{prefix}.{key}" if prefix else str(key)
            if key not in saved or key not in current:
                found.append(f"{where}: {saved.get(key, '(none)')} → {current.get(key, '(none)')}")
            else:
                found += differences(saved[key], current[key], where)
        return found
    return [] if saved == current else [f"{prefix}: {saved} → {current}"]


def check_kept_units(nodes: Iterable[Any], catalog: Any, params: Mapping[str, Any]) -> None:
    """For each training node whose outputs all exist (the units ``--only-missing-outputs``
    keeps), compare the settings its saved policy was trained under with those the run's
    parameters give it now, and the demonstrations it was trained on with those its dataset holds
    now; raise one :class:`ConfigError` naming the first unit that differs and what differs
    (policies saved before they recorded their settings or data cannot be checked)."""
    stale = []
    digests: dict[str, str | None] = {}
    for node in nodes:
        unit = getattr(node.func, "value", None)
        if TRAIN not in node.tags or unit is None or not all(catalog.exists(o) for o in node.outputs):
            continue
        metadata = getattr(catalog.load(node.outputs[0]), "metadata", {})
        dataset = demonstrations_dataset(unit.task_name, unit.dataset_size)
        found = _other_demonstrations(metadata.get("dataset_digest"), dataset, catalog, digests)
        saved = metadata.get("trained_settings")
        if saved is not None:
            named = (params.get("gail_config_settings") or {}).get(unit.config)
            task, settings = unit.task_and_settings(
                params["tasks"][unit.task_name], params.get("imitation"), named
            )
            task = dataclasses.replace(task, iterations=unit.iterations)
            found += differences(saved, trained_settings(task, unit.algorithm, settings))
        if found:
            stale.append((unit.name, found))
    if stale:
        name, found = stale[0]
        more = f" (and {len(stale) - 1} more units)" if len(stale) > 1 else ""
        raise ConfigError(
            f"{name}{more}: its saved policy was trained under other settings or on other data than "
            f"this run gives it ({'; '.join(found[:5])}{'; …' if len(found) > 5 else ''}), and "
            "--only-missing-outputs would keep it beside units trained under the new ones. Run without "
            "--only-missing-outputs to train every unit again, or give this run another grid_label."
        )


def _other_demonstrations(
    saved: str | None, dataset: str, catalog: Any, digests: dict[str, str | None]
) -> list[str]:
    """``[dataset: saved digest → current digest]`` when the unit's policy was trained on other
    demonstrations than those its dataset now holds (e.g. sampled again from a retrained expert);
    ``[]`` when they are the same, or when either is unknown (a policy saved before it recorded
    its data's digest; demonstrations that this run will write first)."""
    if saved is None:
        return []
    if dataset not in digests:
        digests[dataset] = catalog.load(dataset).digest() if catalog.exists(dataset) else None
    current = digests[dataset]
    return [] if current in (None, saved) else [f"{dataset}: {saved} → {current}"]
