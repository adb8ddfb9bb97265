"""What a ``kedro run`` prints: third-party deprecation warnings a user cannot act on are filtered,
MuJoCo's warnings are logged once each instead of printed once per environment, and Kedro's
runners say one line per finished node.

Installed when the package is imported (``gail_pipeline/__init__.py``): before Kedro's plugins load
in ``kedro run``, and in every worker process (ParallelRunner, Dask), which import the package to
run a node. Log levels per logger are in ``conf/logging.yml``.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import warnings

__all__ = [
    "IGNORED_WARNINGS",
    "NodeLineFilter",
    "WarningFilter",
    "exit_without_teardown",
    "filter_warnings",
    "install",
    "route_mujoco_warnings",
]

# (message, category, module): each ignored only where it is raised, by its message (a regular
# expression matched from the start of the text).
IGNORED_WARNINGS: tuple[tuple[str, type[Warning], str], ...] = (
    # OmegaConf 2.4 deprecates the call Kedro and kedro-mlflow make to register resolvers.
    (r"register_new_resolver\(\) is deprecated", UserWarning, "kedro.config.omegaconf_config"),
    (r"register_new_resolver\(\) is deprecated", UserWarning, "kedro_mlflow.framework.hooks.mlflow_hook"),
    # kedro-mlflow's pipeline model (never logged here) has an untyped `predict`; MLflow colours the text.
    (
        r"(\x1b\[[0-9;]*m)?Add type hints to the `predict` method",
        UserWarning,
        "mlflow.pyfunc.utils.data_validation",
    ),
    # kedro-mlflow's settings models use pydantic 1's class-based config.
    (
        r"Support for class-based `config` is deprecated",
        DeprecationWarning,
        "kedro_mlflow.config.kedro_mlflow_config",
    ),
)

# The loggers of the runners that report "Completed node: …" and "Completed n out of N tasks".
RUNNER_LOGGERS = (
    "kedro.runner.sequential_runner",
    "kedro.runner.parallel_runner",
    "kedro.runner.thread_runner",
    "gail_pipeline.runner",
)


class WarningFilter(logging.Filter):
    """Drops the ``IGNORED_WARNINGS`` that reach the ``py.warnings`` logger (Kedro's logging
    captures warnings). Needed beside the warning filters: MLflow shows its type-hint warning under
    its own ``simplefilter("once")``, which comes before any filter set outside."""

    def __init__(self) -> None:
        super().__init__()
        self._patterns = [
            # "<path>/<module>.py:<line>: <category (or a subclass)>: <message>"
            re.compile(
                r"(.*[/\\])?"
                + r"[/\\]".join(map(re.escape, module.split(".")))
                + r"\.py:\d+: \w+: "
                + message,
                re.I | re.S,
            )
            for message, _, module in IGNORED_WARNINGS
        ]

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        return not any(pattern.match(text) for pattern in self._patterns)


class NodeLineFilter(logging.Filter):
    """A runner's two lines per finished node, "Completed node: <name>" then "Completed n out of N
    tasks", as one: "Completed n out of N tasks: <name>". Runners log both from the process and
    thread that drive the run, one right after the other."""

    def __init__(self) -> None:
        super().__init__()
        self._node: str | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "Completed node: %s" and record.args:
            self._node = str(record.args[0] if isinstance(record.args, tuple) else record.args)
            return False
        if record.msg == "Completed %d out of %d tasks" and self._node is not None:
            record.msg = "Completed %d out of %d tasks: %s"
            record.args = (*record.args, self._node)  # type: ignore[misc]
            self._node = None
        return True


def filter_warnings() -> None:
    """Ignore each of ``IGNORED_WARNINGS`` where it is raised (Python's warning filters)."""
    for message, category, module in IGNORED_WARNINGS:
        warnings.filterwarnings(
            "ignore", message=message, category=category, module=re.escape(module) + r"\Z"
        )


_installed = False


def install() -> None:
    """Add the warning filters and the runners' one-line-per-node filter (once per process)."""
    global _installed
    if _installed:
        return
    _installed = True
    filter_warnings()
    logging.getLogger("py.warnings").addFilter(WarningFilter())
    for name in RUNNER_LOGGERS:
        logging.getLogger(name).addFilter(NodeLineFilter())


_mujoco_logger = logging.getLogger("gail_pipeline.mujoco")
_mujoco_seen: set[str] = set()
_mujoco_lock = threading.Lock()
_mujoco_routed = False


def _log_mujoco_warning(message: str) -> None:
    text = message.strip()
    with _mujoco_lock:
        if text in _mujoco_seen:
            return
        _mujoco_seen.add(text)
    _mujoco_logger.warning("MuJoCo: %s (logged once per process)", text)


def route_mujoco_warnings() -> None:
    """Send MuJoCo's warnings to the ``gail_pipeline.mujoco`` logger, each distinct text once per
    process. MuJoCo's own handler prints from C straight to stderr, past Python's logging, and a
    model's compiler warnings come with every environment built (Gymnasium's HalfCheetah:
    ``settotalmass`` is deprecated): some two hundred identical lines in one training unit.
    Called before an environment is built (:func:`gail_pipeline.tasks.make_env`); does nothing
    where MuJoCo is not installed. Simulation warnings (an unstable step) carry their time, so each
    is still logged."""
    global _mujoco_routed
    if _mujoco_routed:
        return
    try:
        import mujoco
    except ImportError:
        return
    mujoco.set_mju_user_warning(_log_mujoco_warning)
    _mujoco_routed = True


def exit_without_teardown(code: int = 0) -> None:
    """End a finished command-line run: flush its output and logs, then leave without the
    interpreter's teardown, where a native thread pool (pyarrow's, under a Kedro session's
    libraries) has aborted a process that had done its work ("terminate called without an active
    exception")."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)
