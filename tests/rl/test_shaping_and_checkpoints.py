import json
import os
import socket
from functools import partial

import numpy as np
import pytest
import torch

from gail_pipeline.rl.checkpoint import Checkpoint, CheckpointInUse
from gail_pipeline.rl.ppo import PPOConfig
from gail_pipeline.rl.shaping import POTENTIALS, shaped_rewards
from gail_pipeline.rl.training import train_trpo
from gail_pipeline.rl.trpo import TRPOConfig
from gail_pipeline.tasks import TaskSpec, make_env
from gail_pipeline.trajectories import Trajectory
from tests.conftest import process_holding


def _trajectory(terminated: bool) -> Trajectory:
    rng = np.random.default_rng(0)
    obs = np.column_stack([rng.uniform(-1.2, 0.6, 6), rng.uniform(-0.07, 0.07, 6)]).astype(np.float32)
    return Trajectory(
        obs,
        np.zeros(6, np.int64),
        -np.ones(6),
        terminated=terminated,
        truncated=not terminated,
        final_observation=np.array([0.5, 0.01], np.float32),
    )


@pytest.mark.parametrize("terminated", [True, False])
def test_shaping_telescopes(terminated):
    """With γ = 1 the shaped return is the true return + Φ(s_T) − Φ(s_0), Φ(terminal) = 0."""
    traj = _trajectory(terminated)
    phi = POTENTIALS["mountain_car_energy"]
    shaped = shaped_rewards(traj, 1.0, "mountain_car_energy")
    last = 0.0 if terminated else phi(traj.final_observation[None].astype(np.float64))[0]
    first = phi(traj.observations[:1].astype(np.float64))[0]
    assert shaped.sum() == pytest.approx(traj.rewards.sum() + last - first)


def test_unknown_shaping_is_named():
    with pytest.raises(ValueError, match="unknown reward shaping 'height'"):
        shaped_rewards(_trajectory(True), 0.99, "height")


CARTPOLE = TaskSpec(name="cartpole", env_id="CartPole-v1", max_episode_steps=50)


def _train(iterations, checkpoint, **kwargs):
    return train_trpo(
        partial(make_env, CARTPOLE),
        iterations=iterations,
        batch_size=300,
        seed=0,
        hidden_sizes=(8,),
        num_envs=2,
        max_episode_steps=50,
        checkpoint_path=checkpoint,
        checkpoint_every=2,
        **kwargs,
    )


def test_training_resumes_from_its_checkpoint(tmp_path):
    checkpoint = tmp_path / "ckpt.pt"
    first = _train(2, checkpoint)
    assert checkpoint.exists() and first.resumed_from_iteration == 0
    resumed = _train(4, checkpoint)
    assert resumed.resumed_from_iteration == 2
    assert [row["iteration"] for row in resumed.curve] == [1, 2, 3, 4]
    assert resumed.curve[:2] == first.curve
    assert not list(tmp_path.glob("*.tmp"))


def test_checkpoint_of_other_settings_is_not_resumed(tmp_path):
    checkpoint = tmp_path / "ckpt.pt"
    _train(2, checkpoint)
    other = _train(2, checkpoint, checkpoint_key="another env")
    assert other.resumed_from_iteration == 0
    _train(2, checkpoint)
    assert _train(4, checkpoint, ppo=PPOConfig()).resumed_from_iteration == 0  # other trainer


def _assert_same_run(a, b):
    """The same policy, bit for bit, and the same curve but for the wall times."""
    for name, value in a.policy.state_dict().items():
        assert torch.equal(value, b.policy.state_dict()[name]), name
    drop = {"wall_time"} | {k for k in a.curve[0] if k.startswith("time_")}
    assert [{k: v for k, v in r.items() if k not in drop} for r in a.curve] == [
        {k: v for k, v in r.items() if k not in drop} for r in b.curve
    ]


@pytest.mark.parametrize("trainer", ["trpo", "ppo"])
def test_a_resumed_run_ends_exactly_where_the_uninterrupted_run_ends(tmp_path, trainer):
    # The envs restart from resets seeded by (seed, iteration) before every batch, and the
    # checkpoint holds every RNG state (and PPO's Adam state): resuming changes nothing, bit for bit.
    kwargs = {"ppo": PPOConfig(minibatch_size=64)} if trainer == "ppo" else {}
    straight = _train(4, None, **kwargs)
    checkpoint = tmp_path / "ckpt.pt"
    _train(2, checkpoint, **kwargs)
    resumed = _train(4, checkpoint, **kwargs)
    assert resumed.resumed_from_iteration == 2
    _assert_same_run(straight, resumed)


def test_a_resumed_ppo_run_may_take_smaller_steps_but_not_other_settings(tmp_path):
    # Late in a long run the PPO step size may be lowered (learning rate, early stop on KL):
    # the run continues from its checkpoint with the new settings. Any other change starts over.
    checkpoint = tmp_path / "ckpt.pt"
    _train(2, checkpoint, ppo=PPOConfig(minibatch_size=64))
    smaller = PPOConfig(minibatch_size=64, learning_rate=1e-4, target_kl=1e-9)
    resumed = _train(4, checkpoint, ppo=smaller)
    assert resumed.resumed_from_iteration == 2
    assert resumed.curve[-1]["ppo_epochs"] < smaller.epochs  # the new early stop was applied
    assert resumed.curve[-1]["policy_kl"] < resumed.curve[1]["policy_kl"]  # with the new rate
    other = _train(6, checkpoint, ppo=PPOConfig(minibatch_size=32, learning_rate=1e-5))
    assert other.resumed_from_iteration == 0


