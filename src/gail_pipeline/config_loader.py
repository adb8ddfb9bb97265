"""How the project reads ``conf/``: the config loader's settings and resolvers, and the
parameters of an env read outside a Kedro session.

A leaf module: ``settings.py`` (Kedro's) and ``grid.py`` both import it, and it imports nothing
of the project.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kedro.config import OmegaConfigLoader

__all__ = ["CONFIG_LOADER_ARGS", "CONFIG_LOADER_CLASS", "parameters_from_conf"]

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # conf/<env>/tasks.yml is read as parameters, so the task registry is a
    # parameter like any other (``params:tasks.<name>``).
    # ${env_or:NAME,default}: an environment variable with a fallback (MLflow's tracking URI).
    "custom_resolvers": {"env_or": lambda name, default: os.environ.get(name, default)},
    # An env's parameters merge key by key into base's: conf/<env>/tasks.yml can change one
    # setting of one task (tasks.hopper.batch_size) without restating the registry.
    "merge_strategy": {"parameters": "soft"},
    "config_patterns": {
        "parameters": ["parameters*", "parameters*/**", "**/parameters*", "tasks*"],
    },
}


def parameters_from_conf(env: str | None = None, conf_source: str | Path | None = None) -> dict[str, Any]:
    """The parameters of ``conf/`` for ``env`` (None: ``KEDRO_ENV``, else ``local`` over
    ``base``), as a ``kedro run`` in that env reads them without ``--params``. ``conf_source``:
    the folder (None: ``./conf`` if present, else the project's own)."""
    if conf_source is None:
        conf_source = Path.cwd() / "conf"
        if not conf_source.is_dir():
            conf_source = Path(__file__).resolve().parents[2] / "conf"
    loader = CONFIG_LOADER_CLASS(
        conf_source=str(conf_source),
        env=env if env is not None else os.environ.get("KEDRO_ENV"),
        **CONFIG_LOADER_ARGS,
    )
    return dict(loader["parameters"])
