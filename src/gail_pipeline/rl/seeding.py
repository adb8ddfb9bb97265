"""Seeding in one place."""

from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["seed_everything"]


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators (network initialisation uses torch's).

    The project's own randomness (action noise, minibatches, environments) goes through explicit
    generators seeded from the same number; this covers what draws from the globals.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
