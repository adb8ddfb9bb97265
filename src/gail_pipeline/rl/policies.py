"""Stochastic MLP policies and the value function, with their observation standardisers inside.

A policy maps observations to a distribution's parameters (``dist_params``); the functions of the
distribution — log-likelihood, KL, entropy — take those parameters, so TRPO can hold the
old parameters fixed while it moves the network.

* :class:`GaussianPolicy` — Box actions: mean from the MLP, state-independent log-std (init 0).
* :class:`CategoricalPolicy` — Discrete actions: softmax over one logit per action.

Both zero-initialise their output layer (the paper's choice: the first policy is "mean 0 /
uniform"). A policy saved with :func:`save_policy` is one ``torch.save`` file with its weights,
its normaliser and the metadata needed to rebuild it — :func:`load_policy` needs no Kedro.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from gail_pipeline.rl.normalizer import RunningNormalizer

__all__ = [
    "CHUNK_ROWS",
    "MLP",
    "CategoricalPolicy",
    "GaussianPolicy",
    "Policy",
    "PolicySnapshot",
    "RandomPolicy",
    "Tanh",
    "ValueFunction",
    "in_row_chunks",
    "load_policy",
    "make_policy",
    "mlp",
    "save_policy",
]


def tanh(x: torch.Tensor) -> torch.Tensor:
    """tanh(x) = 2σ(2x) − 1, without autograd: on the CPU through torch's sigmoid kernel, several
    times faster than its tanh kernel (within 2·10⁻⁷ of it in float32); on a GPU, tanh itself."""
    if x.device.type != "cpu":
        return torch.tanh(x)
    return torch.sigmoid(2 * x).mul_(2).sub_(1)


class _TanhFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        y = tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        # Written with differentiable ops on the saved output, so double backward works too.
        (y,) = ctx.saved_tensors
        return torch.ops.aten.tanh_backward(grad, y)


class Tanh(nn.Module):
    """The tanh activation of every network here: ``nn.Tanh`` computed by :func:`tanh`.

    On the 2-core development machine (AMD EPYC, torch 2.13) torch's CPU tanh took 13 ms per
    50,000 × 100 activation, its sigmoid 2 ms: more than the layer's matrix product. Gradients
    (of any order) are those of tanh, from the output: 1 − y².
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _TanhFunction.apply(x)


_ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": Tanh, "relu": nn.ReLU}
POLICY_FILE_FORMAT = "gail_pipeline.policy/1"


CHUNK_ROWS = 4096
"""Rows per chunk of :func:`in_row_chunks` (and of :class:`MLP`)."""


def in_row_chunks(
    fn: Callable[..., torch.Tensor], *tensors: torch.Tensor, rows: int | None = None
) -> torch.Tensor:
    """``fn(*tensors)`` computed ``rows`` rows at a time (default :data:`CHUNK_ROWS`) and
    concatenated, for CPU batches of at least twice that many rows; otherwise in one call.

    A 50,000 × 100 float32 activation (20 MB; Humanoid's 50,000 × 365 discriminator inputs: 73 MB)
    does not stay in a core's cache from one operation to the next, and one over 32 MB comes from
    fresh pages each time; so whole-batch networks stream every intermediate through memory. In
    chunks of 4,096 rows they do not (measured, 2 cores: a 17-100-100-6 forward pass on 50,000
    rows 34 → 17 ms, forward and backward 80 → 50 ms; Humanoid's discriminator forward pass on
    50,000 rows 147 ms whole, of which 121 ms clamping its standardised inputs). Autograd, double
    backward included, sees the same function (the row-wise ``fn`` of each chunk, concatenated);
    only the order of float additions in parameter gradients differs.
    """
    rows = CHUNK_ROWS if rows is None else rows
    first = tensors[0]
    if first.dim() < 2 or first.shape[0] < 2 * rows or first.device.type != "cpu":
        return fn(*tensors)
    return torch.cat([fn(*part) for part in zip(*(torch.split(t, rows) for t in tensors))])


class MLP(nn.Sequential):
    """Linear layers with an activation between them, applied to a batch :func:`in_row_chunks`."""

    chunk_rows: int | None = None  # None: CHUNK_ROWS

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return in_row_chunks(super().forward, x, rows=self.chunk_rows)


