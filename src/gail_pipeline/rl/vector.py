"""Batches of environments stepped together: the three ways the sampler can run them.

A batch is split into *shares*, each stepped by one process: the sampler runs its whole stepping
loop on each share where the share lives (:meth:`EnvBatch.run_shares`), so processes never talk
per step — only once per batch, to start the loop and to send back the trajectories. A share
takes one array of actions for all its envs and gives back arrays for all of them, so the loop
never iterates over environments in Python per step (only :meth:`InProcessEnvs.step` does,
because plain Gymnasium envs step one at a time).

* :class:`InProcessEnvs` — ``num_envs`` Gymnasium envs in this process, one share. Best for cheap
  envs without a vectorised implementation, and for short jobs (evaluation). The MuJoCo
  locomotion envs it covers (:mod:`gail_pipeline.rl.mujoco_batch`) are simulated one by one but
  their observations, rewards and terminations are computed for the whole share at once.
* :class:`NativeVectorEnvs` — a Gymnasium env's own vectorised implementation (its
  ``vector_entry_point``, e.g. ``CartPoleVectorEnv``): all envs advance in one numpy call.
* :class:`WorkerProcessEnvs` — ``num_workers`` shares, each an :class:`InProcessEnvs` in its own
  stepping process (the trainer's own and ``num_workers − 1`` worker processes), running in
  parallel. Best for expensive simulators (MuJoCo).

Reset semantics. :class:`InProcessEnvs` and :class:`WorkerProcessEnvs` reset an env *in the step
that ends its episode* (the observation returned is the new episode's first one; the last
observation of the ended episode comes back in ``final_obs``), and they only step the envs a mask
selects. :class:`NativeVectorEnvs` follows Gymnasium's next-step autoreset: the step after an
episode's end only resets that env (``valid`` is False there: no transition happened), and every
env is stepped every time. :class:`StepResult` carries both cases.

Seeding. Env ``i`` is reset with ``seeds[i]`` the first time and continues its own RNG stream after
that, whichever class runs it, so :class:`InProcessEnvs` and :class:`WorkerProcessEnvs` give the
same trajectories for the same seeds and actions.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import gymnasium as gym
import numpy as np

__all__ = [
    "EnvBatch",
    "InProcessEnvs",
    "NativeVectorEnvs",
    "StepResult",
    "WorkerProcessEnvs",
    "make_env_batch",
]

BACKENDS = ("auto", "inprocess", "native", "workers")


@dataclass
class StepResult:
    obs: np.ndarray  # (N, obs_dim) float32: what the policy sees next (a new episode's first obs
    # for envs reset in this step)
    rewards: np.ndarray  # (N,) float64
    terminated: np.ndarray  # (N,) bool
    truncated: np.ndarray  # (N,) bool
    final_obs: np.ndarray  # (N, obs_dim) float32: the last observation of an episode ended here
    valid: np.ndarray  # (N,) bool: a transition happened (env stepped with the given action)


class EnvBatch:
    """Interface of the three batch classes.

    Every class can be reset and run a function on each of its shares; the single-share classes
    (:class:`InProcessEnvs`, :class:`NativeVectorEnvs`) also :meth:`step`.
    """

    num_envs: int
    observation_space: gym.spaces.Box
    action_space: gym.Space
    num_processes: int = 1
    """Processes that step the envs (the calling one included)."""
    same_step_reset: bool
    """True: envs reset inside the step that ends an episode and unselected envs are not stepped.
    False: every env is stepped each time and the step after an episode's end is a reset."""
    fresh: bool = False
    """Every env sits at the first observation of an episode not yet stepped (:attr:`obs`)."""
    obs: np.ndarray | None = None
    """(num_envs, obs_dim) float32: each env's current observation (None before a reset)."""

    @property
    def shares(self) -> list[slice]:
        """The rows of the batch each share holds, in order (one process per share)."""
        return [slice(0, self.num_envs)]

    def run_shares(self, fn: Callable[..., Any], args: Sequence[tuple]) -> list[Any]:
        """``[fn(share, *args[k]) for each share k]``, every share in its own process, in parallel.

        ``fn`` must be picklable (a module-level function) and its arguments too when the batch
        has worker processes.
        """
        (share_args,) = args
        return [fn(self, *share_args)]

    def reset(self, seeds: Sequence[int] | None = None) -> np.ndarray:
        """Start every env afresh (``seeds``: one per env, seeding that reset) → observations."""
        raise NotImplementedError

    def step(self, actions: np.ndarray, mask: np.ndarray) -> StepResult:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def _is_gymnasium_mujoco(env: gym.Env) -> bool:
    """A Gymnasium MuJoCo env (told without importing Gymnasium's MuJoCo modules, whose import
    forks a subprocess: a cost for every other env)."""
    return type(env.unwrapped).__module__.startswith("gymnasium.envs.mujoco.")


