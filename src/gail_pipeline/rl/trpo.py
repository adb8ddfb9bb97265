"""Trust Region Policy Optimization (Schulman et al., 2015), as the paper's code runs it.

One policy step solves

    maximise   g·Δθ        subject to   ½ Δθᵀ F Δθ ≤ δ

where g is the gradient of the surrogate L(θ) = E[π_θ(a|s)/π_old(a|s) · Â] and F the Fisher
matrix (the Hessian of the mean KL(π_old ‖ π_θ) at θ_old). Conjugate gradient gives s ≈ F⁻¹g from
Fisher-vector products alone; the largest step along s is

    Δθ = sqrt(2δ / sᵀFs) · s,

and a backtracking line search shrinks it (×0.5, at most 10 times) until the new policy
(i) improves the surrogate by at least ``accept_ratio`` of the linear prediction and
(ii) keeps the mean KL within δ. If no step qualifies the policy is left unchanged.

The value function is fitted by the same machinery: a trust-region step on its squared error,
the "KL" being that of unit-variance Gaussians centred on the old and new normalised predictions.

Fisher-vector products come in closed form for the MLP networks here (:mod:`gail_pipeline.rl.fisher`:
one Jacobian-vector product and one vector-Jacobian product on activations cached once per step)
or, for any other network, from autograd: ∇_θ(∇_θ KL · v).

Hyperparameters default to the paper's (``TRPOConfig``). Every kernel is a module-level function
tested on its own: :func:`conjugate_gradient`, :func:`fisher_vector_product`, :func:`line_search`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import torch
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from gail_pipeline.rl.fisher import policy_fisher_product, value_fisher_product
from gail_pipeline.rl.policies import Policy, ValueFunction

__all__ = [
    "LineSearchResult",
    "TRPOConfig",
    "conjugate_gradient",
    "conjugate_gradient_with_product",
    "fisher_subsample",
    "fisher_vector_product",
    "fit_value_function",
    "flat_grad",
    "line_search",
    "natural_gradient_step",
    "trpo_step",
]


@dataclass(frozen=True)
class TRPOConfig:
    """TRPO and value-function hyperparameters (defaults: the paper's code)."""

    max_kl: float = 0.01
    """δ, the bound on the mean KL(π_old ‖ π_new) of one step (> 0)."""
    damping: float = 0.1
    """λ added to the Fisher matrix: CG solves (F + λI)s = g (≥ 0)."""
    cg_iters: int = 10
    """Conjugate-gradient iterations."""
    fvp_subsample: float = 0.1
    """Fraction of the batch on which Fisher-vector products are computed, (0, 1]."""
    fvp_method: str = "analytic"
    """How F v is computed: ``analytic`` (the Gauss–Newton form of :mod:`gail_pipeline.rl.fisher`,
    for MLP networks; others fall back to autograd) or ``autograd`` (∇(∇KL · v)). Same matrix."""
    accept_ratio: float = 0.1
    """Line search: accept if actual improvement ≥ accept_ratio × expected improvement."""
    backtrack_coef: float = 0.5
    """Line search: step shrink factor, (0, 1)."""
    max_backtracks: int = 10
    """Line search: at most this many step sizes are tried."""
    gamma: float = 0.995
    """Discount γ."""
    gae_lambda: float = 0.97
    """GAE λ."""
    entropy_coef: float = 0.0
    """Weight of the policy entropy added to the surrogate (the paper's causal-entropy λ)."""
    value_hidden_sizes: tuple[int, ...] = (100, 100)
    """Value-function MLP (tanh); it also takes t / T_max as an input."""
    value_fit: str = "trust_region"
    """``trust_region`` (the paper: one step, KL ``value_max_kl``) or ``adam`` (minibatch epochs)."""
    value_max_kl: float = 0.01
    """Trust region of the value step (on normalised predictions)."""
    value_adam_epochs: int = 10
    """``adam`` fit: passes over the batch."""
    value_adam_lr: float = 1e-3
    """``adam`` fit: learning rate."""
    value_adam_minibatch: int = 256
    """``adam`` fit: minibatch size."""

    def checks(self) -> dict[str, bool]:
        """Which values are possible (:func:`gail_pipeline.config.parse_settings` refuses others)."""
        return {
            "max_kl": self.max_kl > 0,
            "damping": self.damping >= 0,
            "cg_iters": self.cg_iters >= 1,
            "fvp_subsample": 0 < self.fvp_subsample <= 1,
            "fvp_method": self.fvp_method in ("analytic", "autograd"),
            "accept_ratio": 0 <= self.accept_ratio < 1,
            "backtrack_coef": 0 < self.backtrack_coef < 1,
            "max_backtracks": self.max_backtracks >= 1,
            "gamma": 0 <= self.gamma <= 1,
            "gae_lambda": 0 <= self.gae_lambda <= 1,
            "entropy_coef": self.entropy_coef >= 0,
            "value_hidden_sizes": all(h >= 1 for h in self.value_hidden_sizes),
            "value_fit": self.value_fit in ("trust_region", "adam"),
            "value_max_kl": self.value_max_kl > 0,
            "value_adam_epochs": self.value_adam_epochs >= 1,
            "value_adam_lr": self.value_adam_lr > 0,
            "value_adam_minibatch": self.value_adam_minibatch >= 1,
        }


# --------------------------------------------------------------------------------------------
# Numerical kernels
# --------------------------------------------------------------------------------------------
def flat_grad(
    output: torch.Tensor,
    params: Sequence[torch.Tensor],
    create_graph: bool = False,
    retain_graph: bool | None = None,
) -> torch.Tensor:
    """∂output/∂params as one flat vector (zeros for parameters the output does not touch)."""
    grads = torch.autograd.grad(
        output, params, create_graph=create_graph, retain_graph=retain_graph, allow_unused=True
    )
    return torch.cat(
        [(g if g is not None else torch.zeros_like(p)).reshape(-1) for g, p in zip(grads, params)]
    )


def conjugate_gradient(
    matrix_vector_product: Callable[[torch.Tensor], torch.Tensor],
    b: torch.Tensor,
    iterations: int = 10,
    residual_tol: float = 1e-10,
) -> torch.Tensor:
    """Approximately solve A x = b for symmetric positive-definite A given only x ↦ A x.

    Standard CG (Nocedal & Wright, Algorithm 5.2) started at x = 0.
    """
    return conjugate_gradient_with_product(matrix_vector_product, b, iterations, residual_tol)[0]


def conjugate_gradient_with_product(
    matrix_vector_product: Callable[[torch.Tensor], torch.Tensor],
    b: torch.Tensor,
    iterations: int = 10,
    residual_tol: float = 1e-10,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`conjugate_gradient`'s x and A x, the latter without another product.

    x is Σ αₖ pₖ, so A x = Σ αₖ A pₖ: the products CG computed anyway, summed as it goes (TRPO's
    step length needs xᵀA x; asking A for it again would cost one more Fisher-vector product per
    step, a tenth of the step's products).
    """
    x = torch.zeros_like(b)
    ax = torch.zeros_like(b)
    r = b.clone()
    p = b.clone()
    r_dot_r = torch.dot(r, r)
    for _ in range(iterations):
        if r_dot_r < residual_tol:
            break
        Ap = matrix_vector_product(p)
        alpha = r_dot_r / torch.dot(p, Ap)
        x += alpha * p
        ax += alpha * Ap
        r -= alpha * Ap
        new_r_dot_r = torch.dot(r, r)
        p = r + (new_r_dot_r / r_dot_r) * p
        r_dot_r = new_r_dot_r
    return x, ax


def fisher_vector_product(
    kl_grad: torch.Tensor, params: Sequence[torch.Tensor], vector: torch.Tensor, damping: float
) -> torch.Tensor:
    """(F + damping·I) v, where ``kl_grad`` = ∇_θ KL was built with ``create_graph=True``.

    F v = ∇_θ (∇_θ KL · v): the Hessian of the KL at θ_old, which is the Fisher matrix there.
    """
    # The graph of kl_grad is kept: CG asks for several products with it.
    hessian_vector = flat_grad(torch.dot(kl_grad, vector.detach()), params, retain_graph=True)
    return hessian_vector.detach() + damping * vector


@dataclass(frozen=True)
class LineSearchResult:
    params: torch.Tensor
    """The accepted flat parameters (the old ones if nothing was accepted)."""
    accepted: bool
    step_fraction: float
    """Fraction of the full step taken (0 if rejected)."""
    improvement: float
    kl: float


def line_search(
    evaluate: Callable[[torch.Tensor], tuple[float, float]],
    old_params: torch.Tensor,
    full_step: torch.Tensor,
    expected_improvement: float,
    max_kl: float,
    accept_ratio: float = 0.1,
    backtrack_coef: float = 0.5,
    max_backtracks: int = 10,
) -> LineSearchResult:
    """Backtrack along ``full_step`` until the step improves the objective and keeps KL ≤ max_kl.

    ``evaluate(params) → (improvement over old_params, mean KL)``. A step fraction f is accepted
    when ``improvement > 0``, ``improvement ≥ accept_ratio · f · expected_improvement`` and
    ``kl ≤ max_kl``; fractions 1, c, c², … (c = backtrack_coef), at most ``max_backtracks``.
    """
    for k in range(max_backtracks):
        fraction = backtrack_coef**k
        candidate = old_params + fraction * full_step
        improvement, kl = evaluate(candidate)
        expected = fraction * expected_improvement
        if (
            math.isfinite(improvement)
            and improvement > 0
            and improvement >= accept_ratio * expected
            and kl <= max_kl
        ):
            return LineSearchResult(candidate, True, fraction, improvement, kl)
    return LineSearchResult(old_params, False, 0.0, 0.0, 0.0)


def natural_gradient_step(
    params: Sequence[torch.Tensor],
    objective: Callable[[], torch.Tensor],
    kl: Callable[[], torch.Tensor],
    fvp_kl: Callable[[], torch.Tensor],
    max_kl: float,
    damping: float,
    cg_iters: int,
    accept_ratio: float,
    backtrack_coef: float,
    max_backtracks: int,
    objective_and_kl: Callable[[], tuple[torch.Tensor, torch.Tensor]] | None = None,
    objective_old: torch.Tensor | None = None,
    fisher_product: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> LineSearchResult:
    """One trust-region step that *maximises* ``objective()`` within ``kl() ≤ max_kl``.

    ``objective`` and ``kl`` are evaluated at the parameters currently loaded in ``params``
    (``kl`` is 0 at the start point); ``fvp_kl`` is the KL on the Fisher subsample. The line
    search evaluates ``objective_and_kl()`` when given (both from one forward pass), else the two
    separately. ``objective_old``, when given, is ``objective()`` already evaluated at the start
    point with its graph (the caller's forward pass, saved). ``fisher_product``, when given,
    is v ↦ F v at the start point (the Hessian of ``fvp_kl``, computed some faster way); else F v
    comes from differentiating ``fvp_kl`` twice. The accepted parameters are left loaded in
    ``params``.
    """
    params = list(params)
    old = parameters_to_vector(params).detach().clone()
    if objective_old is None:
        objective_old = objective()
    g = flat_grad(objective_old, params).detach()
    if not torch.isfinite(g).all():
        raise FloatingPointError("TRPO: the objective's gradient is not finite")
    if torch.count_nonzero(g) == 0:
        return LineSearchResult(old, False, 0.0, 0.0, 0.0)
    if fisher_product is not None:

        def fvp(vector: torch.Tensor) -> torch.Tensor:
            return fisher_product(vector) + damping * vector
    else:
        kl_grad = flat_grad(fvp_kl(), params, create_graph=True)
        fvp = partial(fisher_vector_product, kl_grad, params, damping=damping)
    step_dir, fvp_of_step = conjugate_gradient_with_product(fvp, g, cg_iters)
    shs = torch.dot(step_dir, fvp_of_step)  # sᵀ(F + λI)s
    if not torch.isfinite(shs) or shs <= 0:
        return LineSearchResult(old, False, 0.0, 0.0, 0.0)
    full_step = torch.sqrt(2 * max_kl / shs) * step_dir
    expected = float(torch.dot(g, full_step))
    base = float(objective_old.detach())

    def evaluate(candidate: torch.Tensor) -> tuple[float, float]:
        vector_to_parameters(candidate, params)
        with torch.no_grad():
            if objective_and_kl is not None:
                value, divergence = objective_and_kl()
                return float(value) - base, float(divergence)
            return float(objective()) - base, float(kl())

    result = line_search(
        evaluate, old, full_step, expected, max_kl, accept_ratio, backtrack_coef, max_backtracks
    )
    vector_to_parameters(result.params, params)
    return result


def fisher_subsample(n: int, fraction: float, generator: torch.Generator | None) -> torch.Tensor:
    """Indices of a random ``fraction`` of ``n`` samples (at least one): where Fisher-vector
    products are computed (the paper: 10 %)."""
    return torch.randperm(n, generator=generator)[: max(1, round(fraction * n))]


# --------------------------------------------------------------------------------------------
# Policy and value-function updates
# --------------------------------------------------------------------------------------------
def trpo_step(
    policy: Policy,
    observations: torch.Tensor,
    actions: torch.Tensor,
    advantages: torch.Tensor,
    config: TRPOConfig,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """One TRPO update of ``policy`` on a batch; returns diagnostics over the whole batch.

    The advantages are standardised here (per batch, as in the paper's code).
    """
    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    params = [p for p in policy.parameters() if p.requires_grad]
    start_dist = policy.dist_params(observations)  # one forward: the old distribution and the gradient
    old_params = start_dist.detach()
    old_log_prob = policy.log_prob(old_params, actions)
    fvp_idx = fisher_subsample(len(observations), config.fvp_subsample, generator).to(observations.device)
    fvp_obs, fvp_old = observations[fvp_idx], old_params[fvp_idx]

    def surrogate_of(dist: torch.Tensor) -> torch.Tensor:
        ratio = torch.exp(policy.log_prob(dist, actions) - old_log_prob)
        value = (ratio * advantages).mean()
        if config.entropy_coef:
            value = value + config.entropy_coef * policy.entropy(dist).mean()
        return value

    def surrogate() -> torch.Tensor:
        return surrogate_of(policy.dist_params(observations))

    def mean_kl() -> torch.Tensor:
        return policy.kl(old_params, policy.dist_params(observations)).mean()

    last = {"dist": old_params}  # the distribution at the parameters tried last

    def surrogate_and_kl() -> tuple[torch.Tensor, torch.Tensor]:
        dist = last["dist"] = policy.dist_params(observations)
        return surrogate_of(dist), policy.kl(old_params, dist).mean()

    def fvp_kl() -> torch.Tensor:
        return policy.kl(fvp_old, policy.dist_params(fvp_obs)).mean()

    fisher = policy_fisher_product(policy, fvp_obs) if config.fvp_method == "analytic" else None
    result = natural_gradient_step(
        params,
        surrogate,
        mean_kl,
        fvp_kl,
        config.max_kl,
        config.damping,
        config.cg_iters,
        config.accept_ratio,
        config.backtrack_coef,
        config.max_backtracks,
        surrogate_and_kl,
        objective_old=surrogate_of(start_dist),
        fisher_product=fisher,
    )
    with torch.no_grad():
        # The line search stops at the accepted step (or restores the old parameters).
        dist = last["dist"] if result.accepted else old_params
        entropy = float(policy.entropy(dist).mean())
    return {
        "policy_kl": result.kl,
        "surrogate_improvement": result.improvement,
        "step_fraction": result.step_fraction,
        "step_accepted": float(result.accepted),
        "entropy": entropy,
    }


def fit_value_function(
    value_fn: ValueFunction,
    observations: torch.Tensor,
    timesteps: torch.Tensor,
    targets: torch.Tensor,
    config: TRPOConfig,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """Fit V to the value targets; returns the explained variance before and after."""
    targets = targets.to(torch.float32)
    value_fn.set_target_stats(float(targets.mean()), float(targets.std()))  # outputs preserved
    normalized_targets = (targets - value_fn.target_mean) / value_fn.target_std
    # One forward: the predictions before the fit, and (trust region) the loss's gradient there.
    with torch.set_grad_enabled(config.value_fit == "trust_region"):
        start_pred = value_fn.normalized(observations, timesteps)
    old_pred = start_pred.detach()
    before = old_pred * value_fn.target_std + value_fn.target_mean
    after = None

    if config.value_fit == "trust_region":
        params = list(value_fn.net.parameters())
        last = {"pred": old_pred}
        idx = fisher_subsample(len(observations), config.fvp_subsample, generator).to(observations.device)

        def neg_loss() -> torch.Tensor:
            return -(value_fn.normalized(observations, timesteps) - normalized_targets).pow(2).mean()

        def kl() -> torch.Tensor:
            return 0.5 * (value_fn.normalized(observations, timesteps) - old_pred).pow(2).mean()

        def fvp_kl() -> torch.Tensor:
            return (
                0.5 * (value_fn.normalized(observations[idx], timesteps[idx]) - old_pred[idx]).pow(2).mean()
            )

        def neg_loss_and_kl() -> tuple[torch.Tensor, torch.Tensor]:
            pred = last["pred"] = value_fn.normalized(observations, timesteps)
            return -(pred - normalized_targets).pow(2).mean(), 0.5 * (pred - old_pred).pow(2).mean()

        fisher = None
        if config.fvp_method == "analytic":
            fisher = value_fisher_product(value_fn, observations[idx], timesteps[idx])
        result = natural_gradient_step(
            params,
            neg_loss,
            kl,
            fvp_kl,
            config.value_max_kl,
            config.damping,
            config.cg_iters,
            config.accept_ratio,
            config.backtrack_coef,
            config.max_backtracks,
            neg_loss_and_kl,
            objective_old=-(start_pred - normalized_targets).pow(2).mean(),
            fisher_product=fisher,
        )
        pred = last["pred"] if result.accepted else old_pred
        after = pred * value_fn.target_std + value_fn.target_mean
    else:
        optimizer = torch.optim.Adam(value_fn.net.parameters(), lr=config.value_adam_lr)
        n = len(observations)
        # The network's inputs once for the whole batch (standardised row by row: the same numbers
        # as a minibatch's own), not again in every one of the fit's minibatch steps.
        with torch.no_grad():
            features = value_fn.features(observations, timesteps)
        for _ in range(config.value_adam_epochs):
            order = torch.randperm(n, generator=generator).to(observations.device)
            for start in range(0, n, config.value_adam_minibatch):
                idx = order[start : start + config.value_adam_minibatch]
                loss = (value_fn.net(features[idx]).squeeze(-1) - normalized_targets[idx]).pow(2).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    if after is None:
        with torch.no_grad():
            after = value_fn(observations, timesteps)
    return {
        "value_explained_variance_before": explained_variance(before, targets),
        "value_explained_variance": explained_variance(after, targets),
    }


def explained_variance(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """1 − Var[target − prediction] / Var[target] (1: perfect, 0: no better than the mean)."""
    var = float(target.var())
    if var == 0:
        return float("nan")
    return 1.0 - float((target - prediction).var()) / var
