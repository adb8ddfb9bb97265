"""Kedro datasets for the project's own file formats.

* :class:`PolicyDataset` — a policy file of :func:`gail_pipeline.rl.policies.save_policy`
  (weights + normaliser + metadata), loadable without Kedro by ``load_policy``. When versioned,
  the loaded policy's ``metadata["version"]`` is the version it was loaded from, so downstream
  artifacts can record which expert made them.
* :class:`TrajectoryDataset` — trajectories as Parquet (schema in ``gail_pipeline.trajectories``),
  validated on load; errors name the file and the field.
* :class:`ReferenceReturnsDataset` — the expert's and the random policy's measured returns (JSON).
* :class:`VideoDataset` — a rollout video (:class:`gail_pipeline.video.Video`) as MP4 (H.264).
  (kedro-datasets 9.6 has no video dataset; one by OpenCV would write ``mp4v``, which browsers
  do not play.)

:class:`PolicyDataset` and :class:`ReferenceReturnsDataset` take a ``fallback_filepath``: the
file loaded when no version has been saved yet — how the experts shipped in
``data/01_raw/experts/`` stand in for the expert stage's outputs until it runs.

Every dataset here (and :class:`TableDataset` for CSV tables, :class:`JSONDataset` for JSON
objects) reads and writes through fsspec, so a path may be local or on object storage
(``s3://bucket/…``, with ``fs_args`` for the file system's options) — what workers on a cluster
need to share their data. Local saves go through a temporary file and a rename, so a half-written
file is never mistaken for a finished one; a versioned save never touches earlier versions.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import IO, Any

import fsspec
import pandas as pd
import pyarrow.parquet as pq
from kedro.io.core import (
    AbstractVersionedDataset,
    DatasetError,
    Version,
    get_filepath_str,
    get_protocol_and_path,
)

from gail_pipeline.rl.policies import Policy, load_policy, save_policy
from gail_pipeline.trajectories import Demonstrations, read_trajectories, to_table
from gail_pipeline.video import FORMATS, Video, decode

__all__ = [
    "JSONDataset",
    "PolicyDataset",
    "ReferenceReturnsDataset",
    "TableDataset",
    "TrajectoryDataset",
    "VideoDataset",
]


class _VersionedFileDataset(AbstractVersionedDataset):
    """Shared plumbing: one file on any fsspec file system (local paths, ``s3://``, ``gs://``,
    ``memory://`` …), optionally versioned, with an optional local fallback file."""

    def __init__(
        self,
        filepath: str,
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
        fallback_filepath: str | None = None,
        fs_args: dict[str, Any] | None = None,
    ) -> None:
        protocol, path = get_protocol_and_path(filepath, version)
        self._protocol = protocol
        self._fs = fsspec.filesystem(protocol, **(fs_args or {}))
        self.metadata = metadata
        self._fallback = fallback_filepath
        super().__init__(
            filepath=PurePosixPath(path),
            version=version,
            exists_function=self._fs.exists,
            glob_function=self._fs.glob,
        )

    @property
    def _is_local(self) -> bool:
        return self._protocol in ("file", "")

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._filepath),
            "protocol": self._protocol,
            "version": self._version,
            "fallback": self._fallback,
        }

    def _url(self, path: PurePosixPath | str) -> str:
        return get_filepath_str(PurePosixPath(path), self._protocol)

    def _path_to_load(self) -> tuple[str, str | None]:
        """(url, version): the saved version to load, else the fallback file (version
        ``"shipped"``) unless a load version was asked for; a clear error when there is neither."""
        if self._exists():
            version = self.resolve_load_version() if self._version is not None else None
            url = self._url(self._get_load_path())
            return (url if self._is_local else f"{self._protocol}://{url}"), version
        pinned = self._version is not None and self._version.load is not None
        if self._fallback and not pinned and os.path.exists(self._fallback):
            return self._fallback, "shipped"
        if pinned:
            raise DatasetError(
                f"{self._filepath}: version {self._version.load} was asked for and does not exist"
            )
        hint = f" and no fallback at {self._fallback}" if self._fallback else ""
        raise DatasetError(f"{self._filepath}: nothing saved yet{hint}; run the stage that writes it")

    def _exists(self) -> bool:
        try:
            path = self._get_load_path()
        except DatasetError:
            return False
        return self._fs.exists(self._url(path))

    def _release(self) -> None:
        super()._release()
        self._invalidate_cache()

    def _invalidate_cache(self) -> None:
        self._fs.invalidate_cache(self._url(self._filepath))

    def _read(self, reader: Callable[[IO, str], Any], mode: str = "rb") -> tuple[Any, str, str | None]:
        """``(reader(file, url), url, version)`` of the version to load (or the fallback)."""
        url, version = self._path_to_load()
        text = {} if "b" in mode else {"encoding": "utf-8"}
        with fsspec.open(url, mode, **text) as handle:
            return reader(handle, url), url, version

    def _write(self, writer: Callable[[IO], None], mode: str = "wb") -> str:
        """Write the save version with ``writer(file)``. Locally through a temporary name and a
        rename, so a half-written file never looks finished; on object storage directly (an
        object appears only once its upload is complete). Returns the path written."""
        path = self._url(self._get_save_path())
        if self._is_local:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            tmp = path + ".tmp"
            with open(tmp, mode) as handle:
                writer(handle)
            os.replace(tmp, path)
        else:
            self._fs.makedirs(str(PurePosixPath(path).parent), exist_ok=True)
            with self._fs.open(path, mode) as handle:
                writer(handle)
        self._invalidate_cache()
        return path


