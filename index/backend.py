"""What `Index` needs from storage, so the same add/sync/remove/search logic runs on any store.

Two stores implement it: the embedded FAISS + SQLite + BM25 folder (`index.faiss_store`, the default) and
Milvus (`index.milvus_store`), for indexes that outgrow one machine or serve several chat processes;
`index.stores` names them. A store hands out snapshots: one consistent, read-only view that answers every
read of one answer, while a writer builds the next view and publishes it at once. What every store reports
in the same words lives here too: the errors, whose messages say what to run, and `DocumentInfo`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

from index.documents import Chunk, Document

SCHEMA_VERSION = 1  # of what a store holds; an index of another version is rebuilt, never read
MILVUS_TOKEN_ENV = "CITEQA_MILVUS_TOKEN"


class IndexError_(RuntimeError):
    """Base for index problems whose message tells the user what to run."""


class IndexMismatchError(IndexError_):
    pass


class IndexCorruptError(IndexError_):
    pass


class IndexMissingError(IndexError_):
    pass


class StoreUnavailableError(IndexError_):
    """The store cannot be reached; the message names where it was looked for and what to do."""


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    source: str
    title: str
    sha256: str
    chunks: int
    characters: int
    indexed_at: float


class StoreSnapshot(Protocol):
    manifest: dict[str, Any]

    @property
    def key(self) -> str:
        """Names this view; it changes whenever a writer publishes (a cache key for document texts)."""

    @property
    def size(self) -> int:
        """Chunks searchable in this view."""

    def documents(self) -> list[DocumentInfo]: ...

    def hashes(self) -> dict[str, str]: ...

    def document(self, source: str) -> Document | None: ...

    def chunks(self, ids: list[int]) -> dict[int, tuple[Chunk, str]]:
        """Chunk and its document's title, by chunk id."""

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(chunk id, inner product) of the k nearest chunks, best first."""

    def keyword_search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) of the k best chunks sharing a term with the query, best first."""

    def dense_scores(self, vector: np.ndarray, ids: list[int]) -> dict[int, float]:
        """Inner product of the query with these chunks (those BM25 found and dense search did not)."""

    def close(self) -> None: ...


class StoreWriter(Protocol):
    def remove(self, source: str) -> None: ...

    def put(self, document: Document, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Insert or replace one document with its chunks and their vectors."""

    def publish(self) -> None:
        """Make every change visible at once; nothing is visible before."""

    def abort(self) -> None: ...


class Store(Protocol):
    """A place an index lives, built from plain settings named as the `IndexConfig` fields they come from;
    `to_dict()` gives them back, so that `type(store)(**store.to_dict())` is the same store."""

    name: ClassVar[str]  # as `IndexConfig.store` names it
    location: str  # shown in messages: a folder, or a Milvus URI and collection

    def to_dict(self) -> dict[str, Any]: ...

    def exists(self) -> bool: ...

    def open(self, current: StoreSnapshot | None) -> StoreSnapshot:
        """The live view: `current` itself when nothing was published since it was opened."""

    def writer(self, base: StoreSnapshot | None, manifest: dict[str, Any]) -> StoreWriter:
        """A writer of the next view, starting from `base` (None: from nothing, as for --rebuild)."""

    def collect_garbage(self) -> None: ...

    def close(self) -> None: ...
