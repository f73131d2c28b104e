"""The embedded store (the default): generations of SQLite + FAISS + BM25 in one folder (see index.store)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from index.config import IndexConfig
from index.store import Snapshot, Writer, collect_garbage, open_snapshot, read_current
from index.vectors import approximate


class FaissWriter(Writer):
    """A generation writer that switches the dense index to IVF, when configured, just before publishing."""

    def __init__(self, root: Path, base: Snapshot | None, manifest: dict[str, Any], config: IndexConfig) -> None:
        super().__init__(root, base, manifest)
        self.config = config

    def publish(self) -> Path:
        self.dense = approximate(self.dense, self.config.dense_kind, self.config.approximate_threshold,
                                 self.config.ivf_nprobe)
        return super().publish()


class FaissStore:
    def __init__(self, config: IndexConfig) -> None:
        self.config = config
        self.root = config.path
        self.location = str(config.path)

    def exists(self) -> bool:
        return read_current(self.root) is not None

    def open(self, current: Snapshot | None) -> Snapshot:
        if current is not None and read_current(self.root) == current.folder:
            return current
        return open_snapshot(self.root)

    def writer(self, base: Snapshot | None, manifest: dict[str, Any]) -> FaissWriter:
        return FaissWriter(self.root, base, manifest, self.config)

    def collect_garbage(self) -> None:
        collect_garbage(self.root)

    def close(self) -> None:
        pass
