"""Speed levers `citeqa bench` can try without changing qa/ or index/: thread counts, a bf16 embedder,
int8 dynamic quantisation of the generator's linear layers, and an embedding micro-benchmark that also
tries ONNX Runtime (fp32 and int8) when `onnxruntime` is importable.

Each lever is applied from the outside, through public attributes (`Index(config, embedder=...)`,
`Embedder.model`, `CausalGenerator.model`), so a measured win can be moved into the product as is.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

EMBED_DTYPES = ("float32", "bfloat16")


@dataclass(frozen=True, slots=True)
class Levers:
    threads: int | None = None  # torch threads in every process the bench starts (None: torch decides)
    embed_dtype: str = "float32"  # the embedder's weights: float32 (the product) or bfloat16
    embed_threads: int | None = None  # torch threads while embedding queries (None: same as threads)
    generator_int8: bool = False  # int8 dynamic quantisation of the generator's nn.Linear layers (from fp32)
    bf16_cache: bool = False  # the default model from a bfloat16 safetensors copy instead of the fp32 cache
    embed_backend: str = "sentence-transformers"  # or "transformers": AutoModel + mean pooling, no ST import

    @property
    def product(self) -> bool:
        """True when nothing differs from what `citeqa` itself runs (threads aside)."""
        return (self.embed_dtype == "float32" and not self.generator_int8 and self.embed_threads is None
                and not self.bf16_cache and self.embed_backend == "sentence-transformers")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def argv(self) -> list[str]:
        """The same levers as worker command-line flags."""
        out = ["--embed-dtype", self.embed_dtype, "--embed-backend", self.embed_backend]
        if self.embed_threads:
            out += ["--embed-threads", str(self.embed_threads)]
        if self.threads:
            out += ["--threads", str(self.threads)]
        if self.generator_int8:
            out.append("--generator-int8")
        return out


def set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


class CastEmbedder:
    """An `index.embedding.Embedder` whose model runs in another dtype; vectors are re-normalised in float32."""

    def __init__(self, embedder, dtype: str = "bfloat16", threads: int | None = None) -> None:
        import torch

        self.inner = embedder
        self.dtype = dtype
        self.threads = threads
        if dtype != "float32":
            embedder.model.to(getattr(torch, dtype))

    def __getattr__(self, name: str):  # dimension, max_tokens, tokenizer, model_id, count_tokens, ...
        return getattr(self.inner, name)

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if self.threads:
            import torch

            before = torch.get_num_threads()
            torch.set_num_threads(self.threads)
            try:
                vectors = self.inner.encode(texts, progress=progress)
            finally:
                torch.set_num_threads(before)
        else:
            vectors = self.inner.encode(texts, progress=progress)
        vectors = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


class DirectEmbedder:
    """The same embeddings as `index.embedding.Embedder` for a mean-pooled, normalised model such as
    all-MiniLM-L6-v2, run on `transformers.AutoModel` directly: sentence-transformers is never imported
    (its import pulls scikit-learn and scipy.stats and costs seconds of every start)."""

    def __init__(self, model: str, batch_size: int = 32) -> None:
        import json
        import os

        import torch
        from transformers import AutoModel, AutoTokenizer

        from index.embedding import resolve_model_path

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        path = Path(resolve_model_path(model))
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling = json.loads((path / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
        if kinds[:2] != ["Transformer", "Pooling"] or not pooling.get("pooling_mode_mean_tokens"):
            raise ValueError(f"{model}: only mean-pooled sentence-transformers folders run without the library")
        self.torch = torch
        self.model_id = model
        self.batch_size = batch_size
        self.normalize = "Normalize" in kinds
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        self.model = AutoModel.from_pretrained(str(path)).eval()
        config = json.loads((path / "sentence_bert_config.json").read_text(encoding="utf-8"))
        self.max_tokens = int(config.get("max_seq_length", 512))
        self.dimension = int(self.model.config.hidden_size)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=True, truncation=False, verbose=False))

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        torch = self.torch
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths share a batch
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with torch.inference_mode():
            for i in range(0, len(texts), self.batch_size):
                idx = order[i:i + self.batch_size]
                batch = self.tokenizer([texts[j] for j in idx], padding=True, truncation=True,
                                       max_length=self.max_tokens, return_tensors="pt")
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                if self.normalize:
                    pooled = torch.nn.functional.normalize(pooled.float(), p=2, dim=1)
                out[idx] = pooled.float().numpy()
        return out


def make_embedder(model: str, batch_size: int, levers: Levers):
    """The product's Embedder, wrapped when a lever changes how it runs."""
    if levers.embed_backend == "transformers":
        embedder = DirectEmbedder(model, batch_size=batch_size)
    else:
        from index.embedding import Embedder

        embedder = Embedder(model, batch_size=batch_size)
    if levers.embed_dtype != "float32" or levers.embed_threads:
        return CastEmbedder(embedder, levers.embed_dtype, levers.embed_threads)
    return embedder


