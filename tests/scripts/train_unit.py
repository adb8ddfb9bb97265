"""Train one CartPole imitation unit through the imitation node (a subprocess of tests/test_resume.py).

python tests/scripts/train_unit.py DEMOS.parquet CHECKPOINT_DIR OUTPUT.pt ITERATIONS [ALGORITHM]

ALGORITHM: gail (default), fem or gtal. The node's log goes to stdout, one line per iteration
(``log_every: 1``), so the caller can count the iterations this process itself trained.
"""

import logging
import sys

import torch

from gail_pipeline.pipelines.imitation.nodes import UnitSpec, train_learner
from gail_pipeline.rl.policies import save_policy
from gail_pipeline.trajectories import read_trajectories

TASK = {"env_id": "CartPole-v1", "max_episode_steps": 100, "dataset_sizes": [2], "batch_size": 1000}
PARAMS = {
    "policy_hidden_sizes": [32],
    "num_envs": 4,
    "log_every": 1,
    "update_threads": 1,
    "checkpoint_every": 2,
    "gail": {"hidden_sizes": [32]},
}


def main() -> None:
    demos_path, checkpoint_dir, output, iterations = sys.argv[1:5]
    algorithm = sys.argv[5] if len(sys.argv) > 5 else "gail"
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(name)s: %(message)s", force=True)
    torch.set_num_threads(1)
    unit = UnitSpec("cartpole", algorithm, 2, 0, int(iterations))
    policy, curve = train_learner(
        read_trajectories(demos_path), TASK, {**PARAMS, "checkpoint_dir": checkpoint_dir}, unit=unit
    )
    save_policy(policy, output)
    curve.to_csv(output + ".curve.csv", index=False)


if __name__ == "__main__":
    main()
