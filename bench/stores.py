"""`citeqa bench --store milvus`: one corpus indexed into each store, indexing rate and retrieval latency side by side.

Embedding costs the same whatever the store, so the chunks are embedded once, before any store is timed, and
each store then indexes from those vectors: its rate is the store's own (chunking, writing, publishing).
Retrieval is a hybrid search (dense + BM25 + weighted RRF + reading the passages) with the query vectors
computed beforehand, so the times are the store's as well.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from index.config import IndexConfig
from index.corpus import Index
from index.stores import STORES


class ReusedEmbeddings:
    """The embedder, with document vectors computed once and handed to every store that indexes the same texts."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder
        self.vectors: dict[str, np.ndarray] = {}
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Any:  # dimension, count_tokens, encode, ...: the real embedder's
        return getattr(self.embedder, name)

    def encode_documents(self, texts: list[str], progress: bool = False) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        if missing:
            started = time.perf_counter()
            for text, vector in zip(missing, self.embedder.encode_documents(missing, progress=progress), strict=True):
                self.vectors[text] = vector
            self.seconds += time.perf_counter() - started
        if not texts:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        return np.vstack([self.vectors[t] for t in texts]).astype(np.float32)


def percentiles_ms(seconds: list[float]) -> dict[str, float]:
    values = np.asarray(seconds, dtype=float) * 1000
    return {"count": len(values), "p50": round(float(np.percentile(values, 50)), 2),
            "p95": round(float(np.percentile(values, 95)), 2), "mean": round(float(values.mean()), 2)}


def config_for(store: str, folder: Path, milvus_uri: str | None) -> IndexConfig:
    if store == "milvus":
        return IndexConfig(path=folder, store="milvus", milvus_uri=milvus_uri or str(folder / "milvus.db"),
                           milvus_collection="citeqa_bench")
    return IndexConfig(path=folder)


def compare_stores(corpus: Path, queries: list[str], out: Path, stores: tuple[str, ...] = tuple(STORES),
                   milvus_uri: str | None = None, k: int = 5, embedder: Any = None,
                   log=lambda message: None) -> dict[str, Any]:
    """Index `corpus` into each store under `out` (from scratch) and time it and `queries`; a dict of results."""
    if embedder is None:
        from index.embedding import Embedder

        embedder = Embedder()
    reused = ReusedEmbeddings(embedder)
    vectors = [embedder.encode([q]) for q in queries]
    results: dict[str, Any] = {"corpus": str(corpus), "queries": len(queries), "k": k, "stores": {}}
    found: dict[str, list[list[str]]] = {}
    for store in stores:
        folder = out / f"index-{store}"
        shutil.rmtree(folder, ignore_errors=True)
        index = Index(config_for(store, folder, milvus_uri), embedder=reused)
        embedded_before = reused.seconds
        log(f"{store}: indexing {corpus}")
        started = time.perf_counter()
        report = index.add([corpus], rebuild=True, progress=sys.stderr.isatty())
        seconds = time.perf_counter() - started - (reused.seconds - embedded_before)
        if store == stores[0]:
            results["embedding"] = {"chunks": report.chunks_embedded, "seconds": round(reused.seconds, 2),
                                    "chunks_per_s": round(report.chunks_embedded / max(reused.seconds, 1e-9), 1)}
        snapshot = index.snapshot()
        index.search(queries[0], k, query_vector=vectors[0], snapshot=snapshot)  # warm: first use loads caches
        times, tops = [], []
        log(f"{store}: {len(queries)} queries")
        for query, vector in zip(queries, vectors, strict=True):
            started = time.perf_counter()
            passages = index.search(query, k, query_vector=vector, snapshot=snapshot)
            times.append(time.perf_counter() - started)
            tops.append([p.source for p in passages])
        found[store] = tops
        results["stores"][store] = {
            "documents": len(report.added), "chunks": report.chunks_embedded, "index_seconds": round(seconds, 2),
            "chunks_per_s": round(report.chunks_embedded / max(seconds, 1e-9), 1),
            "retrieval_ms": percentiles_ms(times),
        }
        index.close()
    if "faiss" in found and "milvus" in found:
        same = sum(a == b for a, b in zip(found["faiss"], found["milvus"], strict=True))
        results["same_top_sources"] = f"{same}/{len(queries)}"
        faiss_p50 = results["stores"]["faiss"]["retrieval_ms"]["p50"]
        results["milvus_p50_over_faiss"] = round(results["stores"]["milvus"]["retrieval_ms"]["p50"] / faiss_p50, 2)
    results["load_average"] = [round(x, 2) for x in os.getloadavg()]
    results["cpus"] = os.cpu_count()
    return results


def table(results: dict[str, Any]) -> str:
    lines = ["| store | documents | chunks | indexing (chunks/s, embedding excluded) | retrieval p50 | p95 |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for store, row in results["stores"].items():
        ms = row["retrieval_ms"]
        lines.append(f"| {store} | {row['documents']:,} | {row['chunks']:,} | {row['chunks_per_s']:,.0f} | "
                     f"{ms['p50']:.1f} ms | {ms['p95']:.1f} ms |")
    embedding = results.get("embedding", {})
    lines.append(f"\nEmbedding (once, shared): {embedding.get('chunks', 0):,} chunks in {embedding.get('seconds', 0)} s. "
                 f"{results['queries']} hybrid queries, k={results['k']}. Same top-{results['k']} sources: "
                 f"{results.get('same_top_sources', 'n/a')}. Milvus p50 / FAISS p50: "
                 f"{results.get('milvus_p50_over_faiss', 'n/a')}. Load average {results['load_average']} on "
                 f"{results['cpus']} CPUs (a shared machine).")
    return "\n".join(lines)