def quantize_generator(generator) -> float:
    """int8 dynamic quantisation of a transformers generator's Linear layers, in place; returns seconds."""
    import warnings

    import torch

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        generator.model = torch.ao.quantization.quantize_dynamic(generator.model, {torch.nn.Linear},
                                                                 dtype=torch.qint8)
    return time.perf_counter() - started


def bf16_model_folder(cache: Path, log=lambda _: None) -> Path:
    """A bfloat16 copy of the converted default model (built once): what qa/weights.py could cache instead.

    The product caches the dequantised model in float32 (2.4 GB) and casts it to bfloat16 at every start,
    which costs seconds and holds both copies in memory at once; a bfloat16 folder is loaded as it is.
    """
    import json
    import shutil
    import uuid

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from qa.weights import ensure_default_model

    hf_logging.disable_progress_bar()
    source = ensure_default_model()
    try:
        saved = json.loads((source / "citeqa-complete.json").read_text(encoding="utf-8")).get("dtype")
    except (OSError, ValueError):
        saved = None
    if saved == "bfloat16":  # qa/weights.py already caches the model in bfloat16: nothing to copy
        return source
    folder = cache / f"{source.name}-bfloat16"
    if (folder / "citeqa-complete.json").is_file():
        return folder
    log(f"  writing a bfloat16 copy of the default model to {folder} (once)")
    cache.mkdir(parents=True, exist_ok=True)
    staging = cache / f".{folder.name}.{uuid.uuid4().hex[:8]}"
    try:
        model = AutoModelForCausalLM.from_pretrained(str(source), dtype=torch.bfloat16)
        model.save_pretrained(staging)
        AutoTokenizer.from_pretrained(str(source)).save_pretrained(staging)
        (staging / "citeqa-complete.json").write_text(json.dumps({"source": str(source), "dtype": "bfloat16"}),
                                                      encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def config_for(config, levers: Levers):
    """The answering Config the levers need (int8 quantisation starts from float32 weights)."""
    changes: dict[str, Any] = {}
    if levers.generator_int8:
        changes["dtype"] = "float32"
    if levers.threads:
        changes["threads"] = levers.threads
    return config.with_(**changes) if changes else config


# -- embedding micro-benchmark ------------------------------------------------------------------------
def _throughput(encode, texts: list[str]) -> tuple[float, np.ndarray]:
    encode(texts[:8])  # first-call costs are not throughput
    started = time.perf_counter()
    vectors = encode(texts)
    return len(texts) / (time.perf_counter() - started), np.asarray(vectors, dtype=np.float32)


def _onnx_encoder(embedder, folder: Path, int8: bool, threads: int):
    """Export the embedder's transformer to ONNX (cached), optionally int8-quantise it, and return an encode()."""
    import onnxruntime as ort
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    fp32 = folder / "model.onnx"
    tokenizer = embedder.tokenizer
    max_length = int(embedder.max_tokens)
    if not fp32.is_file():
        module = embedder.model[0]
        bert = getattr(module, "auto_model", None) or module.model

        class Wrapped(torch.nn.Module):
            def __init__(self, inner) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=token_type_ids).last_hidden_state

        sample = tokenizer(["a short example", "another example sentence"], padding=True, return_tensors="pt")
        names = ["input_ids", "attention_mask", "token_type_ids"]
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(Wrapped(bert.float()).eval(), tuple(sample[n] for n in names), str(fp32),
                              input_names=names, output_names=["hidden"], opset_version=17, dynamo=False,
                              dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "hidden"]})
    path = fp32
    if int8:
        path = folder / "model.int8.onnx"
        if not path.is_file():
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(fp32), str(path), weight_type=QuantType.QInt8)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def encode(texts: list[str], batch_size: int = 32) -> np.ndarray:
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), int(embedder.dimension)), dtype=np.float32)
        for i in range(0, len(texts), batch_size):
            idx = order[i:i + batch_size]
            batch = tokenizer([texts[j] for j in idx], padding=True, truncation=True, max_length=max_length,
                              return_tensors="np")
            feeds = {n: batch[n].astype(np.int64) for n in ("input_ids", "attention_mask", "token_type_ids")}
            hidden = session.run(None, feeds)[0]
            mask = batch["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
            out[idx] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return out

    return encode


def embedding_levers(texts: list[str], queries: list[str], model: str, batch_size: int, cache: Path,
                     thread_counts: tuple[int, ...] = (1, 2), log=lambda _: None) -> dict[str, Any]:
    """Chunks/s and accuracy cost (cosine to float32 torch, top-10 overlap on `queries`) of each backend."""
    import torch

    from index.embedding import Embedder

    base = Embedder(model, batch_size=batch_size)
    rows: list[dict[str, Any]] = []
    before = torch.get_num_threads()
    reference = base.encode(texts)
    query_reference = base.encode(queries) if queries else None

    def overlap(vectors: np.ndarray, query_vectors: np.ndarray | None) -> float | None:
        if query_vectors is None or not len(texts):
            return None
        k = min(10, len(texts))
        truth = np.argsort(-(query_reference @ reference.T), axis=1)[:, :k]
        got = np.argsort(-(query_vectors @ vectors.T), axis=1)[:, :k]
        return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(truth, got, strict=True)]))

    def record(backend: str, threads: int, encode) -> None:
        try:
            speed, vectors = _throughput(encode, texts)
            vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
            cosine = (vectors * reference).sum(1)
            query_vectors = None
            if queries:
                query_vectors = np.asarray(encode(queries), dtype=np.float32)
                query_vectors = query_vectors / np.linalg.norm(query_vectors, axis=1, keepdims=True)
            rows.append({"backend": backend, "threads": threads, "chunks_per_s": round(speed, 2),
                         "min_cosine": round(float(cosine.min()), 5), "mean_cosine": round(float(cosine.mean()), 5),
                         "top10_overlap": None if query_vectors is None else round(overlap(vectors, query_vectors), 4)})
            log(f"  embedding {backend} threads={threads}: {speed:.1f} chunks/s")
        except Exception as exc:  # noqa: BLE001 - one lever failing must not end the benchmark
            rows.append({"backend": backend, "threads": threads, "error": f"{exc.__class__.__name__}: {exc}"[:300]})

    bf16 = CastEmbedder(Embedder(model, batch_size=batch_size), "bfloat16")
    for threads in thread_counts:
        torch.set_num_threads(threads)
        record("torch float32", threads, base.encode)
        record("torch bfloat16", threads, bf16.encode)
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        rows.append({"backend": "onnxruntime", "error": "onnxruntime is not installed (pip install onnxruntime onnx)"})
    else:
        exporter = Embedder(model, batch_size=batch_size)  # its weights are exported, never changed
        for int8 in (False, True):
            for threads in thread_counts:
                name = "onnxruntime int8" if int8 else "onnxruntime float32"
                try:
                    encode = _onnx_encoder(exporter, cache / "onnx-minilm", int8, threads)
                except Exception as exc:  # noqa: BLE001
                    rows.append({"backend": name, "threads": threads,
                                 "error": f"{exc.__class__.__name__}: {exc}"[:300]})
                    continue
                record(name, threads, encode)
    torch.set_num_threads(before)
    return {"texts": len(texts), "mean_chars": round(float(np.mean([len(t) for t in texts])), 1) if texts else 0,
            "rows": rows}
