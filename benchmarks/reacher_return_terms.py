"""A diagnostic of Reacher's normalised score: each policy's return split into its distance and
control terms, and where the fingertip ends, over deterministic episodes.

    python benchmarks/reacher_return_terms.py \
        --policies data/06_models/appendix_b/reacher/gail/n4/s0/policy.pt \
        --output benchmarks/results/reacher_return_terms.md

Reacher pays −(distance to the target) − |a|² per step. The normalisation's random policy (uniform
actions) loses most of its return to the control term, so a policy that does not move at all —
action 0, which is where an untrained policy with a zero output layer starts, and where the
neutral frozen-discriminator control stays — scores near 0.8 without reaching for the target.
The rows: that policy, the task's expert (the catalog's or the shipped one), and each of
``--policies`` (a policy file, or a versioned dataset's folder: its latest version).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import header, write_report  # noqa: E402

from gail_pipeline.rl.policies import Policy, load_policy  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]
SHIPPED_EXPERT = PROJECT / "data/01_raw/experts/reacher.pt"


def latest(path: Path) -> Path:
    """A policy file, or the newest version inside a versioned dataset's folder."""
    if path.is_file():
        return path
    versions = sorted(p for p in path.glob("*/*.pt"))
    if not versions:
        raise SystemExit(f"{path}: neither a policy file nor a versioned folder of them")
    return versions[-1]


def return_terms(policy: Policy | None, episodes: int, seed: int) -> dict[str, float]:
    """Mean distance term, control term and final fingertip distance over deterministic episodes
    (``policy`` None: action 0 throughout)."""
    env = gym.make("Reacher-v5")
    dist, ctrl, final = [], [], []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        totals, done = [0.0, 0.0], False
        while not done:
            if policy is None:
                action = np.zeros(env.action_space.shape, dtype=np.float32)
            else:
                action = policy.act(obs[None].astype(np.float32), deterministic=True)[0]
            obs, _, terminated, truncated, info = env.step(action)
            totals[0] += info["reward_dist"]
            totals[1] += info["reward_ctrl"]
            done = terminated or truncated
        dist.append(totals[0])
        ctrl.append(totals[1])
        final.append(-info["reward_dist"])
    env.close()
    return {"distance": float(np.mean(dist)), "control": float(np.mean(ctrl)), "final": float(np.mean(final))}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--policies", type=Path, nargs="*", default=[])
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--seed", type=int, default=100_000)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    expert = load_policy(SHIPPED_EXPERT)
    # the shipped expert's manifest: the reference returns the benchmark normalises Reacher with
    reference = json.loads(SHIPPED_EXPERT.with_suffix(".json").read_text())
    high, low = reference["expert_return_mean"], reference["random_return_mean"]
    rows = [("action 0 (the untrained policy; the neutral control's)", None), ("expert (shipped)", expert)]
    rows += [(str(path), load_policy(latest(path))) for path in args.policies]
    lines = [
        *header("Reacher: the return's distance and control terms", "reacher_return_terms.py"),
        f"- {args.episodes} deterministic episodes of Reacher-v5 per policy, reset seeds {args.seed}+; "
        f"normalised with the shipped expert's reference returns (expert {high:.2f}, random {low:.2f})",
        "",
        "| policy | return | distance term | control term | normalised | final fingertip distance |",
        "|---|---|---|---|---|---|",
    ]
    for name, policy in rows:
        terms = return_terms(policy, args.episodes, args.seed)
        total = terms["distance"] + terms["control"]
        lines.append(
            f"| {name} | {total:.2f} | {terms['distance']:.2f} | {terms['control']:.2f} | "
            f"{(total - low) / (high - low):.3f} | {terms['final']:.3f} |"
        )
    write_report(lines, args.output)


if __name__ == "__main__":
    main()
