"""How a training stage's work is spread and recorded: the settings that never change what it
learns. (The device and the update threads do change the last bits of its numbers, floating-point
sums being split otherwise: pin them where two runs must agree bit for bit.)

The expert and imitation sections of the parameters share these fields (``expert.device``,
``imitation.sampler.backend``, …); :class:`RuntimeSettings` is their one definition, with their
defaults. A checkpoint's fingerprint leaves them out, so a run may continue on another device or
with other logging.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch

from gail_pipeline.config import ConfigError

__all__ = ["RUNTIME_FIELDS", "RuntimeSettings", "SamplerSettings"]

SAMPLER_BACKENDS = ("auto", "inprocess", "native", "workers")


@dataclass(frozen=True)
class SamplerSettings:
    """How the environments are stepped (:class:`gail_pipeline.rl.sampler.RolloutSampler`)."""

    backend: str = "auto"
    """``auto``: the env's own vectorised version if Gymnasium has one (CartPole), worker
    processes for MuJoCo, in-process stepping otherwise; or ``inprocess``, ``native``, ``workers``."""
    num_workers: int | None = None
    """Stepping processes for ``workers`` (and ``auto`` on MuJoCo), the trainer's own included;
    None: the CPU count."""

    def checks(self) -> dict[str, tuple[bool, str]]:
        return {
            "backend": (self.backend in SAMPLER_BACKENDS, f"one of {', '.join(SAMPLER_BACKENDS)}"),
            "num_workers": (self.num_workers is None or self.num_workers >= 1, "a positive integer or null"),
        }


@dataclass(frozen=True)
class RuntimeSettings:
    """Where and how a training stage runs; none of it changes what the stage learns (the device
    and thread count only its floating-point rounding)."""

    sampler: SamplerSettings = field(default_factory=SamplerSettings)
    """How the environments are stepped."""
    device: str = "auto"
    """Where the networks update: ``auto`` (CUDA if present), ``cpu``, ``cuda`` or ``cuda:N``;
    acting stays on the CPU."""
    update_threads: int | str = "auto"
    """Torch threads for CPU updates; ``auto``: all CPUs when a unit trains alone, else one per
    stepping process (they wait meanwhile)."""
    log_every: int = 25
    """A log line every this many iterations (and at the last)."""
    checkpoint_dir: str | None = None
    """Training checkpoints go here, and an interrupted run continues from them (None: none)."""
    checkpoint_every: int = 10
    """Iterations between checkpoints."""

    def checks(self) -> dict[str, Any]:
        threads_ok = self.update_threads == "auto" or (
            isinstance(self.update_threads, int) and not isinstance(self.update_threads, bool)
        )
        threads_ok = threads_ok and (self.update_threads == "auto" or self.update_threads >= 1)
        return {
            "device": (_device_ok(self.device), "auto, cpu, cuda or cuda:N"),
            "update_threads": (threads_ok, "a positive integer or 'auto'"),
            "log_every": (self.log_every >= 1, "a positive integer"),
            "checkpoint_every": (self.checkpoint_every >= 1, "a positive integer"),
        }

    def torch_device(self, where: str) -> torch.device:
        """``device`` resolved on this machine (a GPU asked for where there is none is refused)."""
        from gail_pipeline.rl.device import resolve_device

        try:
            return resolve_device(self.device, f"{where}.device")
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc

    def threads(self) -> int | None:
        """``update_threads`` as the training functions take it (None: automatic)."""
        return None if self.update_threads == "auto" else int(self.update_threads)

    def sampler_kwargs(self) -> dict[str, Any]:
        """The sampler settings as the training functions' keyword arguments."""
        return {"sampler_backend": self.sampler.backend, "num_workers": self.sampler.num_workers}


RUNTIME_FIELDS = frozenset(f.name for f in dataclasses.fields(RuntimeSettings))
"""The settings a checkpoint's fingerprint leaves out."""


def _device_ok(device: Any) -> bool:
    if not isinstance(device, str):
        return False
    if device in ("auto", "cpu", "cuda"):
        return True
    return device.startswith("cuda:") and device[5:].isdigit()
