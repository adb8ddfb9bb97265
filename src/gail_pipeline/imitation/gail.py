"""GAIL's discriminator and reward (Ho & Ermon 2016, Algorithm 1, as the paper's code runs it).

Conventions, in the names: the discriminator's logit is **high for expert pairs**
(``logits_expert_is_high``), its labels are **1 for expert** (``labels_expert_is_one``), and

    D_expert(s, a) = σ(logit(s, a))     the probability that (s, a) came from the expert.

Loss of one update, on all policy pairs of the iteration plus as many expert pairs drawn with
replacement (full batch, one Adam step, lr 0.01; a pair drawn k times is evaluated once and
weighted k):

    L = BCE(logit_expert, 1) + BCE(logit_policy, 0)  (means over each half)
        − entropy_weight · mean H(Bernoulli(D_expert))        [entropy_weight = 0.001]
        + gradient_penalty · mean (‖∇_x̂ logit(x̂)‖ − 1)²      [off by default; x̂ mixes expert
                                                               and policy inputs, Gulrajani 2017,
                                                               in D's standardised input space]

Reward given to the policy (its cost is the discriminator's log-loss):

* ``positive`` (default; tasks that end on failure): r = −log(1 − D_expert) = softplus(logit) ≥ 0
* ``negative`` (MountainCar, Acrobot: tasks that end on success): r = log D_expert
  = −softplus(−logit) ≤ 0

A positive reward makes surviving longer pay, a negative one makes ending sooner pay; the sign is
chosen per task so that the bias agrees with the task (Kostrikov et al. 2019 discuss the bias).

Beyond the paper (each a :class:`GAILConfig` setting, off by default):

* ``reward: logit`` — r = log D − log(1 − D) = logit, of either sign;
* ``absorbing_states`` (Kostrikov et al. 2019, DAC) — the discriminator sees one more input, an
  indicator that is 1 only for the *absorbing state* that follows an early termination (all other
  features 0, action 0); every terminated trajectory, the policy's and the expert's, contributes
  one absorbing pair (an expert one weighted 1 / subsample interval, as its kept pairs each stand
  for that many). A terminated trajectory's return then continues in the absorbing state for
  ever: its last reward gets γ r_abs / (1 − γ). Time-limit ends are not terminations. With it, one
  reward form serves tasks that end on failure and on success: ending is paid what D thinks of
  ending, not what the reward's sign says; ``absorbing_replay`` keeps the policy's absorbing
  pairs in D's updates at their share of all its pairs so far; ``absorbing_horizon`` weighs each
  absorbing pair by the steps left to the time limit (the time spent absorbed) instead of one;
  ``absorbing_reward_cap`` pays the absorbing state at most the batch's mean per-step reward
  (tasks that end on failure: ending never pays more than the policy's average step);
* ``epochs`` / ``minibatch_size`` — several minibatch Adam epochs per iteration instead of one
  full-batch step; ``spectral_norm`` — each layer's weight divided by its largest singular value
  (Miyato et al. 2018); ``gradient_penalty`` above;
* ``neutral_init`` — D's output layer starts at zero: logit 0, a reward of 0 under ``logit``, for
  every pair and the absorbing state until D learns (no survival or ending bonus from a random
  initialisation);
* ``reward_scale: running_std`` — rewards divided by their running standard deviation (no shift:
  the sign is kept);
* ``learning_rate: 0`` — a frozen discriminator: the control that shows what the reward's form
  alone buys (its update takes one pass over the batch for the diagnostics, whatever ``epochs``).

Inputs are standardised: for Box actions the discriminator sees [s, a] — a as the environment
executed it, clipped to the bounds like the expert's recorded actions — through its own running
standardiser (initialised from the expert data, updated with each policy batch); for Discrete
actions it sees s and outputs one logit per action, the logit of the taken action being used.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from gail_pipeline.config import ConfigError, check_settings
from gail_pipeline.rl.batch import Batch
from gail_pipeline.rl.normalizer import RunningNormalizer
from gail_pipeline.rl.policies import in_row_chunks, mlp
from gail_pipeline.trajectories import Demonstrations

__all__ = ["REWARD_SIGNS", "Discriminator", "GAILConfig", "GAILReward", "reward_from_logits"]

REWARD_SIGNS = ("positive", "negative")
REWARD_FORMS = ("positive", "negative", "logit")


@dataclass(frozen=True)
class GAILConfig:
    """GAIL's settings beyond TRPO's (the ``imitation.gail`` section); defaults: the paper's."""

    hidden_sizes: tuple[int, ...] = (100, 100)
    """Discriminator MLP widths (tanh)."""
    learning_rate: float = 0.01
    """Discriminator Adam learning rate (≥ 0; 0: a frozen discriminator, the control)."""
    entropy_weight: float = 0.001
    """Weight of the Bernoulli entropy of D subtracted from the discriminator's loss (≥ 0)."""
    gradient_penalty: float = 0.0
    """Beyond the paper: weight of the gradient penalty (‖∇D‖ − 1)² on D's standardised inputs (0:
    off, the paper)."""
    causal_entropy: float = 0.0
    """λ, the causal-entropy bonus: the policy's entropy enters TRPO's surrogate with this weight
    (the paper tries 0, 1e-3 and 1e-2 on Reacher; ≥ 0)."""
    bc_warm_start: bool = False
    """Beyond the paper (its own suggestion): start the policy from the BC solution."""
    reward: str = "task"
    """The reward from D: ``task`` (the paper: the task's ``reward_sign``), ``positive``
    −log(1 − D), ``negative`` log D, or ``logit`` log D − log(1 − D)."""
    absorbing_states: bool = False
    """Beyond the paper: DAC's absorbing state after an early termination (module docstring)."""
    absorbing_replay: bool = False
    """With ``absorbing_states``: the policy's absorbing pairs in each update never fall below their
    share of all the policy's pairs so far (what a replay buffer of every past batch holds, as
    DAC's does), so that D keeps calling ending non-expert while the policy no longer ends."""
    absorbing_horizon: bool = False
    """With ``absorbing_states``: each absorbing pair, the policy's and the expert's, stands for the
    steps left to the episode's time limit — the time the episode spends in the absorbing state —
    instead of for one step. D then compares the two occupancy measures over the time limit: a
    policy that ends early at step t has spent T − t steps absorbed, and ending keeps a weight in
    D's updates that one pair per ending does not give it."""
    absorbing_reward_cap: bool = False
    """With ``absorbing_states``: the absorbing state's reward is at most the mean per-step reward
    of the batch it is given to, so that ending never pays more than the policy's average step.
    D's per-step logits on policy pairs sit below 0 for as long as D tells them from the expert's
    (a handful of trajectories it can nearly memorise), while the absorbing logit, one point seen
    thousands of times, only measures how often each side ends: once the policy ends about as
    often as the expert, ending pays more than going on, and a policy that had stopped ending
    learns to end again. For tasks that end on failure (the MuJoCo locomotion tasks); a task
    that ends on success needs ending to pay more than a step, and keeps this off."""
    epochs: int = 1
    """Passes over the iteration's pairs per discriminator update (the paper: 1)."""
    minibatch_size: int | None = None
    """Policy pairs per Adam step, each with as many expert pairs (None: the whole batch, the paper)."""
    spectral_norm: bool = False
    """Beyond the paper: spectral normalisation of the discriminator's layers."""
    reward_scale: str = "none"
    """``none`` (the paper) or ``running_std``: rewards divided by their running std (sign kept)."""
    warmup_iterations: int = 0
    """The first iterations train only the discriminator (the policy step is skipped): with
    ``bc_warm_start``, D first learns to tell the warm-started policy from the expert."""
    neutral_init: bool = False
    """Beyond the paper: D's output layer starts at zero, so that D = 1/2 everywhere, the absorbing
    state included, until it learns. With the ``logit`` reward every pair then pays 0: a
    discriminator that has learnt nothing favours neither surviving nor ending (a randomly
    initialised one pays each pair, and the absorbing state, whatever its random logit says — a
    bonus for surviving or for ending that owes nothing to the expert), and the frozen-D control
    measures no imitation at all. Neutral only with the ``logit`` reward: −log(1 − D) and log D
    of D = 1/2 pay ±log 2 on every step, the survival (or ending) bonus of their sign. The paper:
    a random initialisation (here PyTorch's default)."""

    @property
    def frozen(self) -> bool:
        """Learning rate 0: a discriminator that never learns (the control)."""
        return self.learning_rate == 0

    def checks(self) -> dict[str, Any]:
        """Which values are possible (:func:`gail_pipeline.config.parse_settings` refuses others)."""
        return {
            "hidden_sizes": all(h > 0 for h in self.hidden_sizes),
            "learning_rate": self.learning_rate >= 0,
            "entropy_weight": self.entropy_weight >= 0,
            "gradient_penalty": self.gradient_penalty >= 0,
            "causal_entropy": self.causal_entropy >= 0,
            "reward": (self.reward in ("task", *REWARD_FORMS), f"one of task, {', '.join(REWARD_FORMS)}"),
            "epochs": self.epochs >= 1,
            "minibatch_size": self.minibatch_size is None or self.minibatch_size >= 1,
            "reward_scale": (self.reward_scale in ("none", "running_std"), "none or running_std"),
            "warmup_iterations": self.warmup_iterations >= 0,
            "absorbing_replay": (
                self.absorbing_states or not self.absorbing_replay,
                "false unless absorbing_states is true",
            ),
            "absorbing_horizon": (
                self.absorbing_states or not self.absorbing_horizon,
                "false unless absorbing_states is true",
            ),
            "absorbing_reward_cap": (
                self.absorbing_states or not self.absorbing_reward_cap,
                "false unless absorbing_states is true",
            ),
            # Spectral normalisation divides each weight by its largest singular value: 0 here.
            "neutral_init": (not (self.neutral_init and self.spectral_norm), "false with spectral_norm"),
        }


