"""What `Index` needs from storage, so the same add/sync/remove/search logic runs on any store.

Two stores implement it: the embedded FAISS + SQLite + BM25 folder (`index.faiss_store`, the default) and
Milvus (`index.milvus_store`), for indexes that outgrow one machine or serve several chat processes. A store
hands out snapshots: one consistent, read-only view that answers every read of one answer, while a writer
builds the next view and publishes it at once.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from index.documents import Chunk, Document
from index.store import DocumentInfo, IndexError_

if TYPE_CHECKING:
    from index.config import IndexConfig

STORES = ("faiss", "milvus")
MILVUS_TOKEN_ENV = "CITEQA_MILVUS_TOKEN"
MILVUS_INDEXES = ("FLAT", "HNSW", "IVF_FLAT", "IVF_PQ", "DISKANN", "AUTOINDEX")  # the last three: servers only
_COLLECTION = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,200}")


class StoreUnavailableError(IndexError_):
    """The store cannot be reached; the message names where it was looked for and what to do."""


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
    location: str  # shown in messages: a folder, or a Milvus URI and collection

    def exists(self) -> bool: ...

    def open(self, current: StoreSnapshot | None) -> StoreSnapshot:
        """The live view: `current` itself when nothing was published since it was opened."""

    def writer(self, base: StoreSnapshot | None, manifest: dict[str, Any]) -> StoreWriter:
        """A writer of the next view, starting from `base` (None: from nothing, as for --rebuild)."""

    def collect_garbage(self) -> None: ...

    def close(self) -> None: ...


def check_store_settings(store: str, milvus_uri: str, milvus_collection: str, milvus_index: str) -> None:
    if store not in STORES:
        raise ValueError(f"store must be one of {', '.join(STORES)}, not {store!r}")
    if milvus_uri and not (milvus_uri.endswith(".db") or re.match(r"(https?|tcp|unix)://", milvus_uri)):
        raise ValueError(f"milvus_uri must be a Milvus Lite file ending in .db or a server URL such as "
                         f"http://localhost:19530, not {milvus_uri!r}")
    if milvus_collection and not _COLLECTION.fullmatch(milvus_collection):
        raise ValueError(f"milvus_collection must be letters, digits and underscores (not starting with a digit), "
                         f"not {milvus_collection!r}")
    if milvus_index not in MILVUS_INDEXES:
        raise ValueError(f"milvus_index must be one of {', '.join(MILVUS_INDEXES)}, not {milvus_index!r}")


def open_store(config: IndexConfig) -> Store:
    if config.store == "milvus":
        from index.milvus_store import MilvusStore  # pymilvus loads only for this store

        return MilvusStore(config)
    from index.faiss_store import FaissStore

    return FaissStore(config)