class InProcessEnvs(EnvBatch):
    """``len(seeds)`` envs from ``make_env``, stepped one after the other in this process."""

    same_step_reset = True

    def __init__(
        self, make_env: Callable[[], gym.Env], seeds: Sequence[int], batched_physics: bool = True
    ) -> None:
        self.envs = [make_env() for _ in seeds]
        self.num_envs = len(self.envs)
        self.observation_space = self.envs[0].observation_space
        self.action_space = self.envs[0].action_space
        self.discrete = isinstance(self.action_space, gym.spaces.Discrete)
        self._obs_dim = int(self.observation_space.shape[0])
        self._first_seeds: list[int | None] = [int(s) for s in seeds]
        for env, s in zip(self.envs, seeds, strict=True):
            env.action_space.seed(int(s))
        self._obs = np.zeros((self.num_envs, self._obs_dim), dtype=np.float32)
        # MuJoCo locomotion envs: simulate each env, compute the batch's results in one pass
        self._stepper = None
        if batched_physics and _is_gymnasium_mujoco(self.envs[0]):
            from gail_pipeline.rl.mujoco_batch import batched_stepper, episode_limit

            self._stepper = batched_stepper(self.envs)
        if self._stepper is not None:
            self._limit = episode_limit(self.envs[0])
            self._elapsed = np.zeros(self.num_envs, dtype=np.int64)

    @property
    def batched_physics(self) -> bool:
        """Steps go through :mod:`gail_pipeline.rl.mujoco_batch` (else each env's ``step``)."""
        return self._stepper is not None

    @property
    def obs(self) -> np.ndarray | None:
        return self._obs.copy() if self._started else None

    _started = False

    def _reset_one(self, i: int) -> np.ndarray:
        # Seeded once, at the first reset; later resets continue the env's own RNG stream.
        obs, _ = self.envs[i].reset(seed=self._first_seeds[i])
        self._first_seeds[i] = None
        if self._stepper is not None:
            self._elapsed[i] = 0
        return obs

    def reset(self, seeds: Sequence[int] | None = None) -> np.ndarray:
        if seeds is not None:
            self._first_seeds = [int(s) for s in seeds]
        for i in range(self.num_envs):
            self._obs[i] = self._reset_one(i)
        self._started = self.fresh = True
        return self._obs.copy()

    def step(self, actions: np.ndarray, mask: np.ndarray) -> StepResult:
        n = self.num_envs
        rewards = np.zeros(n, dtype=np.float64)
        terminated = np.zeros(n, dtype=bool)
        truncated = np.zeros(n, dtype=bool)
        final_obs = np.zeros((n, self._obs_dim), dtype=np.float32)
        discrete = self.discrete
        obs = self._obs
        self.fresh = False
        if self._stepper is not None:
            return self._batched_step(actions, mask, rewards, terminated, truncated, final_obs)
        for i in np.flatnonzero(mask).tolist():
            next_obs, reward, term, trunc, _ = self.envs[i].step(int(actions[i]) if discrete else actions[i])
            rewards[i] = reward
            if term or trunc:
                terminated[i] = term
                truncated[i] = trunc and not term
                final_obs[i] = next_obs
                obs[i] = self._reset_one(i)
            else:
                obs[i] = next_obs
        return StepResult(obs.copy(), rewards, terminated, truncated, final_obs, mask.copy())

    def _batched_step(self, actions, mask, rewards, terminated, truncated, final_obs) -> StepResult:
        """:meth:`step` through the batched stepper; the time limit is counted here, as
        Gymnasium's ``TimeLimit`` counts it (truncated at the limit's step, unless terminated)."""
        rows = np.flatnonzero(mask)
        next_obs, step_rewards, step_terminated = self._stepper.step(rows, actions[rows])
        self._elapsed[rows] += 1
        step_truncated = (
            np.zeros(len(rows), dtype=bool)
            if self._limit is None
            else (self._elapsed[rows] >= self._limit) & ~step_terminated
        )
        rewards[rows] = step_rewards
        obs = self._obs
        obs[rows] = next_obs
        for j in np.flatnonzero(step_terminated | step_truncated).tolist():
            i = int(rows[j])
            terminated[i] = step_terminated[j]
            truncated[i] = step_truncated[j]
            final_obs[i] = obs[i]
            obs[i] = self._reset_one(i)
        return StepResult(obs.copy(), rewards, terminated, truncated, final_obs, mask.copy())

    def close(self) -> None:
        for env in self.envs:
            env.close()


