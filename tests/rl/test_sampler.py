from functools import partial

import gymnasium as gym
import numpy as np
import pytest

from gail_pipeline.rl.policies import RandomPolicy, make_policy
from gail_pipeline.rl.sampler import RolloutSampler
from gail_pipeline.tasks import TaskSpec, make_env

CARTPOLE_20 = TaskSpec(name="cartpole", env_id="CartPole-v1", max_episode_steps=20)


def _policy(sampler):
    return make_policy(sampler.observation_space, sampler.action_space, (8,))


def test_whole_trajectories_totalling_at_least_min_steps():
    sampler = RolloutSampler(partial(make_env, CARTPOLE_20), num_envs=3, seed=0)
    trajs = sampler.sample(_policy(sampler), min_steps=100)
    total = sum(len(t) for t in trajs)
    assert total >= 100
    assert total < 100 + 3 * 20  # at most one in-flight episode per env past the budget
    for t in trajs:
        assert t.terminated or t.truncated
        assert len(t) <= 20
        np.testing.assert_array_equal(t.steps, np.arange(len(t)))


def test_truncation_and_termination_are_told_apart():
    sampler = RolloutSampler(partial(make_env, CARTPOLE_20), num_envs=2, seed=0)
    trajs = sampler.sample(_policy(sampler), num_episodes=30)
    assert len(trajs) == 30
    for t in trajs:
        assert t.truncated == (len(t) == 20 and not t.terminated)
        assert t.final_observation is not None
    assert any(t.truncated for t in trajs) and any(t.terminated for t in trajs)


def test_same_seed_same_trajectories():
    def run(seed):
        sampler = RolloutSampler(partial(make_env, CARTPOLE_20), num_envs=4, seed=seed)
        import torch

        torch.manual_seed(0)
        policy = _policy(sampler)
        return sampler.sample(policy, min_steps=200)

    a, b, c = run(1), run(1), run(2)
    assert [len(t) for t in a] == [len(t) for t in b]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.observations, y.observations)
        np.testing.assert_array_equal(x.actions, y.actions)
    assert any(not np.array_equal(x.observations, y.observations) for x, y in zip(a, c))


def test_box_actions_are_clipped_for_the_env_but_recorded_raw():
    task = TaskSpec(name="pendulum", env_id="Pendulum-v1", max_episode_steps=10)
    sampler = RolloutSampler(partial(make_env, task), num_envs=2, seed=0)
    policy = _policy(sampler)
    import torch

    with torch.no_grad():
        policy.log_std.fill_(3.0)  # σ ≈ 20: most samples fall outside [-2, 2]
    trajs = sampler.sample(policy, num_episodes=2)
    actions = np.concatenate([t.actions for t in trajs])
    assert np.abs(actions).max() > 2.0  # raw samples kept for the log-likelihood


def test_random_policy_reference():
    sampler = RolloutSampler(partial(make_env, CARTPOLE_20), num_envs=2, seed=0)
    env = make_env(CARTPOLE_20)
    trajs = sampler.sample(RandomPolicy(env.action_space, 0), num_episodes=5)
    assert len(trajs) == 5
    assert all(t.actions.dtype == np.int64 for t in trajs)


def test_rejects_bad_arguments():
    sampler = RolloutSampler(partial(make_env, CARTPOLE_20), num_envs=1, seed=0)
    with pytest.raises(ValueError, match="exactly one"):
        sampler.sample(_policy(sampler))
    with pytest.raises(ValueError, match="num_envs"):
        RolloutSampler(partial(make_env, CARTPOLE_20), num_envs=0, seed=0)
    assert isinstance(sampler.action_space, gym.spaces.Discrete)


PENDULUM_10 = TaskSpec(name="pendulum", env_id="Pendulum-v1", max_episode_steps=10)


@pytest.mark.parametrize(
    ("backend", "expected_class"),
    [("native", "NativeVectorEnvs"), ("inprocess", "InProcessEnvs"), ("workers", "WorkerProcessEnvs")],
)
def test_every_backend_records_transitions_that_follow_the_dynamics(backend, expected_class):
    # CartPole integrates by Euler: x' = x + 0.02·ẋ. A row recorded against the wrong step or env
    # breaks this relation, and so does a final observation taken from the wrong episode.
    sampler = RolloutSampler(
        partial(make_env, CARTPOLE_20), num_envs=5, seed=3, backend=backend, num_workers=2
    )
    try:
        assert sampler.backend == expected_class
        policy = _policy(sampler)
        for _ in range(2):  # the second call continues the envs' streams
            trajs = sampler.sample(policy, min_steps=150)
            assert sum(len(t) for t in trajs) >= 150
            for t in trajs:
                obs = t.observations
                np.testing.assert_allclose(obs[1:, 0], obs[:-1, 0] + 0.02 * obs[:-1, 1], atol=1e-5)
                np.testing.assert_allclose(t.final_observation[0], obs[-1, 0] + 0.02 * obs[-1, 1], atol=1e-5)
                assert np.abs(obs[0]).max() <= 0.05  # a fresh episode's first observation
                np.testing.assert_array_equal(t.rewards, np.ones(len(t)))
                assert t.terminated or len(t) == 20
    finally:
        sampler.close()