class PolicyDataset(_VersionedFileDataset):
    """A policy file (``.pt``), e.g. ``data/06_models/cartpole/expert_policy.pt``."""

    def load(self) -> Policy:
        policy, url, version = self._read(lambda handle, url: load_policy(handle, name=url))
        if version is not None:
            policy.metadata["version"] = version
        policy.metadata["path"] = url
        return policy

    def save(self, data: Policy) -> None:
        if not isinstance(data, Policy):
            raise DatasetError(f"PolicyDataset saves Policy objects, got {type(data).__name__}")
        self._write(lambda handle: save_policy(data, handle))


class TrajectoryDataset(_VersionedFileDataset):
    """Trajectories in the project's Parquet schema, validated when read."""

    def load(self) -> Demonstrations:
        demonstrations, url, version = self._read(lambda handle, url: read_trajectories(handle, name=url))
        if version is not None:
            demonstrations.metadata["version"] = version
        demonstrations.metadata["path"] = url
        return demonstrations

    def save(self, data: Demonstrations) -> None:
        if not isinstance(data, Demonstrations):
            raise DatasetError(f"TrajectoryDataset saves Demonstrations objects, got {type(data).__name__}")
        self._write(lambda handle: pq.write_table(to_table(data), handle))


class ReferenceReturnsDataset(_VersionedFileDataset):
    """The expert stage's measured returns (a JSON object), e.g.
    ``data/08_reporting/cartpole/reference_returns.json``."""

    def load(self) -> dict[str, Any]:
        data, _, version = self._read(lambda handle, _: json.load(handle), "r")
        if version == "shipped":
            data["expert_version"] = "shipped"
        return data

    def save(self, data: dict[str, Any]) -> None:
        self._write(lambda handle: handle.write(json.dumps(data, indent=2).encode()))


class TableDataset(_VersionedFileDataset):
    """A DataFrame as CSV without its index (learning curves, results tables)."""

    def load(self) -> pd.DataFrame:
        return self._read(lambda handle, _: pd.read_csv(handle), "r")[0]

    def save(self, data: pd.DataFrame) -> None:
        if not isinstance(data, pd.DataFrame):
            raise DatasetError(f"TableDataset saves DataFrames, got {type(data).__name__}")
        self._write(lambda handle: handle.write(data.to_csv(index=False).encode()))


class JSONDataset(_VersionedFileDataset):
    """A JSON object (an evaluation's returns and score)."""

    def load(self) -> dict[str, Any]:
        return self._read(lambda handle, _: json.load(handle), "r")[0]

    def save(self, data: dict[str, Any]) -> None:
        self._write(lambda handle: handle.write(json.dumps(data, indent=2).encode()))


class VideoDataset(_VersionedFileDataset):
    """A rollout video as ``.mp4`` (H.264); loads back as a :class:`~gail_pipeline.video.Video`
    (frames and fps; ``metadata``: version and path)."""

    def __init__(self, filepath: str, *args: Any, **kwargs: Any) -> None:
        self._format = PurePosixPath(filepath).suffix.lstrip(".").lower()
        if self._format not in FORMATS:
            raise DatasetError(f"{filepath}: a video file ends in {' or '.join('.' + f for f in FORMATS)}")
        super().__init__(filepath, *args, **kwargs)

    def load(self) -> Video:
        (frames, fps), url, version = self._read(lambda handle, _: decode(handle.read(), self._format))
        return Video(frames, fps, {"version": version, "path": url})

    def save(self, data: Video) -> None:
        if not isinstance(data, Video):
            raise DatasetError(f"VideoDataset saves Video objects, got {type(data).__name__}")
        self._write(lambda handle: handle.write(data.encoded(self._format)))
