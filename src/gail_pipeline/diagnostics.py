"""What explains an adversarial run: one figure of a unit's per-iteration diagnostics.

The training loop (:mod:`gail_pipeline.rl.loop`) writes them into the learning curve:

==============================  =============================================================
column                          what it is
==============================  =============================================================
``return_mean``                 true return of the training (stochastic) rollouts
``eval_return_mean``            deterministic evaluation during training (``eval_every``)
``discriminator_loss``          D's logistic loss (GAIL)
``discriminator_accuracy_*``    share of expert / policy pairs D classifies right (GAIL)
``learned_reward_mean / _std``  the reward the policy is trained on
``entropy``                     the policy's mean entropy
``policy_kl``                   KL(π_old ‖ π_new) of the policy step
``episode_length_mean``         mean length of the training episodes
``discriminator_absorbing_logit``  D's logit of the absorbing state (absorbing states only)
==============================  =============================================================

:func:`diagnostics_figure` draws them in five panels over env steps; the tracking hook logs it with
each FEM / GTAL / GAIL unit (``diagnostics.png``), and the docs' study of GAIL's failures reads them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["PANELS", "diagnostics_figure"]

PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("return", ("return_mean", "eval_return_mean")),
    (
        "discriminator",
        ("discriminator_loss", "discriminator_accuracy_expert", "discriminator_accuracy_policy"),
    ),
    ("learned reward", ("learned_reward_mean", "learned_reward_std", "discriminator_absorbing_logit")),
    ("policy", ("entropy", "policy_kl")),
    ("episode length", ("episode_length_mean",)),
)
"""Each panel's title and the curve columns it draws (those present)."""


def diagnostics_figure(curve: pd.DataFrame, title: str) -> Any:
    """A matplotlib figure of ``curve``'s diagnostics against env steps, one panel per group of
    :data:`PANELS` that has a column in the curve."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import EngFormatter

    panels = [(name, [c for c in columns if c in curve]) for name, columns in PANELS]
    panels = [(name, columns) for name, columns in panels if columns]
    fig = Figure(figsize=(7, 1.9 * max(len(panels), 1) + 0.6), dpi=100)
    axes = fig.subplots(max(len(panels), 1), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (name, columns) in zip(axes, panels):
        for column in columns:
            series = curve[["env_steps", column]].dropna()
            style = "o-" if column == "eval_return_mean" else "-"
            ax.plot(series["env_steps"], series[column], style, label=column.replace("_", " "), markersize=3)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    axes[-1].set_xlabel("env steps")
    axes[-1].xaxis.set_major_formatter(EngFormatter(sep=""))
    axes[0].set_title(title)
    fig.tight_layout()
    return fig
