"""Embedding back-ends: one sentence-transformers model folder, run by one of three engines.

- `ctranslate2`: the common layout (Transformer → mean Pooling → Normalize, as all-MiniLM-L6-v2 has),
  converted once to CTranslate2 int8 and cached; tokenised with `tokenizers`, pooled in numpy. No torch
  import, so a question is embedded without paying torch's start-up. Its compute types come from what this
  CPU offers (`index.compute`).
- `transformers`: the same layout on `transformers.AutoModel` (torch), the vectors of sentence-transformers
  to 1e-5, with bfloat16 autocast for bulk encoding where a user asks for it.
- `sentence-transformers`: any other layout, or a hub id.

`auto` runs every mean-pooled folder on CTranslate2, on every CPU: its parallel bulk layout caught up with
torch where torch was fastest (a Xeon with AMX, 2 cores, 1,085 news chunks: CTranslate2 int8 125, int16 81,
float32 66 chunks/s against torch bfloat16 90), and answering then never imports torch (bench/LEVERS.md).

The engines compute the same function of the same weights, so an index moves between them: documents
embedded on torch (bfloat16 or float32) and questions on CTranslate2, or the other way round, found the same
passages as one engine alone (`citeqa bench --only compute`). An index records the engine it was built
with; it opens, is searched and is extended with whichever engine runs here. Only another model is refused
(`index.corpus`).
"""

from __future__ import annotations

import contextlib
import copy
import json
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

from index import compute
from index.compute import CPU
from index.runtime import MODEL_LOADING, go_offline

BACKENDS = ("auto", "ctranslate2", "transformers", "sentence-transformers")
DTYPES = ("auto", "float32", "bfloat16", "int8", "int8_float32", "int16")
DTYPES_BY_ENGINE = {"torch": ("float32", "bfloat16"), "ctranslate2": ("float32", "int8", "int8_float32", "int16")}
TORCH_BACKENDS = ("transformers", "sentence-transformers")  # one engine: the same vectors to 1e-5


class EmbeddingModelError(RuntimeError):
    pass


class EmbeddingEngineError(RuntimeError):
    """The engine failed to load a model that is there: the message names the engine, compute type and CPU."""


def check_choices(backend: str, dtype: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"embedding backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if dtype not in DTYPES:
        raise ValueError(f"embedding dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")


def engine_of(backend: str) -> str:
    """The engine whose vectors a backend computes: "torch" or "ctranslate2"."""
    return "torch" if backend in TORCH_BACKENDS else backend


class Encoder(Protocol):
    dimension: int
    max_tokens: int
    backend: str

    def count_tokens(self, text: str) -> int: ...

    def encode(self, texts: list[str], batch_size: int, progress: bool, dtype: str,
               threads: int | None = None) -> np.ndarray: ...


def resolve_dtype(dtype: str, engine: str = "torch", cpu: CPU | None = None, kind: str = "documents") -> str:
    """The dtype `auto` stands for on this engine and CPU; a dtype the engine or the CPU cannot run names the
    choices. On torch, `kind` "documents" (bulk indexing) may take bfloat16 where AMX computes it natively;
    "query" is always float32."""
    if engine == "ctranslate2":
        if dtype != "auto" and dtype not in DTYPES_BY_ENGINE[engine]:
            raise EmbeddingModelError(f"the ctranslate2 embedding engine computes in "
                                      f"{', '.join(DTYPES_BY_ENGINE[engine])}, not {dtype}")
        return compute.choose("embedder", dtype, cpu)
    if dtype == "auto":
        return "bfloat16" if kind == "documents" and (cpu or compute.this_cpu()).has_amx else "float32"
    if dtype not in DTYPES_BY_ENGINE[engine]:
        raise EmbeddingModelError(f"the {engine} embedding engine computes in {', '.join(DTYPES_BY_ENGINE[engine])}, "
                                  f"not {dtype}")
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


def _settings(folder: Path) -> dict:
    file = folder / "sentence_bert_config.json"
    return json.loads(file.read_text(encoding="utf-8")) if file.exists() else {}


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="Embedding", unit="text", disable=not enabled or total < 64)