class NativeVectorEnvs(EnvBatch):
    """An env's own vectorised implementation (``gymnasium.make_vec(..., "vector_entry_point")``)."""

    same_step_reset = False

    def __init__(self, vector_env: gym.vector.VectorEnv, seed: int) -> None:
        self.vector_env = vector_env
        self.num_envs = int(vector_env.num_envs)
        self.observation_space = vector_env.single_observation_space
        self.action_space = vector_env.single_action_space
        self.discrete = isinstance(self.action_space, gym.spaces.Discrete)
        self._seed: int | None = int(seed)
        self._pending_reset = np.zeros(self.num_envs, dtype=bool)

    @classmethod
    def available(cls, spec: gym.envs.registration.EnvSpec | None) -> bool:
        return spec is not None and spec.vector_entry_point is not None

    @classmethod
    def from_spec(cls, spec: gym.envs.registration.EnvSpec, num_envs: int, seed: int):
        kwargs = dict(spec.kwargs)
        if spec.max_episode_steps is not None:
            kwargs["max_episode_steps"] = spec.max_episode_steps
        vector_env = gym.make_vec(
            spec.id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs
        )
        return cls(vector_env, seed)

    def reset(self, seeds: Sequence[int] | None = None) -> np.ndarray:
        if seeds is not None:
            self._seed = int(seeds[0])  # the vectorised env seeds env i with seed + i
        obs, _ = self.vector_env.reset(seed=self._seed)
        self._seed = None
        self._pending_reset[:] = False
        self.obs = np.asarray(obs, dtype=np.float32)
        self.fresh = True
        return self.obs.copy()

    def step(self, actions: np.ndarray, mask: np.ndarray) -> StepResult:
        if self.discrete:
            actions = actions.astype(np.int64, copy=False)
        obs, rewards, terminated, truncated, _ = self.vector_env.step(actions)
        obs = np.asarray(obs, dtype=np.float32)
        self.obs, self.fresh = obs, False
        valid = ~self._pending_reset
        terminated = np.asarray(terminated, dtype=bool) & valid
        truncated = np.asarray(truncated, dtype=bool) & valid & ~terminated
        self._pending_reset = terminated | truncated
        return StepResult(obs, np.asarray(rewards, dtype=np.float64), terminated, truncated, obs, valid)

    def close(self) -> None:
        self.vector_env.close()


MAIN_RERUN_EXIT_CODE = 86
"""Exit code of a worker process that stopped because re-running the main module started training."""


def _main_module_rerun_by_workers() -> str | None:
    """The script (or module) that a ``spawn`` or ``forkserver`` child re-runs before it starts,
    as :mod:`multiprocessing` decides it; None where the child re-runs nothing (an interactive
    session, a notebook, ``python -c``, a package's ``__main__``)."""
    main = sys.modules.get("__main__")
    name = getattr(getattr(main, "__spec__", None), "name", None)
    if name is not None:
        return None if name == "__main__" or name.endswith(".__main__") else name
    return getattr(main, "__file__", None)


