"""Where the networks are updated: ``device: auto | cpu | cuda[:N]`` in the config.

Only the updates (TRPO step, value fit, discriminator step, BC) run on the device; acting stays on
the CPU in numpy (:class:`~gail_pipeline.rl.policies.PolicySnapshot`), where a forward pass over a
few dozen observations costs microseconds rather than a round trip to the GPU. Several training
processes can share one GPU: each holds only its own small networks and batches.
"""

from __future__ import annotations

import torch

__all__ = ["resolve_device"]


def resolve_device(setting: str | None, where: str = "device") -> torch.device:
    """``auto`` (or None): CUDA when available, else the CPU. ``cpu``. ``cuda`` / ``cuda:N``,
    refused with a clear error when this machine has no such GPU."""
    if setting is None or setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(setting, str):
        # One error type (ValueError, turned into ConfigError) for every bad config value.
        raise ValueError(f"{where}: expected auto, cpu, cuda or cuda:N, got {setting!r}")  # noqa: TRY004
    try:
        device = torch.device(setting)
    except RuntimeError as exc:
        raise ValueError(f"{where}: expected auto, cpu, cuda or cuda:N, got {setting!r}") from exc
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"{where}: expected auto, cpu, cuda or cuda:N, got {setting!r}")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{where}: {setting!r} asked for, but torch sees no CUDA device here")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                f"{where}: {setting!r} asked for, but torch sees {torch.cuda.device_count()} CUDA device(s)"
            )
    return device
