"""Speed levers `citeqa bench` can try without changing qa/ or index/: thread counts, the embedder's engine and dtype,
int8 dynamic quantisation of the generator's linear layers, and an embedding micro-benchmark that also
tries ONNX Runtime (fp32 and int8) when `onnxruntime` is importable.

Each lever is applied from the outside, through public attributes (`Index(config, embedder=...)`,
`Embedder(backend=, dtype=)`, `CausalGenerator.model`), so a measured win can be moved into the product as is.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.runtime import query_threads


@dataclass(frozen=True, slots=True)
class Levers:
    threads: int | None = None  # torch threads in every process the bench starts (None: torch decides)
    embed_dtype: str = "auto"  # the embedder's weights: auto (the product: bf16 where native), float32, bfloat16
    embed_threads: int | None = None  # torch threads while embedding queries (None: same as threads)
    generator_int8: bool = False  # int8 dynamic quantisation of the generator's nn.Linear layers (from fp32)
    bf16_cache: bool = False  # the default model from a bfloat16 safetensors copy instead of the fp32 cache
    embed_backend: str = "auto"  # the product's choice, or force "transformers" / "sentence-transformers"

    @property
    def product(self) -> bool:
        """True when nothing differs from what `citeqa` itself runs (threads aside)."""
        return (self.embed_dtype == "auto" and not self.generator_int8 and self.embed_threads is None
                and not self.bf16_cache and self.embed_backend == "auto")

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


class ThreadedEmbedder:
    """An `index.embedding.Embedder` that embeds with its own torch thread count."""

    def __init__(self, embedder, threads: int) -> None:
        self.inner = embedder
        self.threads = threads

    def __getattr__(self, name: str):  # dimension, max_tokens, tokenizer, model_id, count_tokens, ...
        return getattr(self.inner, name)

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        with query_threads(self.threads):
            return self.inner.encode(texts, progress=progress)

    def encode_documents(self, texts: list[str], progress: bool = False) -> np.ndarray:
        with query_threads(self.threads):
            return self.inner.encode_documents(texts, progress=progress)


def make_embedder(model: str, batch_size: int, levers: Levers):
    """The product's Embedder, run the way the levers say."""
    from index.embedding import Embedder

    embedder = Embedder(model, batch_size=batch_size, backend=levers.embed_backend, dtype=levers.embed_dtype)
    return ThreadedEmbedder(embedder, levers.embed_threads) if levers.embed_threads else embedder


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
        bert = embedder.encoder.model

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

    base = Embedder(model, batch_size=batch_size, backend="sentence-transformers", dtype="float32")
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

    engines = {"sentence-transformers float32": base.encode_documents}
    for dtype in ("float32", "bfloat16"):
        engine = Embedder(model, batch_size=batch_size, backend="transformers", dtype=dtype)
        engines[f"transformers {dtype}"] = engine.encode_documents
    for threads in thread_counts:
        torch.set_num_threads(threads)
        for name, encode in engines.items():
            record(name, threads, encode)
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        rows.append({"backend": "onnxruntime", "error": "onnxruntime is not installed (pip install onnxruntime onnx)"})
    else:
        exporter = Embedder(model, batch_size=batch_size, backend="transformers")  # exported, never changed
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
