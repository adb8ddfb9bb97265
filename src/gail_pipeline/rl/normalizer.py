"""Running mean/variance standardiser of observations (or any feature vector).

Its state lives in buffers, so it is saved with the ``state_dict`` of the module that owns it.
The paper's learners initialise it from the expert data, then update it with every policy batch.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["RunningNormalizer"]


class RunningNormalizer(nn.Module):
    """``x ↦ clip((x − mean) / sqrt(var + eps), −clip, clip)`` with running mean and variance.

    ``update`` merges a batch into the running moments with the parallel algorithm of Chan et al.
    (1979), so updating with batches A then B equals updating once with A ∪ B.
    """

    def __init__(self, size: int, eps: float = 1e-8, clip: float = 10.0) -> None:
        super().__init__()
        self.size = size
        self.eps = eps
        self.clip = clip
        self.register_buffer("mean", torch.zeros(size, dtype=torch.float64))
        self.register_buffer("var", torch.ones(size, dtype=torch.float64))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))

    @torch.no_grad()
    def update(self, batch: np.ndarray | torch.Tensor) -> None:
        """Merge a batch of shape ``(n, size)`` into the running moments."""
        x = torch.as_tensor(np.asarray(batch) if not torch.is_tensor(batch) else batch)
        x = x.to(dtype=torch.float64, device=self.mean.device).reshape(-1, self.size)
        n = x.shape[0]
        if n == 0:
            return
        if not torch.isfinite(x).all():
            raise ValueError("RunningNormalizer.update: the batch holds NaN or infinite values")
        batch_mean = x.mean(dim=0)
        batch_var = x.var(dim=0, unbiased=False)
        total = self.count + n
        delta = batch_mean - self.mean
        new_mean = self.mean + delta * (n / total)
        m2 = self.var * self.count + batch_var * n + delta.pow(2) * self.count * n / total
        self.mean.copy_(new_mean)
        self.var.copy_(m2 / total)
        self.count.copy_(total)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        std = torch.sqrt(self.var + self.eps).to(x.dtype)
        z = (x - self.mean.to(x.dtype)) / std
        return torch.clamp(z, -self.clip, self.clip)
