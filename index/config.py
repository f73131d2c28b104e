"""Index settings in one place; every field has a default a user can override (CLI flag or config dict)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from platformdirs import user_cache_dir

from index.embedding import DEFAULT_EMBEDDING_MODEL
from index.encoders import check_choices
from index.milvus_store import check_milvus_settings
from index.stores import STORES
from index.vectors import check_dense_settings


def default_index_dir() -> Path:
    return Path(user_cache_dir("citeqa")) / "index"


@dataclass(frozen=True, slots=True)
class IndexConfig:
    path: Path = None  # type: ignore[assignment]  # filled with default_index_dir() in __post_init__
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    # How the embedding model runs, not what it computes: "auto" picks the transformers engine for
    # mean-pooled folders, and indexes in bfloat16 on CPUs that have it natively (2.5x faster, cosine
    # 0.9999 to float32). Queries and evidence sentences are always embedded in float32.
    embedding_backend: str = "auto"  # "auto", "transformers" or "sentence-transformers"
    embedding_dtype: str = "auto"  # of document embedding: "auto", "bfloat16" or "float32"
    query_threads: int | None = 1  # torch and FAISS threads for one query (None: leave their settings)
    chunk_tokens: int = 200
    overlap_tokens: int = 40
    batch_size: int = 32
    max_file_mb: float = 25.0
    lock_timeout: float = 600.0
    # Hybrid fusion: BM25 leads and dense breaks ties. Measured on the seeds set, R@5 / MRR: equal weights
    # with k=60 0.926 / 0.756, BM25 alone 0.963 / 0.809, dense 0.3 + BM25 1.0 with k=10 0.988 / 0.795.
    rrf_k: int = 10
    dense_weight: float = 0.3
    keyword_weight: float = 1.0
    candidates: int = 50
    dense_kind: str = "auto"  # "flat", "ivf", or "auto": IVF past approximate_threshold chunks
    approximate_threshold: int = 200_000
    ivf_nprobe: int = 64  # IVF cells scanned per query: recall against speed, fixed when the IVF index is built
    # Where the index lives (docs/scale.md): "faiss" keeps it in `path`; "milvus" in Milvus at `milvus_uri`, a
    # Milvus Lite file (*.db; "" is path/milvus.db) or a server URL, whose token comes only from the environment
    # (CITEQA_MILVUS_TOKEN). Its collections are named after milvus_collection ("" means after path's folder).
    store: str = "faiss"
    milvus_uri: str = ""
    milvus_collection: str = ""
    milvus_index: str = "FLAT"  # the dense index Milvus builds: FLAT, HNSW, IVF_FLAT, IVF_PQ, DISKANN, AUTOINDEX

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path).expanduser() if self.path else default_index_dir())
        check_dense_settings(self.dense_kind, self.ivf_nprobe)
        check_choices(self.embedding_backend, self.embedding_dtype)
        if self.store not in STORES:
            raise ValueError(f"store must be one of {', '.join(STORES)}, not {self.store!r}")
        check_milvus_settings(self.milvus_uri, self.milvus_collection, self.milvus_index)
        if self.query_threads is not None and self.query_threads < 1:
            raise ValueError("query_threads must be at least 1, or None")
        if self.chunk_tokens < 16:
            raise ValueError("chunk_tokens must be at least 16")
        if self.dense_weight < 0 or self.keyword_weight < 0 or self.dense_weight + self.keyword_weight <= 0:
            raise ValueError("fusion weights must be non-negative and not both zero")
        if self.max_file_mb <= 0:
            raise ValueError("max_file_mb must be positive")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> IndexConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown index settings: {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
        return cls(**values)

    def with_(self, **changes: Any) -> IndexConfig:
        return replace(self, **changes)
