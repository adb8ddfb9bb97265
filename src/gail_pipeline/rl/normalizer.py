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
        """Merge a batch of shape ``(n, size)`` into the running moments.

        Computed in numpy, float64, ~2 MB of the batch at a time, each part merged like a batch of
        its own: a whole Humanoid batch (50,000 × 365) converted to float64 at once, with torch's
        column reductions, took 0.2–0.6 s; in parts with numpy's, ~35 ms.
        """
        x = batch.detach().cpu().numpy() if torch.is_tensor(batch) else np.asarray(batch)
        x = x.reshape(-1, self.size)
        if len(x) == 0:
            return
        count = float(self.count)
        mean = self.mean.cpu().numpy().copy()
        var = self.var.cpu().numpy().copy()
        rows = max(1, 2**18 // max(self.size, 1))
        for start in range(0, len(x), rows):
            part = x[start : start + rows]
            n = len(part)
            part_mean = part.mean(axis=0, dtype=np.float64)
            if not np.isfinite(part_mean).all():  # (a NaN or ±inf anywhere reaches the mean)
                raise ValueError("RunningNormalizer.update: the batch holds NaN or infinite values")
            centered = part - part_mean
            part_var = np.einsum("ij,ij->j", centered, centered) / n
            total = count + n
            delta = part_mean - mean
            m2 = var * count + part_var * n + delta**2 * count * n / total
            mean = mean + delta * (n / total)
            var = m2 / total
            count = total
        self.mean.copy_(torch.from_numpy(mean))
        self.var.copy_(torch.from_numpy(var))
        self.count.fill_(count)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        std = torch.sqrt(self.var + self.eps).to(x.dtype)
        z = (x - self.mean.to(x.dtype)) / std
        return torch.clamp(z, -self.clip, self.clip)