@pytest.mark.parametrize("task", [PENDULUM_10, CARTPOLE_20], ids=["box", "discrete"])
def test_the_trajectories_do_not_depend_on_the_number_of_stepping_processes(task):
    # Each process acts on its own share of the envs: the split of the budget, the action noise
    # and the policy's products must come out the same for 1, 2 or 3 processes.
    import torch

    def run(backend, num_workers):
        sampler = RolloutSampler(
            partial(make_env, task), num_envs=5, seed=5, backend=backend, num_workers=num_workers
        )
        torch.manual_seed(0)
        policy = make_policy(sampler.observation_space, sampler.action_space, (64, 64))
        random = RandomPolicy(sampler.action_space, 0)
        try:
            return (
                sampler.sample(policy, min_steps=60)
                + sampler.sample(policy, num_episodes=3)
                + sampler.sample(random, num_episodes=4)
            )
        finally:
            sampler.close()

    local = run("inprocess", None)
    assert sum(len(t) for t in local[:-7]) >= 60
    for num_workers in (2, 3):
        workers = run("workers", num_workers)
        assert len(local) == len(workers)
        for x, y in zip(local, workers, strict=True):
            np.testing.assert_array_equal(x.observations, y.observations)
            np.testing.assert_array_equal(x.actions, y.actions)
            np.testing.assert_array_equal(x.rewards, y.rewards)
            np.testing.assert_array_equal(x.final_observation, y.final_observation)


def test_an_evaluation_in_this_process_returns_what_one_in_worker_processes_does():
    """Training evaluates its policy in this process (starting workers for a few episodes costs
    more than it saves); the returns are those of the workers' evaluation, bit for bit."""
    import torch

    from gail_pipeline.rl.evaluation import evaluate

    hopper = partial(make_env, TaskSpec(name="hopper", env_id="Hopper-v5", max_episode_steps=40))
    torch.manual_seed(0)
    probe = hopper()
    policy = make_policy(probe.observation_space, probe.action_space, (16,))
    probe.close()
    here = evaluate(hopper, policy, 4, seed=3, num_envs=2, num_workers=1)
    workers = evaluate(hopper, policy, 4, seed=3, num_envs=2, num_workers=2)
    assert len(here) == 4 and len(set(here.tolist())) > 1
    np.testing.assert_array_equal(here, workers)


def test_auto_backend_picks_native_vectorisation_else_in_process():
    assert RolloutSampler(partial(make_env, CARTPOLE_20), 2, 0).backend == "NativeVectorEnvs"
    assert RolloutSampler(partial(make_env, PENDULUM_10), 2, 0).backend == "InProcessEnvs"
    hopper = TaskSpec(name="hopper", env_id="Hopper-v5")
    assert RolloutSampler(partial(make_env, hopper), 2, 0, num_workers=1).backend == "InProcessEnvs"
    with pytest.raises(ValueError, match="backend must be one of"):
        RolloutSampler(partial(make_env, CARTPOLE_20), 2, 0, backend="threads")


def test_a_failing_worker_is_reported_with_its_traceback():
    broken = TaskSpec(name="broken", env_id="CartPole-v1", env_kwargs={"no_such_argument": 1})
    with pytest.raises(RuntimeError, match="environment workers failed during start(.|\n)*no_such_argument"):
        RolloutSampler(partial(make_env, broken), num_envs=2, seed=0, backend="workers", num_workers=2)


def _backends_in_daemon(queue):
    hopper = partial(make_env, TaskSpec(name="hopper", env_id="Hopper-v5"))
    chosen = RolloutSampler(hopper, 2, 0, num_workers=2).backend
    try:
        RolloutSampler(hopper, 2, 0, backend="workers", num_workers=2)
        refused = ""
    except ValueError as exc:
        refused = str(exc)
    queue.put((chosen, refused))


def test_a_daemonic_process_steps_in_process_and_refuses_worker_processes():
    # Dask's worker processes are daemonic by default: they may not start children.
    import multiprocessing as mp

    context = mp.get_context("spawn")
    queue = context.Queue()
    proc = context.Process(target=_backends_in_daemon, args=(queue,), daemon=True)
    proc.start()
    chosen, refused = queue.get(timeout=120)
    proc.join()
    assert chosen == "InProcessEnvs"
    assert "daemonic process, which may not start worker processes" in refused


UNGUARDED_SCRIPT = """
from functools import partial

from gail_pipeline.rl.sampler import RolloutSampler
from gail_pipeline.tasks import TaskSpec, make_env

task = TaskSpec(name="cartpole", env_id="CartPole-v1", max_episode_steps=20)
RolloutSampler(partial(make_env, task), num_envs=2, seed=0, backend="workers", num_workers=2)
print("unreachable")
"""


def test_a_script_without_main_guard_is_told_to_add_it(tmp_path):
    # Worker processes start with 'spawn' and re-import the main module: a script that starts
    # workers at its top level has each worker start them again, and must be told why it failed.
    import subprocess
    import sys

    script = tmp_path / "noguard.py"
    script.write_text(UNGUARDED_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0 and "unreachable" not in done.stdout
    last = done.stderr.strip().splitlines()
    error = "\n".join(last[last.index("RuntimeError: environment workers failed during start:") :])
    assert "re-ran the main module" in error and str(script) in error
    assert 'put the script\'s training code under `if __name__ == "__main__":`' in error
