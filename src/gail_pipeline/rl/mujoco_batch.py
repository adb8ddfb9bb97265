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

Covered: the -v5 classes of Hopper, Walker2d, HalfCheetah, Reacher, Ant and Humanoid, whatever
their kwargs (each stepper reads the env's own settings). A batched stepper is only used when
every env of the batch is one of these classes exactly (not a subclass, which may change
``step``), wrapped only by the wrappers ``gymnasium.make`` adds (time limit, order enforcing,
passive checker, none of which changes what ``step`` returns), and not rendering. Any other env
steps through its own ``step``.

``mj_rnePostConstraint``, which Gymnasium runs after each step to fill ``cfrc_ext`` and friends,
runs only for Ant and Humanoid, whose observations and contact costs read them; for the others
nothing reads those fields, and the simulation never reads them back.

The sampler benchmark (``benchmarks/sampler_throughput.py``) measures the sampler with and
without it, beside bare ``env.step`` and the simulator alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium.envs.mujoco.ant_v5 import AntEnv
from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv
from gymnasium.envs.mujoco.hopper_v5 import HopperEnv
from gymnasium.envs.mujoco.humanoid_v5 import HumanoidEnv, mass_center
from gymnasium.envs.mujoco.reacher_v5 import ReacherEnv
from gymnasium.envs.mujoco.walker2d_v5 import Walker2dEnv
from gymnasium.wrappers import OrderEnforcing, PassiveEnvChecker, TimeLimit

__all__ = [
    "AntStepper",
    "BatchedStepper",
    "HumanoidStepper",
    "LocomotionStepper",
    "PlanarLocomotionStepper",
    "ReacherStepper",
    "batched_stepper",
    "episode_limit",
]

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


class BatchedStepper:
    """Common ground: the envs' unwrapped objects, models, datas and the settings they share."""

    classes: tuple[type, ...] = ()
    setting_names: tuple[str, ...] = ()
    """Attributes of the unwrapped env the stepper's arithmetic reads: equal across its envs."""

    def __init__(self, envs: Sequence[gym.Env]) -> None:
        self.envs = [env.unwrapped for env in envs]
        first = self.envs[0]
        self.models = [env.model for env in self.envs]
        self.datas = [env.data for env in self.envs]
        self.frame_skip = int(first.frame_skip)
        self.dt = first.dt
        self.nq, self.nv = first.model.nq, first.model.nv

    def settings(self, env: gym.Env) -> tuple:
        """What this stepper assumes of an env: equal for every env it steps."""
        env = env.unwrapped
        model = env.model
        return (
            type(env),
            model.nq,
            model.nv,
            model.nu,
            model.nbody,
            env.frame_skip,
            env.dt,
            *(repr(getattr(env, name, None)) for name in self.setting_names),
        )

    def step(self, rows: np.ndarray, actions: np.ndarray):
        """Step envs ``rows`` with ``actions`` (one row each, already within the action space)
        → observations (float64), rewards (float64), terminated (bool), one row per env."""
        raise NotImplementedError


class LocomotionStepper(BatchedStepper):
    """The settings Hopper, Walker2d, HalfCheetah, Ant and Humanoid share: forward-reward and
    control-cost weights, whether the obs leaves out the root's position, and (all but
    HalfCheetah) the healthy bonus, termination when unhealthy and the healthy height range."""

    setting_names = (
        "_forward_reward_weight",
        "_ctrl_cost_weight",
        "_exclude_current_positions_from_observation",
        "_healthy_reward",
        "_terminate_when_unhealthy",
        "_healthy_z_range",
    )

    def __init__(self, envs: Sequence[gym.Env]) -> None:
        super().__init__(envs)
        first = self.envs[0]
        self.forward_weight = first._forward_reward_weight
        self.ctrl_cost_weight = first._ctrl_cost_weight
        self.exclude_positions = bool(first._exclude_current_positions_from_observation)
        self.has_health = hasattr(first, "_healthy_reward")
        if self.has_health:
            self.healthy_reward = first._healthy_reward
            self.terminate_when_unhealthy = bool(first._terminate_when_unhealthy)
            self.z_range = first._healthy_z_range


class PlanarLocomotionStepper(LocomotionStepper):
    """Hopper, Walker2d and HalfCheetah (-v5 classes): forward velocity of ``qpos[0]``, a control
    cost, and (Hopper, Walker2d) a healthy bonus and termination when unhealthy."""

    classes = (HopperEnv, Walker2dEnv, HalfCheetahEnv)
    setting_names = (*LocomotionStepper.setting_names, "_healthy_angle_range", "_healthy_state_range")

    def __init__(self, envs: Sequence[gym.Env]) -> None:
        super().__init__(envs)
        first = self.envs[0]
        self.clip_velocity = self.has_health  # Hopper and Walker2d clip qvel to ±10 in the obs
        if self.has_health:
            self.angle_range = first._healthy_angle_range
            self.state_range = first._healthy_state_range if type(first) is HopperEnv else None

    def step(self, rows: np.ndarray, actions: np.ndarray):
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
        position = qpos[:, 1:] if self.exclude_positions else qpos
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


class ReacherStepper(BatchedStepper):
    """Reacher (-v5 class): distance of the fingertip to the target, and a control cost."""

    classes = (ReacherEnv,)
    setting_names = ("_reward_dist_weight", "_reward_control_weight")

    def __init__(self, envs: Sequence[gym.Env]) -> None:
        super().__init__(envs)
        first = self.envs[0]
        self.fingertip = first.data.body("fingertip").id
        self.target = first.data.body("target").id
        self.dist_weight = first._reward_dist_weight
        self.control_weight = first._reward_control_weight

    def step(self, rows: np.ndarray, actions: np.ndarray):
        k = len(rows)
        qpos = np.empty((k, self.nq))
        qvel = np.empty((k, self.nv))
        fingertip = np.empty((k, 3))
        target = np.empty((k, 3))
        frame_skip, fingertip_id, target_id = self.frame_skip, self.fingertip, self.target
        models, datas = self.models, self.datas
        for j, i in enumerate(rows.tolist()):
            data = datas[i]
            data.ctrl[:] = actions[j]
            mujoco.mj_step(models[i], data, nstep=frame_skip)
            qpos[j] = data.qpos
            qvel[j] = data.qvel
            xpos = data.xpos
            fingertip[j] = xpos[fingertip_id]
            target[j] = xpos[target_id]
        vec = fingertip - target
        theta = qpos[:, :2]
        obs = np.concatenate((np.cos(theta), np.sin(theta), qpos[:, 2:], qvel[:, :2], vec[:, :2]), axis=1)
        reward_dist = -_row_norms(vec) * self.dist_weight
        reward_ctrl = -np.square(actions).sum(axis=1) * self.control_weight
        return obs, reward_dist + reward_ctrl, np.zeros(k, dtype=bool)


class AntStepper(LocomotionStepper):
    """Ant (-v5 class): forward velocity of the main body, healthy bonus, control and contact
    costs; the contact forces (``cfrc_ext``, so ``mj_rnePostConstraint`` runs) in the obs."""

    classes = (AntEnv,)
    setting_names = (
        *LocomotionStepper.setting_names,
        "_contact_cost_weight",
        "_contact_force_range",
        "_main_body",
        "_include_cfrc_ext_in_observation",
    )

    def __init__(self, envs: Sequence[gym.Env]) -> None:
        super().__init__(envs)
        first = self.envs[0]
        self.main_body = first.data.body(first._main_body).id
        self.nbody = first.model.nbody
        self.contact_cost_weight = first._contact_cost_weight
        self.force_range = first._contact_force_range
        self.include_forces = bool(first._include_cfrc_ext_in_observation)

    def step(self, rows: np.ndarray, actions: np.ndarray):
        k = len(rows)
        qpos = np.empty((k, self.nq))
        qvel = np.empty((k, self.nv))
        forces = np.empty((k, self.nbody, 6))
        xy_before = np.empty((k, 2))
        xy_after = np.empty((k, 2))
        frame_skip, main_body = self.frame_skip, self.main_body
        models, datas = self.models, self.datas
        for j, i in enumerate(rows.tolist()):
            data, model = datas[i], models[i]
            xy_before[j] = data.xpos[main_body, :2]
            data.ctrl[:] = actions[j]
            mujoco.mj_step(model, data, nstep=frame_skip)
            mujoco.mj_rnePostConstraint(model, data)
            xy_after[j] = data.xpos[main_body, :2]
            qpos[j] = data.qpos
            qvel[j] = data.qvel
            forces[j] = data.cfrc_ext
        x_velocity = ((xy_after - xy_before) / self.dt)[:, 0]
        contact_forces = np.clip(forces, *self.force_range)
        position = qpos[:, 2:] if self.exclude_positions else qpos
        parts = [position, qvel]
        if self.include_forces:
            parts.append(contact_forces[:, 1:].reshape(k, -1))
        obs = np.concatenate(parts, axis=1)
        state = np.concatenate((qpos, qvel), axis=1)
        min_z, max_z = self.z_range
        healthy = np.isfinite(state).all(axis=1) & (min_z <= qpos[:, 2]) & (qpos[:, 2] <= max_z)
        forward_reward = x_velocity * self.forward_weight
        rewards = forward_reward + healthy * self.healthy_reward
        ctrl_cost = self.ctrl_cost_weight * np.sum(np.square(actions), axis=1)
        contact_cost = self.contact_cost_weight * np.sum(np.square(contact_forces).reshape(k, -1), axis=1)
        terminated = ~healthy if self.terminate_when_unhealthy else np.zeros(k, dtype=bool)
        return obs, rewards - (ctrl_cost + contact_cost), terminated


class HumanoidStepper(LocomotionStepper):
    """Humanoid (-v5 class): forward velocity of the centre of mass, healthy bonus, control and
    contact costs; inertias, body velocities, actuator and contact forces in the obs."""

    classes = (HumanoidEnv,)
    setting_names = (
        *LocomotionStepper.setting_names,
        "_contact_cost_weight",
        "_contact_cost_range",
        "_include_cinert_in_observation",
        "_include_cvel_in_observation",
        "_include_qfrc_actuator_in_observation",
        "_include_cfrc_ext_in_observation",
    )

    def __init__(self, envs: Sequence[gym.Env]) -> None:
        super().__init__(envs)
        first = self.envs[0]
        self.nbody, self.nu = first.model.nbody, first.model.nu
        self.contact_cost_weight = first._contact_cost_weight
        self.contact_cost_range = first._contact_cost_range
        self.include = (
            bool(first._include_cinert_in_observation),
            bool(first._include_cvel_in_observation),
            bool(first._include_qfrc_actuator_in_observation),
            bool(first._include_cfrc_ext_in_observation),
        )

    def step(self, rows: np.ndarray, actions: np.ndarray):
        k, nbody = len(rows), self.nbody
        qpos = np.empty((k, self.nq))
        qvel = np.empty((k, self.nv))
        ctrl = np.empty((k, self.nu))
        cinert = np.empty((k, nbody, 10))
        cvel = np.empty((k, nbody, 6))
        actuator_forces = np.empty((k, self.nv))
        contact_forces = np.empty((k, nbody, 6))
        xy_before = np.empty((k, 2))
        xy_after = np.empty((k, 2))
        frame_skip = self.frame_skip
        models, datas = self.models, self.datas
        for j, i in enumerate(rows.tolist()):
            data, model = datas[i], models[i]
            xy_before[j] = mass_center(model, data)
            data.ctrl[:] = actions[j]
            mujoco.mj_step(model, data, nstep=frame_skip)
            mujoco.mj_rnePostConstraint(model, data)
            xy_after[j] = mass_center(model, data)
            qpos[j] = data.qpos
            qvel[j] = data.qvel
            ctrl[j] = data.ctrl
            cinert[j] = data.cinert
            cvel[j] = data.cvel
            actuator_forces[j] = data.qfrc_actuator
            contact_forces[j] = data.cfrc_ext
        x_velocity = ((xy_after - xy_before) / self.dt)[:, 0]
        parts = [qpos[:, 2:] if self.exclude_positions else qpos, qvel]
        for include, part in zip(
            self.include,
            (cinert[:, 1:], cvel[:, 1:], actuator_forces[:, 6:], contact_forces[:, 1:]),
            strict=True,
        ):
            if include:
                parts.append(part.reshape(k, -1))
        obs = np.concatenate(parts, axis=1)
        min_z, max_z = self.z_range
        healthy = (min_z < qpos[:, 2]) & (qpos[:, 2] < max_z)
        rewards = self.forward_weight * x_velocity + healthy * self.healthy_reward
        ctrl_cost = self.ctrl_cost_weight * np.sum(np.square(ctrl), axis=1)  # (data.ctrl, float64)
        contact_cost = np.clip(
            self.contact_cost_weight * np.sum(np.square(contact_forces).reshape(k, -1), axis=1),
            *self.contact_cost_range,
        )
        terminated = ~healthy if self.terminate_when_unhealthy else np.zeros(k, dtype=bool)
        return obs, rewards - (ctrl_cost + contact_cost), terminated


def _row_norms(vectors: np.ndarray) -> np.ndarray:
    """``np.linalg.norm`` of each row, computed as it computes one vector's (sqrt of x · x)."""
    return np.sqrt(np.array([row.dot(row) for row in vectors]))


STEPPERS = (PlanarLocomotionStepper, ReacherStepper, AntStepper, HumanoidStepper)


def batched_stepper(envs: Sequence[gym.Env]) -> BatchedStepper | None:
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
