"""Step a batch of Gymnasium MuJoCo envs with their per-step arithmetic done once for the batch.

A Gymnasium MuJoCo env's ``step`` costs the simulator's ``mj_step`` plus some 25–35 µs of Python
around it (wrappers, the action-shape check, building the observation, each reward term and the
info dict, one env at a time). Stepping 25–50 envs side by side, that Python is most of what is
not physics. A *batched stepper* keeps the simulation exactly as Gymnasium runs it (the same
``MjModel``/``MjData`` of each env, the same ``mj_step`` calls with the same controls) but reads
the state of all the stepped envs into arrays and computes their observations, rewards and
terminations in one numpy pass, with Gymnasium's formulas in Gymnasium's order of operations, so
the results are the same bits (``tests/rl/test_mujoco_batch.py`` checks this step by step, with
episode ends and resets, against the envs' own ``step``). Resets still go through each env's own
``reset``, so its random stream is untouched.

Covered: the -v5 (and any env of the same class, whatever its kwargs) Hopper, Walker2d and
HalfCheetah. A batched stepper is only used when every env of the batch is one of these classes
exactly (not a subclass, which may change ``step``), wrapped only by the wrappers
``gymnasium.make`` adds (time limit, order enforcing, passive checker, none of which changes what
``step`` returns), and not rendering. Any other env steps through its own ``step``.

``mj_rnePostConstraint``, which Gymnasium runs after each step to fill ``cfrc_ext`` and friends,
is skipped for these classes: nothing in their observation or reward reads those fields, and the
simulation never reads them back.
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv
from gymnasium.envs.mujoco.hopper_v5 import HopperEnv
from gymnasium.envs.mujoco.walker2d_v5 import Walker2dEnv
from gymnasium.wrappers import OrderEnforcing, PassiveEnvChecker, TimeLimit

__all__ = ["PlanarLocomotionStepper", "batched_stepper", "episode_limit"]

PASS_THROUGH_WRAPPERS = (TimeLimit, OrderEnforcing, PassiveEnvChecker)


def _wrappers(env: gym.Env) -> list[gym.Env]:
    chain = []
    while env is not env.unwrapped:
        chain.append(env)
        env = env.env
    return chain


def episode_limit(env: gym.Env) -> int | None:
    """The ``TimeLimit`` wrapper's episode limit, None without one."""
    for wrapper in _wrappers(env):
        if isinstance(wrapper, TimeLimit):
            return int(wrapper._max_episode_steps)
    return None


class PlanarLocomotionStepper:
    """Hopper, Walker2d and HalfCheetah (-v5 classes): forward velocity of ``qpos[0]``, a control
    cost, and (Hopper, Walker2d) a healthy bonus and termination when unhealthy."""

    classes = (HopperEnv, Walker2dEnv, HalfCheetahEnv)

    def __init__(self, envs: Sequence[gym.Env]) -> None:
        self.envs = [env.unwrapped for env in envs]
        first = self.envs[0]
        self.models = [env.model for env in self.envs]
        self.datas = [env.data for env in self.envs]
        self.frame_skip = int(first.frame_skip)
        self.dt = first.dt
        self.kind = type(first)
        self.nq, self.nv = first.model.nq, first.model.nv
        self.forward_weight = first._forward_reward_weight
        self.ctrl_cost_weight = first._ctrl_cost_weight
        self.exclude_x = bool(first._exclude_current_positions_from_observation)
        self.has_health = self.kind is not HalfCheetahEnv
        self.clip_velocity = self.has_health  # Hopper and Walker2d clip qvel to ±10 in the obs
        if self.has_health:
            self.healthy_reward = first._healthy_reward
            self.terminate_when_unhealthy = bool(first._terminate_when_unhealthy)
            self.z_range = first._healthy_z_range
            self.angle_range = first._healthy_angle_range
            self.state_range = first._healthy_state_range if self.kind is HopperEnv else None

    def settings(self, env: gym.Env) -> tuple:
        """What this stepper assumes of an env: equal for every env it steps."""
        env = env.unwrapped
        keys = [
            "frame_skip", "dt", "_forward_reward_weight", "_ctrl_cost_weight",
            "_exclude_current_positions_from_observation", "_healthy_reward",
            "_terminate_when_unhealthy", "_healthy_z_range", "_healthy_angle_range",
            "_healthy_state_range",
        ]
        return (type(env), env.model.nq, env.model.nv, env.model.nu,
                *(repr(getattr(env, k, None)) for k in keys))

    def step(self, rows: np.ndarray, actions: np.ndarray):
        """Step envs ``rows`` with ``actions`` (one row each, already within the action space)
        → observations (float64), rewards (float64), terminated (bool), one row per env."""
        k = len(rows)
        qpos = np.empty((k, self.nq))
        qvel = np.empty((k, self.nv))
        x_before = np.empty(k)
        frame_skip = self.frame_skip
        models, datas = self.models, self.datas
        for j, i in enumerate(rows.tolist()):
            data = datas[i]
            x_before[j] = data.qpos[0]
            data.ctrl[:] = actions[j]
            mujoco.mj_step(models[i], data, nstep=frame_skip)
            qpos[j] = data.qpos
            qvel[j] = data.qvel
        x_velocity = (qpos[:, 0] - x_before) / self.dt
        position = qpos[:, 1:] if self.exclude_x else qpos
        velocity = np.clip(qvel, -10, 10) if self.clip_velocity else qvel
        obs = np.concatenate((position, velocity), axis=1)
        forward_reward = self.forward_weight * x_velocity
        # (as Gymnasium: the float32 actions' squares summed in float32)
        ctrl_cost = self.ctrl_cost_weight * np.sum(np.square(actions), axis=1)
        if not self.has_health:
            return obs, forward_reward - ctrl_cost, np.zeros(k, dtype=bool)
        healthy = self._healthy(qpos, qvel)
        rewards = forward_reward + healthy * self.healthy_reward
        terminated = ~healthy if self.terminate_when_unhealthy else np.zeros(k, dtype=bool)
        return obs, rewards - ctrl_cost, terminated

    def _healthy(self, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
        z, angle = qpos[:, 1], qpos[:, 2]
        (min_z, max_z), (min_angle, max_angle) = self.z_range, self.angle_range
        healthy = (min_z < z) & (z < max_z) & (min_angle < angle) & (angle < max_angle)
        if self.state_range is not None:  # Hopper: every state entry from qpos[2] on in range
            min_state, max_state = self.state_range
            state = np.concatenate((qpos[:, 2:], qvel), axis=1)
            healthy &= np.all((min_state < state) & (state < max_state), axis=1)
        return healthy


STEPPERS = (PlanarLocomotionStepper,)


def batched_stepper(envs: Sequence[gym.Env]) -> PlanarLocomotionStepper | None:
    """A batched stepper for ``envs``, or None where their own ``step`` must run.

    None unless every env is exactly one covered class with the same settings, wrapped only by
    :data:`PASS_THROUGH_WRAPPERS`, and not rendering."""
    if not envs:
        return None
    for stepper_class in STEPPERS:
        if type(envs[0].unwrapped) in stepper_class.classes:
            break
    else:
        return None
    for env in envs:
        if env.unwrapped.render_mode is not None:
            return None
        if not all(type(w) in PASS_THROUGH_WRAPPERS for w in _wrappers(env)):
            return None
    stepper = stepper_class(envs)
    expected = stepper.settings(envs[0])
    if any(stepper.settings(env) != expected for env in envs[1:]):
        return None
    return stepper
