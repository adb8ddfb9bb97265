"""The project's catalog outside ``kedro run``: for the importers' command line and the benchmarks,
which read and write the same datasets as the pipelines (versions, ``data_root``, fallbacks).

    from gail_pipeline.catalog import project_context

    context = project_context()  # the project in the current directory, env "local" over "base"
    demos = context.catalog.load("cartpole.demonstrations_n1")
    context.catalog.save("cartpole.expert_trajectories", demos)

A Kedro module (it starts a ``KedroSession``): the library never imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.framework.context import KedroContext
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

__all__ = ["project_context"]


def project_context(
    project_path: str | Path | None = None,
    env: str | None = None,
    params: dict[str, Any] | None = None,
) -> KedroContext:
    """The context of the Kedro project at ``project_path`` (default: the current directory), as
    ``kedro run --env <env> --params <params>`` would create it: ``context.catalog`` holds the
    datasets of ``conf/<env>/catalog.yml`` with ``globals.yml``'s ``data_root`` resolved (relative
    paths taken from the project's folder), ``context.config_loader["parameters"]`` the
    parameters with ``params`` merged in. ``env`` None: ``KEDRO_ENV``, else ``local``.

    Each access to ``context.catalog`` builds a new catalog, whose saves make a new version."""
    path = Path(project_path if project_path is not None else Path.cwd()).resolve()
    if not (path / "pyproject.toml").is_file():
        raise FileNotFoundError(
            f"{path}: not a Kedro project (no pyproject.toml); run from the project's folder"
        )
    bootstrap_project(path)
    with KedroSession.create(project_path=path, env=env, runtime_params=params) as session:
        return session.load_context()
