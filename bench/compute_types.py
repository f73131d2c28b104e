"""Stage `compute`: does an index move between CPUs, and which compute type may bulk indexing use?

For every pair of CTranslate2 compute types this CPU offers (documents embedded in one, queries in the other,
as when an index built on one machine is searched on another), recall@5 of the gold document on the seed
questions and on the general dev set, hybrid and dense. Run under `CT2_USE_MKL=1` on an AMD CPU, CTranslate2
also offers int16 (through Intel MKL, slowly), which stands in for an Intel machine's index.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

Log = Callable[[str], None]
K = 5


def _questions(path: Path) -> list[tuple[str, str]]:
    from eval.dataset import load_set

    return [(q.question, q.source) for q in load_set(path).questions if q.answerable]


def question_sets(out: Path, log: Log) -> dict[str, tuple[Path, list[tuple[str, str]]]]:
    """{name: (documents folder, [(question, gold source)])} for the seeds and the general dev set's tune half."""
    from eval.dataset import DEFAULT_SET
    from eval.halueval import SetSpec
    from eval.halueval_set import build

    seeds = Path(__file__).resolve().parents[1] / "seeds"
    built = build(out / "halueval", SetSpec(), log=log)
    return {"seeds": (seeds, _questions(DEFAULT_SET)), "general": (built.documents, _questions(built.set_path))}


def recall(index, questions: list[tuple[str, str]], vectors, mode: str) -> float:
    hits = 0
    for (question, source), vector in zip(questions, vectors, strict=True):
        hits += any(p.source == source for p in index.search(question, K, mode, vector[None, :]))
    return hits / len(questions) if questions else 0.0


def measure(out: Path, log: Log, types: list[str] | None = None) -> dict[str, Any]:
    from index.compute import this_cpu
    from index.config import IndexConfig
    from index.corpus import Index
    from index.embedding import Embedder

    cpu = this_cpu()
    offered = [t for t in ("int8", "int8_float32", "int16", "float32") if t in cpu.compute_types]
    types = [t for t in (types or offered) if t in offered]
    sets = question_sets(out, log)
    rows = []
    for docs in types:
        embedder = Embedder(backend="ctranslate2", dtype=docs)
        for name, (folder, questions) in sets.items():
            index = Index(IndexConfig(path=out / "compute" / f"{name}-{docs}", embedding_backend="ctranslate2",
                                      embedding_dtype=docs), embedder=embedder)
            index.add([folder], rebuild=True)
            for query in types:
                vectors = Embedder(backend="ctranslate2", dtype=query).encoder.encode(
                    [q for q, _ in questions], 32, False, query, 1)
                row = {"set": name, "documents": docs, "queries": query, "questions": len(questions),
                       **{f"recall@{K} {mode}": round(recall(index, questions, vectors, mode), 4)
                          for mode in ("hybrid", "dense")}}
                log(f"  {row}")
                rows.append(row)
            index.close()
    return {"cpu": cpu.describe(), "types": types, "rows": rows,
            "pairs": [f"{a}->{b}" for a, b in itertools.product(types, types)]}