def _compute(dtype: str):
    """bfloat16 autocast for the matrix products (float32 weights), or nothing for float32."""
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16) if dtype == "bfloat16" else contextlib.nullcontext()


def _normalise(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


class _CountingTokenizer:
    """Counts tokens on a private copy of a transformers tokenizer.

    Counting without truncation on the model's own tokenizer flips its truncation setting under a concurrent
    encode() in another thread (a query during indexing), which then fails.
    """

    def __init__(self, tokenizer) -> None:
        self.tokenizer = copy.deepcopy(tokenizer)
        self.lock = threading.Lock()

    def __call__(self, text: str) -> int:
        with self.lock:
            return len(self.tokenizer.encode(text, add_special_tokens=True, truncation=False, verbose=False))


class CT2Encoder:
    """Transformer → mean pooling → L2 normalisation on CTranslate2, from a sentence-transformers folder.

    The folder is converted to int8 weights once; each call says the compute type it runs in (int16 and
    float32 widen the weights at load time), and one model is kept per compute type and thread layout.

    One text (a query) runs on `threads` OpenMP threads. Many texts (bulk indexing) run as small batches on
    parallel one-thread workers, `inter_threads` of them: on 2 cores of an AMD EPYC, int8 MiniLM embedded
    800-character chunks at 47 chunks/s as batches of 32 on two threads, and at 100–108 as batches of 4–8 on
    two one-thread workers (bench/LEVERS.md).
    """

    backend = "ctranslate2"
    bulk_batch = 8  # texts per batch in the parallel layout: small batches stay in the CPU's caches

    def __init__(self, folder: Path, cache: Path | None = None, compute_type: str = "float32") -> None:
        from tokenizers import Tokenizer

        from index.model_cache import converted_encoder

        self.converted = converted_encoder(folder, cache)
        settings = _settings(folder)
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self.lowercase = bool(settings.get("do_lower_case"))
        self.max_tokens = int(settings.get("max_seq_length") or config.get("max_position_embeddings") or 512)
        self.dimension = int(config["hidden_size"])
        self.counter = Tokenizer.from_file(str(self.converted / "tokenizer.json"))
        self.counter.no_truncation()
        self.counter.no_padding()
        self.tokenizer = Tokenizer.from_file(str(self.converted / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_tokens)
        self.tokenizer.no_padding()
        self._models: dict[tuple[str, int, int], object] = {}
        self._lock = threading.Lock()
        self.model(compute_type, 1)  # load now, so a broken folder or engine fails here and not on the first query

    def model(self, compute_type: str, threads: int, workers: int = 1):
        """One model per compute type and layout: CTranslate2 fixes both when it loads (int8 MiniLM: 23 MB)."""
        key = (compute_type, threads, workers)
        with self._lock:
            if key not in self._models:
                import ctranslate2

                try:
                    self._models[key] = ctranslate2.Encoder(str(self.converted), device="cpu",
                                                            compute_type=compute_type, intra_threads=threads,
                                                            inter_threads=workers)
                except (RuntimeError, ValueError) as exc:
                    raise EmbeddingEngineError(compute.load_failure(f"the embedding model {self.converted.name}",
                                                                    compute_type, exc)) from None
            return self._models[key]

    def count_tokens(self, text: str) -> int:
        return len(self.counter.encode(text, add_special_tokens=True).ids)

    def _batch(self, model, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch([t.lower() if self.lowercase else t for t in texts])
        tokens = [e.tokens for e in encodings]
        hidden = np.asarray(model.forward_batch(tokens).last_hidden_state, dtype=np.float32)
        lengths = np.array([len(t) for t in tokens])
        mask = (np.arange(hidden.shape[1])[None, :] < lengths[:, None]).astype(np.float32)[..., None]
        return _normalise((hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9))

    def encode(self, texts: list[str], batch_size: int, progress: bool, dtype: str,
               threads: int | None = None) -> np.ndarray:
        """`threads` given: batches of `batch_size` on that many threads. None: the parallel bulk layout."""
        from concurrent.futures import ThreadPoolExecutor

        workers = 1 if threads else max(1, min(compute.default_threads(), len(texts) // self.bulk_batch))
        size = batch_size if threads or workers == 1 else self.bulk_batch
        model = self.model(dtype, threads or (compute.default_threads() if workers == 1 else 1), workers)
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths share a batch
        batches = [order[i:i + size] for i in range(0, len(texts), size)]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with _progress(len(texts), progress) as bar, ThreadPoolExecutor(workers) as pool:
            for idx, vectors in zip(batches, pool.map(lambda b: self._batch(model, [texts[j] for j in b]), batches),
                                    strict=True):
                out[idx] = vectors
                bar.update(len(idx))
        return out


class TransformersEncoder:
    """Transformer → mean pooling → L2 normalisation on torch, read from a sentence-transformers folder."""

    backend = "transformers"

    def __init__(self, folder: Path) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        settings = _settings(folder)
        self.torch = torch
        self.lowercase = bool(settings.get("do_lower_case"))
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.count_tokens = _CountingTokenizer(self.tokenizer)
        self.model = AutoModel.from_pretrained(str(folder), dtype=torch.float32).eval()
        self.max_tokens = int(settings.get("max_seq_length") or self.tokenizer.model_max_length)
        self.dimension = int(self.model.config.hidden_size)

    def encode(self, texts: list[str], batch_size: int, progress: bool, dtype: str,
               threads: int | None = None) -> np.ndarray:
        """`threads` is the caller's business here: torch's thread count is process-wide (index.runtime)."""
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
        self.count_tokens = _CountingTokenizer(self.model.tokenizer)
        self.dimension = int(self.model.get_embedding_dimension())
        self.max_tokens = int(self.model.max_seq_length)

    def encode(self, texts: list[str], batch_size: int, progress: bool, dtype: str,
               threads: int | None = None) -> np.ndarray:
        with _compute(dtype):
            vectors = self.model.encode(texts, batch_size=batch_size, convert_to_tensor=True,
                                        show_progress_bar=progress and len(texts) >= 64)
        return _normalise(vectors.float().numpy())


def choose_backend(name_or_folder: str, backend: str = "auto") -> str:
    """The backend `auto` stands for with this model: CTranslate2 for a mean-pooled folder on every CPU (see the
    module's docstring for the measurements), sentence-transformers for any other layout or a hub id."""
    check_choices(backend, "auto")
    folder = Path(name_or_folder)
    native = folder.is_dir() and mean_pooled_layout(folder)
    if backend in ("transformers", "ctranslate2") and not native:
        raise EmbeddingModelError(f"{name_or_folder} is not a mean-pooled sentence-transformers folder: "
                                  "use embedding backend 'sentence-transformers' (or 'auto')")
    if backend != "auto":
        return backend
    return "ctranslate2" if native else "sentence-transformers"


def load_encoder(name_or_folder: str, backend: str = "auto", cache: Path | None = None,
                 cpu: CPU | None = None) -> Encoder:
    """The model on the backend asked for, or on the one `auto` stands for."""
    backend = choose_backend(name_or_folder, backend)
    go_offline()
    with MODEL_LOADING:
        if backend == "ctranslate2":
            return CT2Encoder(Path(name_or_folder), cache, resolve_dtype("auto", "ctranslate2", cpu, "query"))
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        if backend == "transformers":
            return TransformersEncoder(Path(name_or_folder))
        return SentenceTransformersEncoder(name_or_folder)
