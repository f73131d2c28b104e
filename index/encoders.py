"""Embedding back-ends: one sentence-transformers model folder, run by either of two engines.

`transformers` runs the common layout (Transformer → mean Pooling → Normalize, as all-MiniLM-L6-v2 has)
on `transformers.AutoModel` directly. It gives the same vectors as sentence-transformers, but its start is
seconds shorter: importing sentence-transformers pulls scikit-learn. Any other layout, or a hub id, runs on
`sentence-transformers` itself. Weights stay float32; a bulk encode (documents being indexed) can run under
bfloat16 autocast, about 2.5× faster on CPUs with native bf16 (AVX512-BF16 or AMX) at a cosine of 0.9999 to
float32. Queries and evidence sentences are always float32: near-tied sentences must rank as they always did.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from index.runtime import MODEL_LOADING

BACKENDS = ("auto", "transformers", "sentence-transformers")
DTYPES = ("auto", "float32", "bfloat16")


class EmbeddingModelError(RuntimeError):
    pass


def check_choices(backend: str, dtype: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"embedding backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if dtype not in DTYPES:
        raise ValueError(f"embedding dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")


class Encoder(Protocol):
    tokenizer: object
    dimension: int
    max_tokens: int
    backend: str

    def encode(self, texts: list[str], batch_size: int, progress: bool, dtype: str) -> np.ndarray: ...


def native_bf16() -> bool:
    """True when this CPU computes bfloat16 natively; elsewhere bf16 is emulated and slower than float32."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_dtype(dtype: str) -> str:
    if dtype == "auto":
        return "bfloat16" if native_bf16() else "float32"
    return dtype


def mean_pooled_layout(folder: Path) -> bool:
    """True for a sentence-transformers folder that is a Transformer with mean pooling (and maybe Normalize)."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return False
    other_modes = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v
                   and k != "pooling_mode_mean_tokens"]
    return (kinds[:2] == ["Transformer", "Pooling"] and set(kinds[2:]) <= {"Normalize"}
            and bool(pooling.get("pooling_mode_mean_tokens")) and not other_modes)


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="Embedding", unit="text", disable=not enabled or total < 64)


def _compute(dtype: str):
    """bfloat16 autocast for the matrix products (float32 weights), or nothing for float32."""
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16) if dtype == "bfloat16" else contextlib.nullcontext()


class TransformersEncoder:
    """Transformer → mean pooling → L2 normalisation, read from a sentence-transformers folder."""

    backend = "transformers"

    def __init__(self, folder: Path) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        settings_file = folder / "sentence_bert_config.json"
        settings = json.loads(settings_file.read_text(encoding="utf-8")) if settings_file.exists() else {}
        self.torch = torch
        self.lowercase = bool(settings.get("do_lower_case"))
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.model = AutoModel.from_pretrained(str(folder), dtype=torch.float32).eval()
        self.max_tokens = int(settings.get("max_seq_length") or self.tokenizer.model_max_length)
        self.dimension = int(self.model.config.hidden_size)

    def encode(self, texts: list[str], batch_size: int, progress: bool, dtype: str) -> np.ndarray:
        torch = self.torch
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths share a batch
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with torch.inference_mode(), _compute(dtype), _progress(len(texts), progress) as bar:
            for i in range(0, len(texts), batch_size):
                idx = order[i:i + batch_size]
                batch = self.tokenizer([texts[j].lower() if self.lowercase else texts[j] for j in idx],
                                       padding=True, truncation=True, max_length=self.max_tokens,
                                       return_tensors="pt")
                hidden = self.model(**batch).last_hidden_state.float()
                mask = batch["attention_mask"].unsqueeze(-1).float()
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out[idx] = torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()
                bar.update(len(idx))
        return out


class SentenceTransformersEncoder:
    """Any model sentence-transformers can load: custom layouts, other pooling, hub ids in the local cache."""

    backend = "sentence-transformers"

    def __init__(self, name_or_folder: str) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(name_or_folder, device="cpu")
        self.tokenizer = self.model.tokenizer
        self.dimension = int(self.model.get_embedding_dimension())
        self.max_tokens = int(self.model.max_seq_length)

    def encode(self, texts: list[str], batch_size: int, progress: bool, dtype: str) -> np.ndarray:
        with _compute(dtype):
            vectors = self.model.encode(texts, batch_size=batch_size, convert_to_tensor=True,
                                        show_progress_bar=progress and len(texts) >= 64)
        vectors = vectors.float().numpy()
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def load_encoder(name_or_folder: str, backend: str = "auto") -> Encoder:
    """The fastest engine that reproduces sentence-transformers' vectors for this model."""
    check_choices(backend, "auto")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    with MODEL_LOADING:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        folder = Path(name_or_folder)
        native = folder.is_dir() and mean_pooled_layout(folder)
        if backend == "transformers" and not native:
            raise EmbeddingModelError(f"{name_or_folder} is not a mean-pooled sentence-transformers folder: "
                                      "use embedding backend 'sentence-transformers' (or 'auto')")
        if backend == "transformers" or (backend == "auto" and native):
            return TransformersEncoder(folder)
        return SentenceTransformersEncoder(name_or_folder)