def test_a_schedule_repeats_a_run_resumed_with_new_steps_and_discount(tmp_path):
    # What a long run did in stretches (resumed with a smaller step, a longer horizon), a schedule
    # does in one run:
    # the same policy, bit for bit, and the same curve.
    base = {"minibatch_size": 64}
    smaller = {"learning_rate": 1e-4, "target_kl": 1e-3, "gamma": 0.9, "gae_lambda": 0.8}
    checkpoint = tmp_path / "ckpt.pt"
    _train(2, checkpoint, ppo=PPOConfig(**base))
    resumed = _train(4, checkpoint, ppo=PPOConfig(**base, **smaller))
    scheduled = _train(4, None, ppo=PPOConfig(**base, schedule={3: smaller}))
    assert resumed.resumed_from_iteration == 2
    _assert_same_run(scheduled, resumed)
    assert [r["learning_rate"] for r in scheduled.curve] == [3e-4, 3e-4, 1e-4, 1e-4]
    assert [r["gamma"] for r in scheduled.curve] == [0.995, 0.995, 0.9, 0.9]


def test_ppo_discount_replaces_the_shared_one():
    # γ and λ set on PPO reach the advantages and value targets exactly as the shared ones do.
    ppo = {"minibatch_size": 64}
    own = _train(2, None, ppo=PPOConfig(**ppo, gamma=0.9, gae_lambda=0.8))
    shared = _train(2, None, ppo=PPOConfig(**ppo), config=TRPOConfig(gamma=0.9, gae_lambda=0.8))
    _assert_same_run(own, shared)
    other = _train(2, None, ppo=PPOConfig(**ppo))
    assert other.curve[-1]["policy_kl"] != own.curve[-1]["policy_kl"]


def test_stop_window_stops_at_the_first_window_whose_mean_return_reaches_the_bar():
    bar, window = 35.0, 3
    result = train_trpo(
        partial(make_env, CARTPOLE),
        iterations=30,
        batch_size=300,
        seed=0,
        hidden_sizes=(8,),
        num_envs=2,
        max_episode_steps=50,
        stop_at_return=bar,
        stop_window=window,
    )
    returns = [row["return_mean"] for row in result.curve]
    means = [np.mean(returns[max(0, k - window + 1) : k + 1]) for k in range(len(returns))]
    assert len(returns) < 30 and means[-1] >= bar
    assert all(m < bar for m in means[window - 1 : -1])
    assert max(returns[:-1]) >= bar  # a single iteration reached the bar earlier: the window held


def test_a_checkpoint_held_by_a_running_process_stops_a_second_run_before_it_trains(tmp_path):
    """Two runs of one training (a benchmark run and a grid unit share checkpoints) would both
    continue, and overwrite, one checkpoint: the second stops at once, naming the holder."""
    checkpoint = tmp_path / "ckpt.pt"
    other = process_holding(checkpoint)
    try:
        with pytest.raises(CheckpointInUse, match=rf"ckpt.pt is in use: process {other.pid} "):
            _train(2, checkpoint)
        assert not checkpoint.exists()  # nothing trained, nothing saved
    finally:
        other.kill()
        other.wait()
    # the holder gone (killed midway: its lock file left behind), the next run takes the lock
    # over, trains, and lets it go
    assert json.loads(checkpoint.with_name("ckpt.pt.lock").read_text())["pid"] == other.pid
    assert _train(2, checkpoint).resumed_from_iteration == 0 and checkpoint.exists()
    assert not list(tmp_path.glob("*.lock*"))


def test_a_held_checkpoint_is_held_once_per_process_and_let_go_on_an_error(tmp_path):
    path = tmp_path / "ckpt.pt"
    with pytest.raises(RuntimeError, match="the run failed"):
        with Checkpoint(path, {"a": 1}) as held:
            assert json.loads(held.lock_path.read_text())["pid"] == os.getpid()
            with pytest.raises(CheckpointInUse, match="ckpt.pt is in use"):
                Checkpoint(path, {"a": 1}).hold()  # another run of this process (a thread's)
            raise RuntimeError("the run failed")
    assert not held.lock_path.exists()
    # a lock file that no process holds (left by one that ended) is taken over, whomever it names
    held.lock_path.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    with Checkpoint(path, {"a": 1}):
        pass
    assert not list(tmp_path.glob("*.lock*"))


def test_a_lock_file_let_go_while_another_run_opened_it_holds_nothing(tmp_path, monkeypatch):
    """A run that opened the lock file just before its holder let it go (removed, then unlocked)
    locks a file that is no longer at the path: it must not take that for the run, but try the
    path again, where a third run may hold it by now."""
    path = tmp_path / "ckpt.pt"
    first = Checkpoint(path, {"a": 1})
    first.hold()
    late = os.open(first.lock_path, os.O_RDWR)  # the second run opens the lock file ...
    # ... the first lets it go: the file removed before it is unlocked (the other way round, the
    # second run could lock it while it is still the file at the path, beside the third below)
    file_there_at_close, real_close = [], os.close

    def close(fd: int) -> None:
        file_there_at_close.append(first.lock_path.exists())
        real_close(fd)

    monkeypatch.setattr(os, "close", close)
    first.release()
    monkeypatch.undo()
    assert file_there_at_close == [False]
    third = Checkpoint(path, {"a": 1})
    third.hold()  # ... and a third takes the run, at a new lock file
    opened, real_open = [late], os.open
    monkeypatch.setattr(os, "open", lambda *args, **kw: opened.pop() if opened else real_open(*args, **kw))
    with pytest.raises(CheckpointInUse, match="ckpt.pt is in use"):
        Checkpoint(path, {"a": 1}).hold()  # the second run goes on from the file it opened
    monkeypatch.undo()
    assert not opened
    third.release()
    assert not list(tmp_path.glob("*.lock*"))