def _refuse_start_while_bootstrapping() -> None:
    """Stop a worker process that is still re-running its parent's main module and got here.

    A ``spawn`` or ``forkserver`` child first re-imports the parent's main module; if that module
    trains at its top level (no ``if __name__ == "__main__":`` guard), the child starts training
    and worker processes of its own, which :mod:`multiprocessing` forbids. The child then exits
    with :data:`MAIN_RERUN_EXIT_CODE`, so the parent can name the cause.
    """
    if not getattr(mp.current_process(), "_inheriting", False):  # set while the child bootstraps
        return
    print(
        "gail_pipeline: this environment worker process re-ran the main module, whose top-level "
        "code started training (and worker processes) again; put the training code under "
        '`if __name__ == "__main__":`',
        file=sys.stderr,
    )
    raise SystemExit(MAIN_RERUN_EXIT_CODE)


def _worker_main(
    conn: Connection, make_env: Callable[[], gym.Env], seeds: list[int], batched_physics: bool
) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        envs = InProcessEnvs(make_env, seeds, batched_physics)
        conn.send(("ready", None))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(("error", traceback.format_exc()))
        return
    while True:
        command, payload = conn.recv()
        try:
            if command == "run":
                fn, args = payload
                conn.send(("ok", fn(envs, *args)))
            elif command == "reset":
                conn.send(("ok", envs.reset(payload)))
            elif command == "close":
                envs.close()
                conn.send(("ok", None))
                return
        except BaseException:  # noqa: BLE001
            conn.send(("error", traceback.format_exc()))


class WorkerProcessEnvs(EnvBatch):
    """The batch split over ``num_workers`` stepping processes, which run their shares in parallel.

    The trainer's own process is one of them: it runs the first share itself while
    ``num_workers − 1`` worker processes run the others, so ``num_workers`` processes keep
    ``num_workers`` cores busy (with 2 workers on 2 cores: the trainer and one worker process).
    The processes exchange messages once per :meth:`run_shares` call, never per step.

    ``make_env`` must be picklable (e.g. ``functools.partial(make_env, task)``): the worker
    processes are started with the ``spawn`` method, which is safe beside torch and inside Kedro's
    runners. Each of them first re-imports the main module, so a script that trains must do so
    under ``if __name__ == "__main__":``; a worker that started training again from there is
    reported as such.
    """

    same_step_reset = True

    def __init__(
        self,
        make_env: Callable[[], gym.Env],
        seeds: Sequence[int],
        num_workers: int,
        batched_physics: bool = True,
    ) -> None:
        _refuse_start_while_bootstrapping()
        seeds = [int(s) for s in seeds]
        self.num_envs = len(seeds)
        num_workers = max(1, min(int(num_workers), self.num_envs))
        self.num_processes = num_workers
        bounds = np.linspace(0, self.num_envs, num_workers + 1).round().astype(int)
        slices = [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]
        self._local_slice, self._slices = slices[0], slices[1:]
        context = mp.get_context("spawn")
        self._start_method = context.get_start_method()
        self._conns: list[Connection] = []
        self._procs: list[Any] = []
        for part in self._slices:
            parent, child = context.Pipe()
            proc = context.Process(
                target=_worker_main,
                args=(child, make_env, seeds[part], batched_physics),
                daemon=True,
            )
            proc.start()
            child.close()
            self._conns.append(parent)
            self._procs.append(proc)
        try:
            self._local = InProcessEnvs(make_env, seeds[self._local_slice], batched_physics)
        finally:
            self._gather("start")
        self.observation_space = self._local.observation_space
        self.action_space = self._local.action_space

    def _gather(self, what: str) -> list[Any]:
        results = []
        errors = []
        for k, conn in enumerate(self._conns):
            try:
                status, payload = conn.recv()
            except EOFError:
                errors.append(self._exit_message(k, what))
                results.append(None)
                continue
            if status == "error":
                errors.append(f"worker {k}:\n{payload}")
            results.append(payload)
        if errors:
            self.close()
            raise RuntimeError(f"environment workers failed during {what}:\n" + "\n".join(errors))
        return results

    def _exit_message(self, k: int, what: str) -> str:
        """Why worker ``k`` closed its pipe without answering: its exit code, and the likely cause
        where one can be told."""
        proc = self._procs[k]
        proc.join(timeout=5)  # it closed its end: it is exiting
        message = f"worker {k} exited (code {proc.exitcode})"
        main = _main_module_rerun_by_workers() if self._start_method != "fork" else None
        guard = '`if __name__ == "__main__":`'
        if proc.exitcode == MAIN_RERUN_EXIT_CODE:
            return (
                f"{message}: it re-ran the main module ({main or '__main__'}), whose top-level code "
                f"started training again (worker processes start with '{self._start_method}' and "
                f"re-import the main module); put the script's training code under {guard}"
            )
        if what == "start" and main is not None:
            return (
                f"{message} before it was ready (its error is on stderr); if this ran from a "
                f"script, put the training code under {guard} (worker processes start with "
                f"'{self._start_method}' and re-import the main module, {main})"
            )
        return f"{message} (its error, if any, is on stderr)"

    @property
    def shares(self) -> list[slice]:
        return [self._local_slice, *self._slices]

    def run_shares(self, fn: Callable[..., Any], args: Sequence[tuple]) -> list[Any]:
        local_args, *worker_args = args
        for conn, share_args in zip(self._conns, worker_args, strict=True):
            conn.send(("run", (fn, share_args)))
        try:
            local = fn(self._local, *local_args)
        finally:
            remote = self._gather("run")  # (every worker's answer is read, even after an error)
        return [local, *remote]

    def reset(self, seeds: Sequence[int] | None = None) -> np.ndarray:
        for conn, part in zip(self._conns, self._slices, strict=True):
            conn.send(("reset", None if seeds is None else [int(s) for s in seeds[part]]))
        local = self._local.reset(None if seeds is None else seeds[self._local_slice])
        return np.concatenate([local, *self._gather("reset")])

    def close(self) -> None:
        for conn, proc in zip(self._conns, self._procs, strict=True):
            if proc.is_alive():
                try:
                    conn.send(("close", None))
                    conn.recv()
                except (OSError, EOFError):
                    pass
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
            conn.close()
        self._conns, self._procs = [], []
        if getattr(self, "_local", None) is not None:
            self._local.close()
            self._local = None

    def __del__(self) -> None:
        if getattr(self, "_procs", None):
            self.close()