def reward_from_logits(logits_expert_is_high: torch.Tensor, sign: str) -> torch.Tensor:
    """−log(1 − σ(z)) = softplus(z) ≥ 0 (``positive``), log σ(z) = −softplus(−z) ≤ 0
    (``negative``), or log σ(z) − log(1 − σ(z)) = z (``logit``)."""
    if sign == "positive":
        return nn.functional.softplus(logits_expert_is_high)
    if sign == "negative":
        return -nn.functional.softplus(-logits_expert_is_high)
    if sign == "logit":
        return logits_expert_is_high.clone()
    raise ValueError(f"reward sign must be one of {REWARD_FORMS}, got {sign!r}")


class Discriminator(nn.Module):
    """logit(s, a), high for expert pairs. With ``absorbing``, one more input after the standardised
    features: 1 for the absorbing state (whose standardised features are all 0), else 0."""

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        discrete: bool,
        hidden_sizes: Sequence[int],
        absorbing: bool = False,
        spectral_norm: bool = False,
        neutral_init: bool = False,
    ) -> None:
        super().__init__()
        self.discrete = discrete
        self.absorbing = absorbing
        self.num_actions = action_dim if discrete else 0
        input_dim = obs_dim if discrete else obs_dim + action_dim
        self.input_normalizer = RunningNormalizer(input_dim)
        sizes = [input_dim + int(absorbing), *hidden_sizes, action_dim if discrete else 1]
        self.net = mlp(sizes, "tanh", zero_last=neutral_init)  # neutral: logit 0 until D learns
        if spectral_norm:
            for i, layer in enumerate(self.net):
                if isinstance(layer, nn.Linear):
                    self.net[i] = nn.utils.parametrizations.spectral_norm(layer)

    def inputs(self, observations: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        if self.discrete:
            return observations
        return torch.cat([observations, actions.reshape(len(actions), -1)], dim=-1)

    def logits_from_inputs(self, inputs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return self.logits_from_standardised(self.input_normalizer(inputs), actions)

    def logits_from_standardised(self, x: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """The logits of inputs already standardised (the features the network sees)."""
        if self.absorbing:
            x = torch.cat([x, torch.zeros_like(x[:, :1])], dim=-1)
        return self._head(self.net(x), actions)

    def _head(self, out: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        if self.discrete:
            return out.gather(-1, actions.long().reshape(-1, 1)).squeeze(-1)
        return out.squeeze(-1)

    def forward(self, observations: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return in_row_chunks(
            lambda o, a: self.logits_from_inputs(self.inputs(o, a), a), observations, actions
        )

    def absorbing_logit(self) -> torch.Tensor:
        """The logit of the absorbing state (standardised features 0, indicator 1, action 0): shape (1,)."""
        x = torch.zeros(1, self.net[0].in_features, device=self.input_normalizer.mean.device)
        x[0, -1] = 1.0
        return self._head(self.net(x), torch.zeros(1, dtype=torch.long, device=x.device))


class KeptLogits:
    """A speed-up, not part of the algorithm: the logits of the last new batch ``rewards`` scored,
    with their autograd graph, so that the discriminator update on that batch (same pairs, same
    weights) needs no second forward pass. ``take`` hands them over once, and only if no weight
    or standardiser value changed in place since (checked by the tensors' version counters)."""

    def __init__(self, discriminator: nn.Module) -> None:
        self.discriminator = discriminator
        self._batch: weakref.ref[Batch] | None = None
        self._kept: tuple[tuple[tuple[int, int], ...], torch.Tensor] | None = None

    def is_new(self, batch: Batch) -> bool:
        """Whether ``batch`` is not the batch last kept (its logits should then be kept)."""
        return self._batch is None or self._batch() is not batch

    def keep(self, batch: Batch, logits: torch.Tensor) -> None:
        self._batch = weakref.ref(batch)
        self._kept = (self._weights_version(), logits)

    def take(self, batch: Batch) -> torch.Tensor | None:
        """The kept logits of ``batch`` if the weights are unchanged since; forgotten either way."""
        kept, self._kept = self._kept, None
        if kept is None or self._batch() is not batch:
            return None
        version, logits = kept
        return logits if version == self._weights_version() else None

    def _weights_version(self) -> tuple[tuple[int, int], ...]:
        """Changes whenever a weight or the input standardiser changes in place."""
        d = self.discriminator
        return tuple((t.data_ptr(), t._version) for t in (*d.parameters(), *d.buffers()))


class GAILReward:
    """The discriminator as a reward model of the training loop (:func:`gail_pipeline.rl.loop.train`):
    ``reward_sign`` is the task's (``positive`` −log(1 − D), ``negative`` log D), used when
    ``config.reward`` is ``task``; ``gamma`` is the learner's discount (absorbing states only);
    ``horizon`` the episodes' time limit (``absorbing_horizon`` only)."""

    def __init__(
        self,
        demonstrations: Demonstrations,
        config: GAILConfig,
        seed: int,
        action_dim: int,
        device: str | torch.device = "cpu",
        reward_sign: str = "positive",
        gamma: float = 0.995,
        horizon: int | None = None,
    ) -> None:
        check_settings(config, "gail")
        if config.absorbing_horizon and not (horizon and horizon > 0):
            raise ConfigError(f"gail.absorbing_horizon needs the episodes' time limit (horizon={horizon!r})")
        self.horizon = horizon
        if reward_sign not in REWARD_SIGNS:
            raise ConfigError(f"reward_sign: expected one of {', '.join(REWARD_SIGNS)}, got {reward_sign!r}")
        self.config = config
        self.reward_sign = reward_sign if config.reward == "task" else config.reward
        self.gamma = float(gamma)
        device = torch.device(device)
        self.expert_obs = torch.as_tensor(demonstrations.observations()).to(device)
        self.expert_actions = torch.as_tensor(demonstrations.actions()).to(device)
        self.discriminator = Discriminator(
            demonstrations.observation_dim,
            action_dim,
            demonstrations.discrete,
            config.hidden_sizes,
            absorbing=config.absorbing_states,
            spectral_norm=config.spectral_norm,
            neutral_init=config.neutral_init,
        )
        self.discriminator.to(device)
        if config.frozen:
            # Frozen for good: with spectral_norm, a training-mode forward pass would still move the
            # power iteration's estimate of each layer's norm, and with it the logits.
            self.discriminator.eval()
        self.discriminator.input_normalizer.update(
            self.discriminator.inputs(self.expert_obs, self.expert_actions)
        )
        # Absorbing pairs of the expert: one per terminated trajectory, each standing for one
        # transition (absorbing_horizon: for the steps left to the time limit) where a kept pair
        # stands for `subsample_interval` of them. A subsampled trajectory's real length is known
        # to within the interval: its last kept step + 1 + (interval − 1) / 2.
        interval = int(demonstrations.metadata.get("subsample_interval") or 1)
        self.expert_absorbing_weight = 0.0
        if config.absorbing_states:
            self.expert_absorbing_weight = (
                sum(
                    self._absorbing_weight(float(t.steps[-1]) + 1 + (interval - 1) / 2)
                    for t in demonstrations.trajectories
                    if t.terminated
                )
                / interval
            )
        self.reward_normalizer = RunningNormalizer(1) if config.reward_scale == "running_std" else None
        self.optimizer = torch.optim.Adam(self.discriminator.parameters(), lr=config.learning_rate)
        self.generator = torch.Generator().manual_seed(seed)
        self._kept = KeptLogits(self.discriminator)
        self.policy_pairs_seen = 0  # all the policy's pairs and terminations so far (absorbing_replay)
        self.policy_absorbing_seen = 0

    static = False  # the reward changes with every update

    def rewards(self, batch: Batch) -> list[np.ndarray]:
        """Per-step rewards of the batch's trajectories under the current discriminator.

        A call on a new batch keeps its forward pass's graph (:class:`KeptLogits`): the update that
        follows in the iteration runs on the same policy pairs with the same weights, so it takes
        those logits instead of a second forward pass over the batch (the same numbers; the graph
        lives through the TRPO step: the training process's peak memory rose 70–140 MB on the MuJoCo
        tasks). Calls on the batch last updated on (the value fit's rewards, after the update)
        compute without a graph. Measured in HalfCheetah's GAIL loop (2 cores, 50,000-step batches,
        three interleaved runs each): the update 49–62 ms → 32–38 ms.
        """
        keep = self._kept.is_new(batch)
        with torch.set_grad_enabled(keep):
            logits = self.discriminator(batch.observations, batch.executed_actions)
        if keep:
            self._kept.keep(batch, logits)
        flat = reward_from_logits(logits.detach(), self.reward_sign).cpu().numpy().astype(np.float64)
        scale = self._reward_scale()
        if scale != 1.0:
            flat = flat / scale
        rewards = np.split(flat, np.cumsum([len(t) for t in batch.trajectories])[:-1])
        if self.config.absorbing_states:
            with torch.no_grad():
                absorbing = float(
                    reward_from_logits(self.discriminator.absorbing_logit(), self.reward_sign)[0]
                )
            absorbing /= scale
            if self.config.absorbing_reward_cap and len(flat):
                absorbing = min(absorbing, float(flat.mean()))
            # The episode goes on in the absorbing state for ever: Σ_{k≥1} γ^k r_abs after its last step.
            tail = self.gamma * absorbing / (1.0 - self.gamma)
            for trajectory, reward in zip(batch.trajectories, rewards):
                if trajectory.terminated:
                    reward[-1] += tail
        return rewards

    def _reward_scale(self) -> float:
        if self.reward_normalizer is None or float(self.reward_normalizer.count) < 2:
            return 1.0
        return float(torch.sqrt(self.reward_normalizer.var + self.reward_normalizer.eps))

    def loss(
        self,
        policy_obs: torch.Tensor,
        policy_actions: torch.Tensor,
        expert_draw: torch.Tensor,
        logits_policy: torch.Tensor | None = None,
        policy_absorbing: float = 0,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The discriminator's regularised logistic loss and its diagnostics (``logits_policy``:
        the policy pairs' logits at the current weights, with their graph, when already computed).

        ``expert_draw`` indexes the expert pairs of this update (drawn with replacement; with
        absorbing states, index ``len(expert pairs)`` is the expert's absorbing pair). A pair drawn
        k times enters every mean with weight k, so the network runs once per *distinct* pair: 4
        HalfCheetah trajectories subsampled as in the paper are 200 pairs, so the expert half of a
        50,000-step batch's update runs on at most 200 rows instead of 50,000.
        ``policy_absorbing``: the weight of the policy's absorbing pair (its terminated trajectories).
        """
        d = self.discriminator
        n_real = len(self.expert_obs)
        counts = torch.bincount(expert_draw, minlength=n_real + int(d.absorbing))
        rows = counts.nonzero().squeeze(1)
        weights = counts[rows].to(policy_obs.dtype)
        n_expert = float(len(expert_draw))
        real = rows[rows < n_real]
        logits_expert = d(self.expert_obs[real], self.expert_actions[real])
        if len(real) < len(rows):  # the expert's absorbing pair was drawn
            logits_expert = torch.cat([logits_expert, d.absorbing_logit()])
        if logits_policy is None:
            # (A minibatch may hold only absorbing pairs: the rows of a shuffle's last, short chunk.)
            logits_policy = d(policy_obs, policy_actions) if len(policy_obs) else logits_expert[:0]
        bce = nn.functional.binary_cross_entropy_with_logits
        labels_expert_is_one = torch.ones_like(logits_expert)
        logistic = bce(logits_expert, labels_expert_is_one, weight=weights, reduction="sum") / n_expert
        policy_weights = torch.ones_like(logits_policy)
        if policy_absorbing:
            logits_policy = torch.cat([logits_policy, d.absorbing_logit()])
            policy_weights = torch.cat(
                [policy_weights, policy_weights.new_full((1,), float(policy_absorbing))]
            )
            n_policy = float(policy_weights.sum())
            labels = torch.zeros_like(logits_policy)
            logistic = (
                logistic + bce(logits_policy, labels, weight=policy_weights, reduction="sum") / n_policy
            )
        else:
            n_policy = float(len(logits_policy))
            logistic = logistic + bce(logits_policy, torch.zeros_like(logits_policy))
        # H(Bernoulli(p)) = −p log p − (1 − p) log(1 − p), written stably with log σ; its mean over
        # all 2n pairs, each expert pair counted as often as it was drawn.
        all_logits = torch.cat([logits_expert, logits_policy])
        all_weights = torch.cat([weights, policy_weights])
        p = torch.sigmoid(all_logits)
        pair_entropy = -(
            p * nn.functional.logsigmoid(all_logits) + (1 - p) * nn.functional.logsigmoid(-all_logits)
        )
        entropy = (pair_entropy * all_weights).sum() / (n_expert + n_policy)
        loss = logistic - self.config.entropy_weight * entropy
        penalty = torch.zeros((), device=logits_expert.device)
        if self.config.gradient_penalty > 0 and len(policy_obs):
            # Per draw, in draw order: each policy pair is mixed with the expert pair drawn for it
            # (real pairs only: the absorbing pair is one point, not a region to smooth).
            draw = expert_draw[: len(policy_obs)].clamp(max=n_real - 1)
            penalty = self._gradient_penalty(
                policy_obs, policy_actions, self.expert_obs[draw], self.expert_actions[draw]
            )
            loss = loss + self.config.gradient_penalty * penalty
        stats = {
            "discriminator_loss": float(logistic.detach()),
            "discriminator_entropy": float(entropy.detach()),
            "discriminator_accuracy_expert": float(((logits_expert > 0) * weights).sum()) / n_expert,
            "discriminator_accuracy_policy": float(((logits_policy < 0) * policy_weights).sum()) / n_policy,
            "discriminator_gradient_penalty": float(penalty.detach()),
        }
        return loss, stats

    def _gradient_penalty(
        self,
        policy_obs: torch.Tensor,
        policy_actions: torch.Tensor,
        expert_obs: torch.Tensor,
        expert_actions: torch.Tensor,
    ) -> torch.Tensor:
        # In the standardised inputs the network sees: a scale-free penalty, the same on CartPole
        # (raw features ~0.1) as on Hopper (velocities ~10). On the raw inputs, D could not tell
        # CartPole's expert from its policy well enough to hold the expert (docs/gail_recipe.md).
        d = self.discriminator
        x_expert = d.input_normalizer(d.inputs(expert_obs, expert_actions))
        x_policy = d.input_normalizer(d.inputs(policy_obs, policy_actions))
        alpha = torch.rand(len(x_expert), 1, generator=self.generator).to(x_expert.device)
        mixed = (alpha * x_expert + (1 - alpha) * x_policy).detach().requires_grad_(True)
        # Discrete actions: the penalty is on the logit of the expert's action at the mixed state.
        logits = d.logits_from_standardised(mixed, expert_actions)
        # (A frozen D only reports its penalty: no graph of the gradient to differentiate again.)
        (grad,) = torch.autograd.grad(logits.sum(), mixed, create_graph=not self.config.frozen)
        return (grad.norm(dim=-1) - 1).pow(2).mean()

    def state_dict(self) -> dict[str, Any]:
        """Everything the next updates depend on: weights, input standardiser, Adam, RNG, and the
        policy pairs and terminations seen so far (``absorbing_replay``)."""
        state = {
            "discriminator": self.discriminator.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "policy_seen": (self.policy_pairs_seen, self.policy_absorbing_seen),
        }
        if self.reward_normalizer is not None:
            state["reward_normalizer"] = self.reward_normalizer.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.discriminator.load_state_dict(state["discriminator"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.policy_pairs_seen, self.policy_absorbing_seen = state.get("policy_seen", (0, 0))
        if self.reward_normalizer is not None:
            self.reward_normalizer.load_state_dict(state["reward_normalizer"])

    def _draw_expert(self, n: int) -> torch.Tensor:
        """``n`` expert pairs drawn with replacement (index ``len(expert pairs)``: the absorbing pair)."""
        n_real = len(self.expert_obs)
        if self.expert_absorbing_weight <= 0:
            draw = torch.randint(n_real, (n,), generator=self.generator)
        else:
            probabilities = torch.ones(n_real + 1, dtype=torch.float64)
            probabilities[-1] = self.expert_absorbing_weight
            draw = torch.multinomial(probabilities, n, replacement=True, generator=self.generator)
        return draw.to(self.expert_obs.device)

    def _absorbing_weight(self, episode_length: float) -> float:
        """What one ended episode's absorbing pair stands for: 1 step, or (``absorbing_horizon``)
        the steps left to the time limit."""
        if not self.config.absorbing_horizon:
            return 1.0
        return max(float(self.horizon) - episode_length, 0.0)

    def update(self, batch: Batch) -> dict[str, float]:
        ended = [len(t) for t in batch.trajectories if t.terminated] if self.config.absorbing_states else []
        # The batch's absorbing pairs (absorbing_horizon: each ended episode's steps left).
        absorbing_now = round(sum(self._absorbing_weight(length) for length in ended))
        absorbing = absorbing_now
        self.policy_pairs_seen += len(batch)
        self.policy_absorbing_seen += absorbing_now
        if self.config.absorbing_replay:
            # Without it, a policy that stops ending gives D no absorbing pair, D's absorbing logit
            # drifts up until ending pays, the policy falls again, and so on (Hopper: a cycle of
            # ~15 iterations between 1,000-step episodes and ~330; docs/gail_recipe.md).
            # (round: a share under half a pair per batch replays none.)
            share = self.policy_absorbing_seen / self.policy_pairs_seen
            absorbing = max(absorbing_now, round(share * len(batch)))
        # A frozen D (the control) gets its diagnostics from one pass over the batch: its epochs
        # would change nothing (their draws come from D's own generator, which nothing else reads),
        # and they cost ~20 % of a Humanoid control's iteration (1.2 s of 5.9 s).
        full_batch = self.config.frozen or (
            self.config.epochs == 1
            and (self.config.minibatch_size is None or self.config.minibatch_size >= len(batch))
        )
        if full_batch:
            draw = self._draw_expert(len(batch) + absorbing)
            kept_logits = self._kept.take(batch)
            loss, stats = self.loss(batch.observations, batch.executed_actions, draw, kept_logits, absorbing)
            self._step(loss)
        else:
            self._kept.take(batch)  # (the kept graph serves only a full-batch step)
            stats = self._minibatch_epochs(batch, absorbing)
        self.discriminator.input_normalizer.update(
            self.discriminator.inputs(batch.observations, batch.executed_actions)
        )
        if self.reward_normalizer is not None:
            with torch.no_grad():
                logits = self.discriminator(batch.observations, batch.executed_actions)
            self.reward_normalizer.update(reward_from_logits(logits, self.reward_sign).reshape(-1, 1))
        if self.config.absorbing_states:
            with torch.no_grad():
                stats["discriminator_absorbing_logit"] = float(self.discriminator.absorbing_logit()[0])
            stats["absorbing_pairs_policy"] = float(absorbing)  # trained on (replayed ones included)
            stats["terminations_policy"] = float(len(ended))  # in this batch
        return stats

    def _step(self, loss: torch.Tensor) -> None:
        if self.config.frozen:  # the control
            return
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()

    def _minibatch_epochs(self, batch: Batch, absorbing: int) -> dict[str, float]:
        """``epochs`` passes over the policy pairs (absorbing ones included) in minibatches, each
        against as many freshly drawn expert pairs; diagnostics averaged over the steps."""
        n = len(batch)
        # The absorbing pairs are rows of the shuffle, each in one minibatch; with
        # absorbing_horizon they are many more than the real pairs (a 20-step fall of a 1,000-step
        # task stands for 980), so each minibatch of real pairs carries its share of them instead.
        spread = self.config.absorbing_horizon
        rows = n if spread else n + absorbing
        size = self.config.minibatch_size or rows
        totals: dict[str, float] = {}
        steps = 0
        for _ in range(self.config.epochs):
            order = torch.randperm(rows, generator=self.generator)
            for start in range(0, rows, size):
                chunk = order[start : start + size]
                real = chunk[chunk < n].to(batch.observations.device)
                weight = absorbing * len(chunk) / n if spread else float((chunk >= n).sum())
                loss, stats = self.loss(
                    batch.observations[real],
                    batch.executed_actions[real],
                    self._draw_expert(len(chunk) + round(weight) if spread else len(chunk)),
                    policy_absorbing=weight,
                )
                self._step(loss)
                for key, value in stats.items():
                    totals[key] = totals.get(key, 0.0) + value
                steps += 1
        return {key: value / steps for key, value in totals.items()}
