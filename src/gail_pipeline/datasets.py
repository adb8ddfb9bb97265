"""Kedro datasets for the project's own file formats.

* :class:`PolicyDataset` — a policy file of :func:`gail_pipeline.rl.policies.save_policy`
  (weights + normaliser + metadata), loadable without Kedro by ``load_policy``. When versioned,
  the loaded policy's ``metadata["version"]`` is the version it was loaded from, so downstream
  artifacts can record which expert made them.
* :class:`TrajectoryDataset` — trajectories as Parquet (schema in ``gail_pipeline.trajectories``),
  validated on load; errors name the file and the field.
* :class:`ReferenceReturnsDataset` — the expert's and the random policy's measured returns (JSON).

:class:`PolicyDataset` and :class:`ReferenceReturnsDataset` take a ``fallback_filepath``: the
file loaded when no version has been saved yet — how the experts shipped in
``data/01_raw/experts/`` stand in for the expert stage's outputs until it runs.

Both write through a temporary file and rename, so a half-written file is never mistaken for a
finished one, and a versioned save never touches earlier versions.
"""

from __future__ import annotations

import json
import os
from pathlib import PurePosixPath
from typing import Any

import fsspec
import pandas as pd
from kedro.io.core import (
    AbstractVersionedDataset,
    DatasetError,
    Version,
    get_protocol_and_path,
)

from gail_pipeline.rl.policies import Policy, load_policy, save_policy
from gail_pipeline.trajectories import (
    Demonstrations,
    read_trajectories,
    write_trajectories,
)

__all__ = ["JSONDataset", "PolicyDataset", "ReferenceReturnsDataset", "TableDataset", "TrajectoryDataset"]


class _LocalVersionedDataset(AbstractVersionedDataset):
    """Shared plumbing: a local (or fsspec-local) file, optionally versioned."""

    def __init__(
        self,
        filepath: str,
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
        fallback_filepath: str | None = None,
    ) -> None:
        protocol, path = get_protocol_and_path(filepath, version)
        if protocol not in ("file", ""):
            raise DatasetError(f"{type(self).__name__} supports local files only, got {filepath!r}")
        self._fs = fsspec.filesystem("file")
        self.metadata = metadata
        self._fallback = fallback_filepath
        super().__init__(
            filepath=PurePosixPath(path),
            version=version,
            exists_function=self._fs.exists,
            glob_function=self._fs.glob,
        )

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "version": self._version, "fallback": self._fallback}

    def _path_to_load(self) -> tuple[str, str | None]:
        """(path, version): the saved version to load, else the fallback file (version
        ``"shipped"``) unless a load version was asked for; a clear error when there is neither."""
        if self._exists():
            version = self.resolve_load_version() if self._version is not None else None
            return str(self._get_load_path()), version
        pinned = self._version is not None and self._version.load is not None
        if self._fallback and not pinned and self._fs.exists(self._fallback):
            return self._fallback, "shipped"
        if pinned:
            raise DatasetError(f"{self._filepath}: version {self._version.load} was asked for and does not exist")
        hint = f" and no fallback at {self._fallback}" if self._fallback else ""
        raise DatasetError(f"{self._filepath}: nothing saved yet{hint}; run the stage that writes it")

    def _exists(self) -> bool:
        try:
            path = self._get_load_path()
        except DatasetError:
            return False
        return self._fs.exists(str(path))

    def _release(self) -> None:
        super()._release()
        self._invalidate_cache()

    def _invalidate_cache(self) -> None:
        self._fs.invalidate_cache(str(self._filepath))

    def _prepare_save_path(self) -> str:
        path = str(self._get_save_path())
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        return path


class PolicyDataset(_LocalVersionedDataset):
    """A policy file (``.pt``), e.g. ``data/06_models/cartpole/expert_policy.pt``."""

    def load(self) -> Policy:
        path, version = self._path_to_load()
        policy = load_policy(path)
        if version is not None:
            policy.metadata["version"] = version
        policy.metadata["path"] = path
        return policy

    def save(self, data: Policy) -> None:
        if not isinstance(data, Policy):
            raise DatasetError(f"PolicyDataset saves Policy objects, got {type(data).__name__}")
        path = self._prepare_save_path()
        tmp = path + ".tmp"
        save_policy(data, tmp)
        os.replace(tmp, path)
        self._invalidate_cache()


class TrajectoryDataset(_LocalVersionedDataset):
    """Trajectories in the project's Parquet schema, validated when read."""

    def load(self) -> Demonstrations:
        path = str(self._get_load_path())
        demonstrations = read_trajectories(path)
        if self._version is not None:
            demonstrations.metadata["version"] = self.resolve_load_version()
        demonstrations.metadata["path"] = path
        return demonstrations

    def save(self, data: Demonstrations) -> None:
        if not isinstance(data, Demonstrations):
            raise DatasetError(
                f"TrajectoryDataset saves Demonstrations objects, got {type(data).__name__}"
            )
        path = self._prepare_save_path()
        tmp = path + ".tmp"
        write_trajectories(data, tmp)
        os.replace(tmp, path)
        self._invalidate_cache()


class ReferenceReturnsDataset(_LocalVersionedDataset):
    """The expert stage's measured returns (a JSON object), e.g.
    ``data/08_reporting/cartpole/reference_returns.json``."""

    def load(self) -> dict[str, Any]:
        path, version = self._path_to_load()
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        if version == "shipped":
            data["expert_version"] = "shipped"
        return data

    def save(self, data: dict[str, Any]) -> None:
        path = self._prepare_save_path()
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
        os.replace(tmp, path)
        self._invalidate_cache()


class TableDataset(_LocalVersionedDataset):
    """A DataFrame as CSV without its index (learning curves, results tables)."""

    def load(self) -> pd.DataFrame:
        path, _ = self._path_to_load()
        return pd.read_csv(path)

    def save(self, data: pd.DataFrame) -> None:
        if not isinstance(data, pd.DataFrame):
            raise DatasetError(f"TableDataset saves DataFrames, got {type(data).__name__}")
        path = self._prepare_save_path()
        tmp = path + ".tmp"
        data.to_csv(tmp, index=False)
        os.replace(tmp, path)
        self._invalidate_cache()


class JSONDataset(_LocalVersionedDataset):
    """A JSON object (an evaluation's returns and score)."""

    def load(self) -> dict[str, Any]:
        path, _ = self._path_to_load()
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)

    def save(self, data: dict[str, Any]) -> None:
        path = self._prepare_save_path()
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
        os.replace(tmp, path)
        self._invalidate_cache()
