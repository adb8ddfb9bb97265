"""A diagnostic of the termination bias: GAIL on a dataset drawn like the task's own (4 trajectories;
Humanoid 80), but from the expert trajectories that do not end early (the stochastic expert's falls
left out).

    python benchmarks/gail_demos_without_falls.py --env mujoco --task ant --config recipe \
        --budget 400000 --curves /tmp/curves_without_falls

Everything else is :mod:`gail_to_expert`'s run (settings, budget, evaluations, final score); the row
is printed, not written to the benchmark's CSV: its data are not the project's dataset. Compare its
curve (``--curves``) with the same config's on the task's own dataset.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gail_to_expert  # noqa: E402

from gail_pipeline.tasks import TaskSpec  # noqa: E402
from gail_pipeline.trajectories import Demonstrations, subsample  # noqa: E402


@dataclasses.dataclass
class _Catalog:
    """The project's catalog, with the task's 4-trajectory dataset replaced."""

    catalog: Any
    name: str
    dataset: Demonstrations

    def load(self, name: str) -> Any:
        return self.dataset if name == self.name else self.catalog.load(name)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", default="mujoco")
    parser.add_argument("--task", default="ant")
    parser.add_argument("--config", default="recipe")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=None, help="trajectories (default 4; Humanoid 80)")
    parser.add_argument("--eval-every", type=int, default=5)
    parser.add_argument("--budget", type=int, default=None, help="env steps (default: gail_to_expert's)")
    parser.add_argument("--curves", type=Path, default=None)
    args = parser.parse_args()
    gail_to_expert.settings_for(args.config, args.env)  # an unknown config stops here
    torch.set_num_threads(1)
    context = gail_to_expert.project_context(env=None if args.env == "base" else args.env)
    task = TaskSpec.from_config(args.task, context.params["tasks"][args.task])
    expert = context.catalog.load(f"{task.name}.expert_trajectories")
    upright = [t for t in expert.trajectories if not t.terminated]
    falls = len(expert.trajectories) - len(upright)
    print(f"{falls} of {len(expert.trajectories)} expert trajectories end early")
    kept = Demonstrations(upright, expert.env_id, dict(expert.metadata))
    size = args.size or gail_to_expert.dataset_size(task.name)
    seed = int(context.params["demonstrations"]["seed"]) + size  # the demonstrations stage's
    dataset = subsample(kept, size, task.subsample_interval, seed=seed)
    name = f"{task.name}.demonstrations_n{size}"
    run_context = argparse.Namespace(catalog=_Catalog(context.catalog, name, dataset), params=context.params)
    options = argparse.Namespace(
        env=args.env,
        eval_every=args.eval_every,
        eval_episodes=10,
        update_threads=1,
        budget=args.budget,
        stop_at_target=False,
        final_episodes=50,
        curves=args.curves,
        checkpoints=None,
        checkpoint_every=10,
    )
    print(gail_to_expert.run(task, args.config, args.seed, size, options, run_context))


if __name__ == "__main__":
    main()