def make_env_batch(
    make_env: Callable[[], gym.Env],
    seeds: Sequence[int],
    backend: str = "auto",
    num_workers: int | None = None,
    batched_physics: bool = True,
) -> EnvBatch:
    """Build the batch of ``len(seeds)`` envs with the chosen backend.

    ``auto`` picks the env's native vectorised implementation when Gymnasium has one, worker
    processes for MuJoCo envs when ``num_workers`` (default: the CPU count) is above 1 and this
    process may start children, and in-process stepping otherwise. A daemonic process (a Dask
    worker by default) may not start children: there ``auto`` steps in-process and ``workers`` is
    refused. ``batched_physics``: let in-process shares use :mod:`gail_pipeline.rl.mujoco_batch`
    where it covers the env (the same results; False steps each env through its own ``step``).
    """
    daemonic = mp.current_process().daemon
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
    if num_workers is not None and num_workers < 1:
        raise ValueError(f"num_workers must be >= 1, got {num_workers}")
    if backend in ("auto", "native"):
        probe = make_env()
        spec = probe.spec
        is_mujoco = "mujoco" in type(probe.unwrapped).__module__
        probe.close()
        if NativeVectorEnvs.available(spec):
            return NativeVectorEnvs.from_spec(spec, len(seeds), int(seeds[0]))
        if backend == "native":
            raise ValueError(f"{spec.id if spec else make_env}: no vectorised implementation")
        workers = num_workers if num_workers is not None else (os.cpu_count() or 1)
        backend = "workers" if is_mujoco and workers > 1 and not daemonic else "inprocess"
    if backend == "workers":
        if daemonic:
            raise ValueError(
                "sampler backend 'workers': this is a daemonic process, which may not start "
                "worker processes (on Dask, start workers with distributed.worker.daemon: false, "
                "or use backend auto or inprocess)"
            )
        return WorkerProcessEnvs(make_env, seeds, num_workers or (os.cpu_count() or 1), batched_physics)
    return InProcessEnvs(make_env, seeds, batched_physics)
