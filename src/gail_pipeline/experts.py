"""The experts shipped with the project: ``data/01_raw/experts/<task>.pt`` and its manifest.

A new user can run the demonstrations and imitation stages at once: the catalog loads a shipped
expert (and its measured returns) wherever the expert stage has not saved one yet. The manifest
``<task>.json`` holds the reference returns the evaluation stage needs (the expert's and the
uniform random policy's returns over 50 episodes) and how the expert was made: env id, trainer,
seed, iterations, env steps, wall time, machine, and the version it was shipped from.

Ship the latest trained experts with::

    python -m gail_pipeline.experts cartpole acrobot mountaincar hopper
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
from pathlib import Path
from typing import Any

from gail_pipeline.rl.policies import load_policy

__all__ = ["SHIPPED_DIR", "latest_version", "machine_description", "ship_expert"]

SHIPPED_DIR = Path("data/01_raw/experts")


def machine_description() -> str:
    """CPU model and core count, e.g. for manifests and benchmark reports."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores, {model}"


def latest_version(path: Path) -> Path:
    """The newest saved version of a versioned dataset path (``<path>/<version>/<name>``)."""
    versions = sorted(p for p in path.iterdir() if p.is_dir()) if path.is_dir() else []
    if not versions:
        raise FileNotFoundError(f"{path}: no saved version yet; run the pipeline that writes it first")
    return versions[-1] / path.name


def ship_expert(task: str, data_dir: Path = Path("data"), target_dir: Path | None = None) -> dict[str, Any]:
    """Copy the latest expert of ``task`` and write its manifest; returns the manifest."""
    target_dir = target_dir or data_dir / "01_raw" / "experts"
    policy_path = latest_version(data_dir / "06_models" / task / "expert_policy.pt")
    returns_path = latest_version(data_dir / "08_reporting" / task / "reference_returns.json")
    policy = load_policy(policy_path)
    returns = json.loads(returns_path.read_text())
    version = policy_path.parent.name
    if returns.get("expert_version") not in (None, version):
        raise ValueError(
            f"{returns_path} measured expert {returns.get('expert_version')}, the latest expert is "
            f"{version}: run the expert stage's measure_reference_returns node first"
        )
    meta = policy.metadata
    manifest = {
        "task": task,
        "env_id": meta.get("env_id", returns.get("env_id")),
        "return_mean": returns["expert_return_mean"],
        "return_std": returns["expert_return_std"],
        "episodes": returns["episodes"],
        "deterministic": True,
        "trainer": meta.get("trainer", "trpo"),
        "seed": meta.get("seed"),
        "iterations": meta.get("iterations"),
        "env_steps": meta.get("env_steps"),
        "wall_time_s": meta.get("wall_time_s"),
        "trained": meta.get("created"),
        "machine": meta.get("machine", machine_description()),
        "shipped_from_version": version,
        "gail_pipeline_version": meta.get("gail_pipeline_version"),
        # The reference returns, as the expert stage writes them (the evaluation stage reads these).
        **returns,
    }
    target_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(policy_path, target_dir / f"{task}.pt")
    (target_dir / f"{task}.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Ship the latest trained experts with the project.")
    parser.add_argument("tasks", nargs="+")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    args = parser.parse_args(argv)
    for task in args.tasks:
        manifest = ship_expert(task, args.data_dir)
        print(
            f"{task}: {manifest['env_id']} {manifest['return_mean']:.2f} ± {manifest['return_std']:.2f} "
            f"over {manifest['episodes']} episodes ({manifest['trainer']}, {manifest['env_steps']} env steps)"
        )


if __name__ == "__main__":
    main()
