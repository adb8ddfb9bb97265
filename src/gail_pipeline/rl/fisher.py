"""Fisher-vector products in closed form, for TRPO's conjugate gradient.

TRPO's Fisher matrix is the Hessian of the mean KL(π_old ‖ π_θ) at θ_old. For a network whose
output o(s) parametrises the distribution, that Hessian is exactly the Gauss–Newton matrix

    F = (1/n) Σ_s J(s)ᵀ M(s) J(s),      J = ∂o/∂θ,  M = ∂²KL/∂o² at o_old

(the KL's gradient in o is zero at o_old, so the second-order term of the chain rule vanishes).
``F v`` is then one Jacobian-vector product forward through the network, a multiplication by M,
and one vector-Jacobian product back: a few matrix products on activations cached once per
TRPO step, where differentiating ∇KL·v a second time with autograd costs about twice as much
(measured on 5,000 rows of a 17-100-100-6 Gaussian policy, 2 cores: ~5 ms against ~10 ms per
product). The curvatures M:

* Gaussian policy, mean μ and state-independent log σ: M = diag(1/σ²) on μ; the log σ block of F
  is 2·I and its cross terms with the network are zero.
* Softmax policy on logits z with probabilities p: M = diag(p) − p pᵀ.
* Value function (its trust region is the KL of unit-variance Gaussians on the normalised
  predictions, ½ (V − V_old)²): M = 1.

The networks must be :func:`~gail_pipeline.rl.policies.mlp` stacks (Linear layers with tanh or
ReLU between them); for anything else the functions here return None and TRPO falls back to
autograd (``trpo.fvp_method: autograd`` asks for that path everywhere).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from gail_pipeline.rl.policies import (
    CategoricalPolicy,
    GaussianPolicy,
    Policy,
    Tanh,
    ValueFunction,
    tanh,
)

__all__ = ["MLPLinearization", "policy_fisher_product", "value_fisher_product"]

FisherProduct = Callable[[torch.Tensor], torch.Tensor]


class MLPLinearization:
    """An MLP linearised at fixed inputs: its Jacobian J = ∂output/∂parameters applied to vectors.

    One forward pass caches each Linear layer's input and each activation's derivative; then
    :meth:`jvp` maps a flat parameter tangent (in ``net.parameters()`` order) to the outputs'
    tangent ``J v`` and :meth:`vjp` maps output cotangents to the flat ``Jᵀ u``.
    """

    def __init__(self, net: nn.Sequential, inputs: torch.Tensor) -> None:
        if not self.supports(net):
            raise TypeError(f"not an MLP of Linear and tanh / ReLU layers: {net}")
        linears = [m for m in net if isinstance(m, nn.Linear)]
        # Detached: products with these weights build no autograd graph.
        self._weights = [m.weight.detach() for m in linears]
        self._layer_inputs: list[torch.Tensor] = []
        self._derivatives: list[torch.Tensor] = []  # of each activation, at its input
        x = inputs.detach()
        with torch.no_grad():
            for module in net:
                if isinstance(module, nn.Linear):
                    self._layer_inputs.append(x)
                    x = torch.addmm(module.bias, x, module.weight.t())
                elif isinstance(module, (nn.Tanh, Tanh)):
                    x = tanh(x)
                    self._derivatives.append(1 - x * x)
                else:  # ReLU
                    self._derivatives.append((x > 0).to(x.dtype))
                    x = torch.relu(x)
        self.output = x

    @staticmethod
    def supports(net: nn.Module) -> bool:
        """Whether ``net`` is Linear layers with tanh / ReLU between them (what ``mlp`` builds)."""
        if not isinstance(net, nn.Sequential) or len(net) == 0:
            return False
        modules = list(net)
        linear_at = [isinstance(m, nn.Linear) for m in modules]
        alternate = all(linear_at[i] == (i % 2 == 0) for i in range(len(modules)))
        activations_known = all(isinstance(m, (nn.Tanh, Tanh, nn.ReLU)) for m in modules[1::2])
        return alternate and linear_at[-1] and activations_known

    def jvp(self, tangent: torch.Tensor) -> torch.Tensor:
        """``J v`` for a flat parameter tangent ``v``: shape (n, out). (No autograd graph: the
        tangent should not require grad.)"""
        offset = 0
        dx: torch.Tensor | None = None
        for i, weight in enumerate(self._weights):
            w_size, b_size = weight.numel(), weight.shape[0]
            d_weight = tangent[offset : offset + w_size].view_as(weight)
            d_bias = tangent[offset + w_size : offset + w_size + b_size]
            offset += w_size + b_size
            y = torch.addmm(d_bias, self._layer_inputs[i], d_weight.t())
            if dx is not None:
                y.addmm_(dx, weight.t())
            if i < len(self._derivatives):
                y.mul_(self._derivatives[i])
            dx = y
        assert dx is not None
        return dx

    def vjp(self, cotangent: torch.Tensor) -> torch.Tensor:
        """``Jᵀ u`` for output cotangents ``u`` of shape (n, out): a flat parameter vector."""
        pieces: list[torch.Tensor] = []
        g = cotangent
        for i in range(len(self._weights) - 1, -1, -1):
            pieces.append(g.sum(0))
            pieces.append((g.t() @ self._layer_inputs[i]).reshape(-1))
            if i > 0:
                g = (g @ self._weights[i]).mul_(self._derivatives[i - 1])
        return torch.cat(pieces[::-1])


def _trainable(module: nn.Module) -> list[nn.Parameter]:
    return [p for p in module.parameters() if p.requires_grad]


def _same(a: list[nn.Parameter], b: list[nn.Parameter]) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


def policy_fisher_product(policy: Policy, observations: torch.Tensor) -> FisherProduct | None:
    """v ↦ F v for the mean KL(π_θ_now ‖ π_θ) over ``observations``, F the Fisher matrix at the
    policy's current parameters; v is flat in the order of the policy's trainable parameters.
    None when the closed form does not apply (not an MLP, or some parameters frozen)."""
    net = policy.net
    if isinstance(policy, GaussianPolicy):
        expected = [policy.log_std, *net.parameters()]
    elif isinstance(policy, CategoricalPolicy):
        expected = list(net.parameters())
    else:
        return None
    if not MLPLinearization.supports(net) or not _same(_trainable(policy), expected):
        return None
    n = len(observations)
    lin = MLPLinearization(net, policy.obs_normalizer(observations))
    if isinstance(policy, GaussianPolicy):
        k = policy.action_dim
        inv_var_over_n = torch.exp(-2 * policy.log_std.detach()) / n

        def gaussian(v: torch.Tensor) -> torch.Tensor:
            mean_part = lin.vjp(lin.jvp(v[k:]).mul_(inv_var_over_n))
            return torch.cat([2 * v[:k], mean_part])

        return gaussian
    probs = torch.softmax(lin.output, dim=-1)

    def softmax(v: torch.Tensor) -> torch.Tensor:
        dz = lin.jvp(v)
        curvature = probs * (dz - (probs * dz).sum(-1, keepdim=True))
        return lin.vjp(curvature.div_(n))

    return softmax


def value_fisher_product(
    value_fn: ValueFunction, observations: torch.Tensor, timesteps: torch.Tensor
) -> FisherProduct | None:
    """v ↦ F v for the value function's trust region, ½ mean (V_θ − V_now)² on the normalised
    predictions: F = Jᵀ J / n. None when the closed form does not apply."""
    net = value_fn.net
    if not MLPLinearization.supports(net) or not _same(_trainable(value_fn), list(net.parameters())):
        return None
    n = len(observations)
    lin = MLPLinearization(net, value_fn.features(observations, timesteps))
    return lambda v: lin.vjp(lin.jvp(v).div_(n))
