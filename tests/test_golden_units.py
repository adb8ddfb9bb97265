"""The learners compute what they computed when these numbers were recorded: one unit of each
(BC, FEM, GTAL, GAIL, and GAIL with BC warm start and causal entropy λ > 0), trained through a
real ``kedro run --env paper`` (the paper's settings) on a tiny CartPole config from the shipped
expert's demonstrations.

``tests/data/golden_units.json`` holds, per unit, a SHA-256 of the learned policy's weights and
the training curve's true returns and env-step counts, written by this file's recorder
(``GAIL_PIPELINE_RECORD_GOLDEN=1 pytest tests/test_golden_units.py``) before a restructuring.
On the platform that recorded them (same CPU model and vector instructions, torch and numpy;
a file recorded before the instructions were part of it matches no platform) the comparison is exact:
bit for bit. Elsewhere floating-point kernels may round differently, so the weights' sums and
the curve are compared to 1e-4 relative instead, and the hash is not compared.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from kedro.framework.session import KedroSession

from gail_pipeline.rl.policies import load_policy
from tests.conftest import TINY

GOLDEN = Path(__file__).parent / "data" / "golden_units.json"
RECORD = os.environ.get("GAIL_PIPELINE_RECORD_GOLDEN") == "1"

_GRID = {**TINY["grid"], "tasks": ["cartpole"], "dataset_sizes": [2], "iterations": 3}
RUNS = {
    # name → runtime parameters of one kedro run, and the units it trains
    "plain": (
        {**TINY, "grid": {**_GRID, "algorithms": ["bc", "fem", "gtal", "gail"]}},
        ["bc", "fem", "gtal", "gail"],
    ),
    "gail_warm_start_causal_entropy": (
        {
            **TINY,
            "grid": {**_GRID, "algorithms": ["gail"]},
            "imitation": {
                **TINY["imitation"],
                "gail": {"bc_warm_start": True, "causal_entropy": 0.01},
            },
        },
        ["gail"],
    ),
}


def platform_fingerprint() -> dict[str, str]:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    fields = {}
    for line in lines:
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    # A virtual machine may show only the family ("AMD EPYC"): the vector instructions tell apart
    # models that round differently (AVX-512 or not)
    simd = sorted(f for f in fields.get("flags", "").split() if f.startswith(("avx", "fma")))
    return {
        "cpu": fields.get("model name", platform.processor()),
        "simd": " ".join(simd),
        "machine": platform.machine(),
        "torch": torch.__version__,
        "numpy": np.__version__,
    }


def unit_record(project: Path, algorithm: str) -> dict:
    (version,) = (project / f"data/06_models/paper/cartpole/{algorithm}/n2/s0/policy.pt").iterdir()
    policy = load_policy(version / "policy.pt")
    state = policy.state_dict()
    digest = hashlib.sha256()
    for name in sorted(state):
        digest.update(name.encode())
        digest.update(state[name].detach().cpu().contiguous().numpy().tobytes())
    (curve_version,) = (
        project / f"data/08_reporting/paper/cartpole/{algorithm}/n2/s0/learning_curve.csv"
    ).iterdir()
    curve = pd.read_csv(curve_version / "learning_curve.csv")
    column = "return_mean" if "return_mean" in curve else "validation_nll"
    steps = "env_steps" if "env_steps" in curve else "step"
    return {
        "weights_sha256": digest.hexdigest(),
        "weight_sums": {
            k: float(v.double().sum()) for k, v in sorted(state.items()) if v.is_floating_point()
        },
        "curve_column": column,
        "curve": [float(x) for x in curve[column]],
        "curve_steps": [int(x) for x in curve[steps]],
    }


def _train(project: Path, params: dict) -> None:
    with KedroSession.create(project_path=project, env="paper", runtime_params=params) as session:
        session.run(pipeline_names=["demonstrations", "imitation"])


@pytest.mark.slow
@pytest.mark.parametrize("run", sorted(RUNS))
def test_units_compute_what_they_computed_when_recorded(project, run):
    params, algorithms = RUNS[run]
    _train(project, params)
    records = {f"{run}.{a}": unit_record(project, a) for a in algorithms}
    if RECORD:
        golden = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {"units": {}}
        golden["platform"] = platform_fingerprint()
        golden["units"].update(records)
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
        pytest.skip("recorded")
    golden = json.loads(GOLDEN.read_text())
    exact = golden["platform"] == platform_fingerprint()
    for name, record in records.items():
        expected = golden["units"][name]
        assert record["curve_column"] == expected["curve_column"], name
        assert record["curve_steps"] == expected["curve_steps"], name
        if exact:
            assert record["curve"] == expected["curve"], name
            assert record["weights_sha256"] == expected["weights_sha256"], name
        else:
            np.testing.assert_allclose(record["curve"], expected["curve"], rtol=1e-4, err_msg=name)
            assert record["weight_sums"].keys() == expected["weight_sums"].keys(), name
            for key, value in expected["weight_sums"].items():
                assert record["weight_sums"][key] == pytest.approx(value, rel=1e-4, abs=1e-6), (name, key)
