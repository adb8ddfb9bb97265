"""Where the networks are updated: ``device: auto | cpu | cuda[:N]`` in the config.

Only the updates (TRPO step, value fit, discriminator step, BC) run on the device; acting stays on
the CPU in numpy (:class:`~gail_pipeline.rl.policies.PolicySnapshot`), where a forward pass over a
few dozen observations costs microseconds rather than a round trip to the GPU. Several training
processes can share one GPU: each holds only its own small networks and batches.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch

logger = logging.getLogger(__name__)

__all__ = [
    "auto_update_threads",
    "available_cpus",
    "keep_freed_memory",
    "other_runnable_tasks",
    "resolve_device",
    "torch_threads",
]


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


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def auto_update_threads(stepping_processes: int) -> int:
    """Torch threads for a training unit's CPU updates, by default.

    In the main process (``kedro run`` with SequentialRunner, a script) the unit is the only thing
    training, so its updates take every available CPU. In a worker process (ParallelRunner, a
    cluster worker) other units share the machine: one thread per process stepping the unit's
    environments, since those processes wait while the networks update. Measured on 2 cores, one
    unit alone: CartPole's GAIL loop 36,957 → 53,932 env steps/s with 2 threads instead of 1.

    The main-process rule assumes nothing else is busy on the machine: beside other heavy work,
    threads that wait for cores cost far more than they gain (OpenMP spins; measured on 2 cores
    beside three other training processes, CartPole's GAIL updates: the discriminator's 0.19 s →
    1.52 s, the policy step's 0.03 s → 0.56 s with 2 threads instead of 1), so the rule warns,
    once per process, when other tasks are runnable beside it. The environment variable
    ``GAIL_PIPELINE_TORCH_THREADS`` overrides the rule (the test suite sets it to 1). The thread
    count changes the numbers a run gives (floating-point sums split otherwise), not how good
    they are: pin it where two runs must agree bit for bit.
    """
    pinned = os.environ.get("GAIL_PIPELINE_TORCH_THREADS")
    if pinned:
        return max(1, int(pinned))
    if mp.parent_process() is None:
        cpus = available_cpus()
        _warn_if_busy(cpus)
        return cpus
    return max(1, int(stepping_processes))


_warned_busy = False


def _warn_if_busy(threads: int) -> None:
    """Warn (once per process) that ``threads`` update threads will wait for cores: other tasks
    are runnable beside this one (:func:`other_runnable_tasks`)."""
    global _warned_busy
    if threads < 2 or _warned_busy:
        return
    others = other_runnable_tasks()
    if others:
        _warned_busy = True
        logger.warning(
            "The machine is busy (%d other runnable tasks on %d CPUs): torch's %d threads per "
            "update will wait for cores, which slows the updates several times over. Set "
            "GAIL_PIPELINE_TORCH_THREADS=1 (or update_threads: 1 in the stage's parameters) when "
            "other work shares the machine.",
            others,
            threads,
            threads,
        )


def other_runnable_tasks(loadavg: str = "/proc/loadavg", samples: int = 5) -> int | None:
    """Tasks runnable now besides the caller: the fewest over ``samples`` reads 10 ms apart of
    the kernel's count (``/proc/loadavg``'s fourth field, which counts the reader), so that a
    task that only wakes for a moment is not counted; None where there is no such file. A
    training process of this project's own is idle then: its stepping processes wait for the
    next batch."""
    counts = []
    try:
        for read in range(samples):
            if read:
                time.sleep(0.01)
            with open(loadavg) as file:
                counts.append(int(file.read().split()[3].split("/")[0]) - 1)
    except (OSError, ValueError, IndexError):
        return None
    return max(0, min(counts))


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` torch intra-op threads, then restore the previous count.

    (Measured on Hopper, 2 cores, 2 stepping processes: the update phases of a 50k-step GAIL
    batch take 1.29 s with 1 thread, 0.74 s with 2.)
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, int(count)))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_LARGEST_MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's ceiling on 64-bit systems
_kept: bool | None = None


def keep_freed_memory() -> bool:
    """Make this process's allocator keep the memory torch frees, for the next update to reuse.

    Torch allocates CPU tensors with ``malloc`` and caches nothing. glibc gives freed memory back
    to the kernel: a block over its mmap threshold (128 KiB at first, adapting up to 32 MiB) on
    every ``free``, and the top of the heap whenever more than its trim threshold lies free there.
    So an update's 20 MB activations keep coming back as fresh pages, a page fault per 4 KiB to
    zero them (and, with several threads, a TLB shoot-down per ``munmap``). With the mmap threshold
    at glibc's ceiling and trimming off, freed blocks are reused instead; the process's resident
    memory then stays at its peak. Measured in HalfCheetah's GAIL loop (2 cores, 50,000-step
    batches): the TRPO step 0.48 s → 0.27 s while the networks ran on whole batches; with them in
    row chunks (fewer, smaller blocks) an iteration's updates 0.66 s → 0.59 s (three runs each).

    Applies once per process, on Linux with glibc only; returns whether the settings are in force.
    ``GAIL_PIPELINE_KEEP_FREED_MEMORY=0`` turns it off.
    """
    global _kept
    if _kept is not None:
        return _kept
    _kept = False
    if os.environ.get("GAIL_PIPELINE_KEEP_FREED_MEMORY", "1") == "0" or not sys.platform.startswith("linux"):
        return _kept
    try:
        libc = ctypes.CDLL(None)  # this process: glibc when it is the C library
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt)
        return _kept
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _kept = bool(
        mallopt(_M_MMAP_THRESHOLD, _LARGEST_MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)
    )
    return _kept