def mlp(sizes: Sequence[int], activation: str = "tanh", zero_last: bool = False) -> MLP:
    """A fully connected network ``sizes[0] → … → sizes[-1]``, activation between hidden layers."""
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(_ACTIVATIONS[activation]())
    if zero_last:
        last = layers[-1]
        assert isinstance(last, nn.Linear)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
    return MLP(*layers)


class Policy(nn.Module):
    """Base class: observation standardiser → MLP → distribution parameters."""

    discrete: bool

    def __init__(self, obs_dim: int, out_dim: int, hidden_sizes: Sequence[int], activation: str) -> None:
        super().__init__()
        self.obs_dim = obs_dim
        self.hidden_sizes = tuple(int(h) for h in hidden_sizes)
        self.activation = activation
        self.obs_normalizer = RunningNormalizer(obs_dim)
        self.net = mlp([obs_dim, *self.hidden_sizes, out_dim], activation, zero_last=True)
        self.metadata: dict[str, Any] = {}

    # -- distribution interface (implemented by subclasses) -------------------------------
    def dist_params(self, obs: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def log_prob(self, params: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def kl(self, old_params: torch.Tensor, new_params: torch.Tensor) -> torch.Tensor:
        """Per-sample KL(old ‖ new)."""
        raise NotImplementedError

    def entropy(self, params: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def constructor_args(self) -> dict[str, Any]:
        raise NotImplementedError

    # -- acting ------------------------------------------------------------------------------
    def snapshot(self) -> PolicySnapshot:
        """The current policy as numpy arrays, to act with while the weights stay fixed."""
        return PolicySnapshot(self)

    def act(
        self,
        obs: np.ndarray,
        deterministic: bool = False,
        rng: np.random.Generator | None = None,
    ) -> np.ndarray:
        """Actions for a batch of observations ``(n, obs_dim)`` as a numpy array."""
        return self.snapshot().act(obs, deterministic, rng)


class GaussianPolicy(Policy):
    """Diagonal Gaussian with state-independent log standard deviation."""

    discrete = False

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        hidden_sizes: Sequence[int] = (100, 100),
        activation: str = "tanh",
        log_std_init: float = 0.0,
    ) -> None:
        super().__init__(obs_dim, action_dim, hidden_sizes, activation)
        self.action_dim = action_dim
        self.log_std = nn.Parameter(torch.full((action_dim,), float(log_std_init)))

    def dist_params(self, obs: torch.Tensor) -> torch.Tensor:
        """``(n, 2·action_dim)``: the mean, then the log-std broadcast to every row."""
        mean = in_row_chunks(lambda o: self.net(self.obs_normalizer(o)), obs)
        return torch.cat([mean, self.log_std.expand_as(mean)], dim=-1)

    def _split(self, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return params[..., : self.action_dim], params[..., self.action_dim :]

    def log_prob(self, params: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        mean, log_std = self._split(params)
        z = (actions - mean) / torch.exp(log_std)
        return (-0.5 * z.pow(2) - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)

    def kl(self, old_params: torch.Tensor, new_params: torch.Tensor) -> torch.Tensor:
        # KL(N(μ0, σ0²) ‖ N(μ1, σ1²)) = log σ1/σ0 + (σ0² + (μ0 − μ1)²) / (2σ1²) − 1/2, per dimension.
        mu0, ls0 = self._split(old_params)
        mu1, ls1 = self._split(new_params)
        var0, var1 = torch.exp(2 * ls0), torch.exp(2 * ls1)
        return (ls1 - ls0 + (var0 + (mu0 - mu1).pow(2)) / (2 * var1) - 0.5).sum(-1)

    def entropy(self, params: torch.Tensor) -> torch.Tensor:
        _, log_std = self._split(params)
        return (log_std + 0.5 * math.log(2 * math.pi * math.e)).sum(-1)

    def constructor_args(self) -> dict[str, Any]:
        return {
            "obs_dim": self.obs_dim,
            "action_dim": self.action_dim,
            "hidden_sizes": list(self.hidden_sizes),
            "activation": self.activation,
        }


class CategoricalPolicy(Policy):
    """Softmax policy over ``num_actions`` discrete actions."""

    discrete = True

    def __init__(
        self,
        obs_dim: int,
        num_actions: int,
        hidden_sizes: Sequence[int] = (100, 100),
        activation: str = "tanh",
    ) -> None:
        super().__init__(obs_dim, num_actions, hidden_sizes, activation)
        self.num_actions = num_actions

    def dist_params(self, obs: torch.Tensor) -> torch.Tensor:
        """``(n, num_actions)`` normalised log-probabilities."""
        return in_row_chunks(lambda o: torch.log_softmax(self.net(self.obs_normalizer(o)), dim=-1), obs)

    def log_prob(self, params: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return params.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)

    def kl(self, old_params: torch.Tensor, new_params: torch.Tensor) -> torch.Tensor:
        return (torch.exp(old_params) * (old_params - new_params)).sum(-1)

    def entropy(self, params: torch.Tensor) -> torch.Tensor:
        return -(torch.exp(params) * params).sum(-1)

    def constructor_args(self) -> dict[str, Any]:
        return {
            "obs_dim": self.obs_dim,
            "num_actions": self.num_actions,
            "hidden_sizes": list(self.hidden_sizes),
            "activation": self.activation,
        }


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


_NUMPY_ACTIVATIONS = {"tanh": np.tanh, "relu": _relu}


class PolicySnapshot:
    """A policy's forward pass and action sampling in numpy, weights frozen at creation.

    The sampler acts through a snapshot taken once per batch: per step it costs a few numpy calls
    (normalise, one product per layer, sample) rather than torch's per-call overhead, which would
    otherwise dominate on cheap environments. Stochastic actions draw from the numpy generator
    given: Gaussian noise for Box actions, Gumbel-max sampling of the softmax for Discrete ones.
    """

    def __init__(self, policy: Policy) -> None:
        self.discrete = policy.discrete
        normalizer = policy.obs_normalizer
        self._mean = normalizer.mean.detach().cpu().numpy().astype(np.float32)
        self._inv_std = (1.0 / np.sqrt(normalizer.var.detach().cpu().numpy() + normalizer.eps)).astype(
            np.float32
        )
        self._clip = float(normalizer.clip)
        linears = [m for m in policy.net if isinstance(m, nn.Linear)]
        self._layers = [
            (m.weight.detach().cpu().numpy().T.copy(), m.bias.detach().cpu().numpy().copy()) for m in linears
        ]
        self._activation = _NUMPY_ACTIVATIONS[policy.activation]  # (picklable: sent to workers)
        if not self.discrete:
            self._std = np.exp(policy.log_std.detach().cpu().numpy()).astype(np.float32)

    def _output(self, obs: np.ndarray) -> np.ndarray:
        x = np.clip((np.asarray(obs, dtype=np.float32) - self._mean) * self._inv_std, -self._clip, self._clip)
        for weight, bias in self._layers[:-1]:
            x = self._activation(x @ weight + bias)
        weight, bias = self._layers[-1]
        return x @ weight + bias

    def act(
        self, obs: np.ndarray, deterministic: bool = False, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        out = self._output(obs)
        if self.discrete:
            if not deterministic:
                rng = rng if rng is not None else np.random.default_rng()
                out = out + rng.gumbel(size=out.shape).astype(np.float32)
            return out.argmax(-1).astype(np.int64)
        if deterministic:
            return out
        rng = rng if rng is not None else np.random.default_rng()
        return out + rng.standard_normal(out.shape, dtype=np.float32) * self._std


class RandomPolicy:
    """Uniformly random actions from the action space (the paper's "random" reference)."""

    discrete: bool

    def __init__(self, action_space: gym.Space, seed: int) -> None:
        self.action_space = action_space
        self.action_space.seed(seed)
        self.discrete = isinstance(action_space, gym.spaces.Discrete)

    def act(
        self, obs: np.ndarray, deterministic: bool = False, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """One uniform action per row, drawn from ``rng`` when given (the sampler's per-step
        stream, so that every env's actions are the same however the envs are split over
        processes), else from the action space's own generator."""
        space = self.action_space
        if self.discrete and rng is not None:
            return space.start + rng.integers(space.n, size=len(obs), dtype=np.int64)
        if rng is None or not space.is_bounded("both"):  # (unbounded: Gymnasium's own law)
            return np.stack([space.sample() for _ in range(len(obs))])
        return rng.uniform(space.low, space.high, size=(len(obs), *space.shape)).astype(space.dtype)


def make_policy(
    observation_space: gym.Space,
    action_space: gym.Space,
    hidden_sizes: Sequence[int] = (100, 100),
    activation: str = "tanh",
    log_std_init: float = 0.0,
) -> Policy:
    """The policy class that fits the spaces: Gaussian for Box actions (state-independent log σ,
    starting at ``log_std_init``), softmax for Discrete."""
    if not isinstance(observation_space, gym.spaces.Box) or len(observation_space.shape) != 1:
        raise ValueError(f"observations must be a flat Box, got {observation_space}")
    obs_dim = int(observation_space.shape[0])
    if isinstance(action_space, gym.spaces.Discrete):
        return CategoricalPolicy(obs_dim, int(action_space.n), hidden_sizes, activation)
    if isinstance(action_space, gym.spaces.Box) and len(action_space.shape) == 1:
        return GaussianPolicy(obs_dim, int(action_space.shape[0]), hidden_sizes, activation, log_std_init)
    raise ValueError(f"actions must be Discrete or a flat Box, got {action_space}")


class ValueFunction(nn.Module):
    """V(s, t): MLP on the standardised observation and the time fraction ``t / T_max``.

    The network predicts *normalised* returns; ``target_mean`` and ``target_std`` map them back.
    When a fit changes that normalisation, :meth:`set_target_stats` rescales the output layer so the
    predictions are unchanged (the "preserve outputs" step of Pop-Art, van Hasselt et al. 2016).
    """

    def __init__(
        self,
        obs_dim: int,
        hidden_sizes: Sequence[int] = (100, 100),
        activation: str = "tanh",
        max_episode_steps: int = 1000,
    ) -> None:
        super().__init__()
        self.obs_dim = obs_dim
        self.max_episode_steps = max(int(max_episode_steps), 1)
        self.obs_normalizer = RunningNormalizer(obs_dim)
        self.net = mlp([obs_dim + 1, *hidden_sizes, 1], activation, zero_last=True)
        self.register_buffer("target_mean", torch.zeros(()))
        self.register_buffer("target_std", torch.ones(()))

    def features(self, obs: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        time_fraction = timesteps.to(obs.dtype).unsqueeze(-1) / self.max_episode_steps
        return torch.cat([self.obs_normalizer(obs), time_fraction], dim=-1)

    def normalized(self, obs: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        return in_row_chunks(lambda o, t: self.net(self.features(o, t)).squeeze(-1), obs, timesteps)

    def forward(self, obs: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        return self.normalized(obs, timesteps) * self.target_std + self.target_mean

    @torch.no_grad()
    def set_target_stats(self, mean: float, std: float) -> None:
        last = self.net[-1]
        assert isinstance(last, nn.Linear)
        old_mean, old_std = float(self.target_mean), float(self.target_std)
        std = max(float(std), 1e-6)
        last.weight.mul_(old_std / std)
        last.bias.mul_(old_std).add_(old_mean - mean).div_(std)
        self.target_mean.fill_(mean)
        self.target_std.fill_(std)


def save_policy(
    policy: Policy, path: str | Path | BinaryIO, metadata: Mapping[str, Any] | None = None
) -> None:
    """Write a policy (weights, normaliser, constructor arguments, metadata) to one file."""
    payload = {
        "format": POLICY_FILE_FORMAT,
        "class": type(policy).__name__,
        "args": policy.constructor_args(),
        "state_dict": {k: v.detach().cpu() for k, v in policy.state_dict().items()},
        "metadata": dict(metadata if metadata is not None else policy.metadata),
    }
    torch.save(payload, path)


def load_policy(path: str | Path | BinaryIO, name: str | None = None) -> Policy:
    """Rebuild a policy written by :func:`save_policy` (a path or an open binary file; ``name``
    names it in errors); its ``metadata`` is restored too."""
    if name is None:
        name = str(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{name}: not a readable policy file ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != POLICY_FILE_FORMAT:
        raise ValueError(f"{name}: not a policy file of format {POLICY_FILE_FORMAT!r}")
    classes = {"GaussianPolicy": GaussianPolicy, "CategoricalPolicy": CategoricalPolicy}
    cls = classes.get(payload["class"])
    if cls is None:
        raise ValueError(f"{name}: unknown policy class {payload['class']!r}")
    policy = cls(**payload["args"])
    policy.load_state_dict(payload["state_dict"])
    policy.metadata = dict(payload.get("metadata", {}))
    return policy
