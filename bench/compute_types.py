"""Stage `compute`: does an index move between CPUs and engines, and which compute type may bulk indexing use?

For every pair of ways to embed this CPU offers (documents embedded in one, queries in the other, as when an
index built on one machine is searched on another, or one built on torch by an earlier citeqa is searched on
CTranslate2), recall@5 of the gold document on the seed questions and on the general dev set, hybrid and
dense. The ways are the CTranslate2 compute types this CPU offers and torch in float32 and bfloat16. Run under
`CT2_USE_MKL=1` on an AMD CPU, CTranslate2 also offers int16 (through Intel MKL, slowly), which stands in for
an Intel machine's index.
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


def ways(cpu, types: list[str] | None = None) -> list[tuple[str, str]]:
    """(backend, dtype) of every way to embed here: the CTranslate2 types the CPU offers (or those of `types`
    it offers), then torch in float32 and bfloat16 when torch is installed."""
    import importlib.util

    offered = [t for t in ("int8", "int8_float32", "int16", "float32") if t in cpu.compute_types]
    chosen = [("ctranslate2", t) for t in (types or offered) if t in offered]
    torch = [("transformers", t) for t in ("float32", "bfloat16") if not types or t in types]
    return chosen + (torch if importlib.util.find_spec("torch") else [])


def label(way: tuple[str, str]) -> str:
    backend, dtype = way
    return f"{'torch' if backend == 'transformers' else backend} {dtype}"


def measure(out: Path, log: Log, types: list[str] | None = None) -> dict[str, Any]:
    from index.compute import this_cpu
    from index.config import IndexConfig
    from index.corpus import Index
    from index.embedding import Embedder

    cpu = this_cpu()
    chosen = ways(cpu, types)
    embedders = {way: Embedder(backend=way[0], dtype=way[1]) for way in chosen}
    sets = question_sets(out, log)
    rows = []
    for docs in chosen:
        for name, (folder, questions) in sets.items():
            index = Index(IndexConfig(path=out / "compute" / f"{name}-{label(docs).replace(' ', '-')}",
                                      embedding_backend=docs[0], embedding_dtype=docs[1]), embedder=embedders[docs])
            index.add([folder], rebuild=True)
            for query in chosen:
                if query[0] == "transformers" and query[1] != "float32":
                    continue  # torch embeds questions in float32 only
                vectors = embedders[query].encoder.encode([q for q, _ in questions], 32, False, query[1], 1)
                row = {"set": name, "documents": label(docs), "queries": label(query), "questions": len(questions),
                       **{f"recall@{K} {mode}": round(recall(index, questions, vectors, mode), 4)
                          for mode in ("hybrid", "dense")}}
                log(f"  {row}")
                rows.append(row)
            index.close()
    names = [label(w) for w in chosen]
    return {"cpu": cpu.describe(), "types": names, "rows": rows,
            "pairs": [f"{a}->{b}" for a, b in itertools.product(names, names)]}
