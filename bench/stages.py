"""What `citeqa bench` measures in its own process: retrieval, answers beside the naive baseline, answer
quality per engine, and the hook of the store comparison."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.corpus import QUICK_EVERY, BenchCorpus
from eval.naive import NaiveRAG
from bench.timing import percentiles

NAIVE_MAX_DOCUMENTS = 300  # the baseline's flat index on a large corpus: its answer time depends on k, not on size
Log = Callable[[str], None]


class StageSkipped(Exception):
    """A stage that has nothing to measure in this run; the message says why."""


def retrieval(index, queries: list[str], k: int, mode: str) -> dict[str, Any]:
    """Query embedding and hybrid search, timed apart, over every query (after three untimed ones)."""
    for query in queries[:3]:
        index.search(query, k, mode, index.embed_query(query))
    embed, search = [], []
    for query in queries:
        t0 = time.perf_counter()
        vector = index.embed_query(query)
        t1 = time.perf_counter()
        index.search(query, k, mode, vector)
        embed.append(t1 - t0)
        search.append(time.perf_counter() - t1)
    return {"mode": mode, "k": k, "chunks": int(index.snapshot().dense.ntotal), "embedding": index.embedder.engine,
            "total": percentiles([a + b for a, b in zip(embed, search, strict=True)]),
            "embed": percentiles(embed), "search": percentiles(search)}


def _final(stream) -> Any:
    *_, answer = stream
    return answer


def _answer_row(records: list, load_seconds: float, engine: str) -> dict[str, Any]:
    """Short answers' figures; long answers (why, how, summaries) timed apart under "long"."""
    long = [a.timings for q, a in records if getattr(q, "long", False)]
    records = [(q, a) for q, a in records if not getattr(q, "long", False)]
    timings = [a.timings for _, a in records]
    return {"engine": engine, "questions": len(records), "load_seconds": round(load_seconds, 2),
            "long": {"questions": len(long), "total": percentiles([t["total"] for t in long]),
                     "first_token": percentiles([t["first_token"] for t in long if "first_token" in t])} if long else {},
            "abstained": sum(1 for _, a in records if a.abstained),
            "calls": round(float(np.mean([a.calls for _, a in records])), 3) if records else None,
            "searches": round(float(np.mean([a.searches for _, a in records])), 3) if records else None,
            "total": percentiles([t["total"] for t in timings]),
            "first_token": percentiles([t["first_token"] for t in timings if "first_token" in t]),
            "stages": {s: percentiles([t[s] for t in timings if s in t])
                       for s in ("retrieve", "select", "generate", "support", "reader", "verify")},
            "items": [{"question": q.text, "text": a.text, "abstained": a.abstained,
                       "timings": {k: round(v, 4) for k, v in a.timings.items()}} for q, a in records]}


def _naive_row(records: list, citeqa_totals: list[float], built: dict[str, Any]) -> dict[str, Any]:
    totals = [n.timings["total"] for _, n in records]
    row = {**built, "questions": len(records), "total": percentiles(totals),
           "first_token": percentiles([n.timings["first_token"] for _, n in records if "first_token" in n.timings]),
           "items": [{"question": q.text, "text": n.text, "timings": {k: round(v, 4) for k, v in n.timings.items()}}
                     for q, n in records]}
    if totals and row["total"]["p50"]:
        row["ratio_p50"] = float(np.percentile(citeqa_totals, 50)) / row["total"]["p50"]
        # Per question, citeqa's time over the naive time for the same question asked right after it.
        row["ratio_paired_median"] = float(np.median([c / n for c, n in zip(citeqa_totals, totals, strict=True)]))
    return row


def _answer_with(assistant, questions: list, naive: NaiveRAG | None, log: Log) -> tuple[dict, dict | None]:
    """One generator's answer row, and the naive row when `naive` is given and the generator is a language model."""
    mark = time.perf_counter()
    generator = assistant.generator
    load = time.perf_counter() - mark
    naive = naive if hasattr(generator, "stream_messages") else None
    if naive is not None and naive.facts is None:
        naive.build()
    _final(assistant.stream(questions[0].text))  # untimed: lazy caches and first calls are not latency
    if naive is not None:
        naive.answer(generator, questions[0].text)
    records, naive_records = [], []
    for n, q in enumerate(questions, 1):
        records.append((q, _final(assistant.stream(q.text))))
        if naive is not None:
            naive_records.append((q, naive.answer(generator, q.text)))
        if n % 20 == 0:
            log(f"  {generator.name}: {n}/{len(questions)} questions")
    row = _answer_row(records, load, generator.engine)
    log(f"  {generator.name} ({generator.engine}): answer p50 {row['total']['p50']:.3f} s")
    if naive is None:
        return row, None
    naive_row = _naive_row(naive_records, [a.timings["total"] for _, a in records], naive.facts)
    log(f"  naive on {generator.name}: p50 {naive_row['total']['p50']:.3f} s")
    return row, naive_row


def answers(make_assistant: Callable[[str], Any], generators: list[str], corpus: BenchCorpus, with_naive: bool,
            embedder, log: Log) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each generator answers every question through `Assistant.stream`; with `with_naive`, the naive baseline
    answers each question right after it on the same loaded generator, so both see the same machine load.

    Returns ({generator: answer row}, {generator: naive row}); a generator that fails has an error row.
    """
    questions = list(corpus.questions)
    if not questions:
        raise StageSkipped(f"the {corpus.name} corpus gave no questions")
    limit = NAIVE_MAX_DOCUMENTS if corpus.documents > NAIVE_MAX_DOCUMENTS else None
    naive = NaiveRAG(embedder, corpus.folder, limit) if with_naive else None
    answer_rows: dict[str, Any] = {}
    naive_rows: dict[str, Any] = {}
    for name in generators:
        try:
            answer_rows[name], naive_row = _answer_with(make_assistant(name), questions, naive, log)
        except Exception as exc:  # noqa: BLE001 - the next generator is still worth measuring
            answer_rows[name] = {"error": f"{exc.__class__.__name__}: {exc}"[:600]}
            log(f"  {name} failed: {exc}")
            continue
        finally:
            gc.collect()  # one generator in memory at a time
        if naive_row is not None:
            naive_rows[name] = naive_row
    if all("error" in row for row in answer_rows.values()):
        raise RuntimeError("; ".join(f"{n}: {r['error']}" for n, r in answer_rows.items()))
    return answer_rows, naive_rows


QUALITY_KEYS = ("questions", "passed", "pass_rate", "containment", "f1", "citation_recall", "citation_precision",
                "grounding", "abstention_f1", "errors")


def quality(generator: str, index_dir: Path, quick: bool, log: Log) -> dict[str, Any]:
    """The seeds eval with `generator` on CTranslate2 and on torch: does int8 cost answer quality?"""
    from eval.cli import DEFAULT_CORPUS
    from eval.dataset import QuestionSet, load_set
    from eval.runner import run_eval
    from eval.summary import summarize
    from qa.config import Config

    question_set = load_set()
    subset = ""
    if quick:
        question_set = QuestionSet(question_set.path, question_set.questions[::QUICK_EVERY], question_set.sha256)
        subset = f"every {QUICK_EVERY}th seed question ({len(question_set.questions)}) (--quick)"
    rows: dict[str, Any] = {}
    for engine in ("ctranslate2", "torch"):
        try:
            run = run_eval(question_set, index_dir, DEFAULT_CORPUS, [generator], modes=("hybrid",), progress=False,
                           config=Config(engine=engine))
            summary = summarize(run)["summary"]["answers"][generator]
            rows[engine] = {k: summary.get(k) for k in QUALITY_KEYS}
            rows[engine]["answer_p50"] = (summary.get("latency") or {}).get("total", {}).get("p50")
            log(f"  {generator} on {engine}: pass rate {summary['pass_rate']:.3f}")
        except Exception as exc:  # noqa: BLE001 - the other engine's score is still worth having
            rows[engine] = {"error": f"{exc.__class__.__name__}: {exc}"[:600]}
            log(f"  {generator} on {engine} failed: {exc}")
        gc.collect()
    return {"generator": generator, "subset": subset, "engines": rows}


def store_comparison(stores: list[str], corpus: BenchCorpus, out: Path, embedder, log: Log,
                     milvus_uri: str | None = None) -> dict[str, Any]:
    """The store comparison (bench/stores.py): indexing rate and retrieval p50 per store, on the bench's
    corpus; report.py shows its rows under "Stores"."""
    if not stores:
        raise StageSkipped("no --store given")
    from bench import stores as store_bench

    return store_bench.compare_stores(corpus.folder, list(corpus.queries), out / f"stores-{corpus.name}",
                                      stores=tuple(stores), milvus_uri=milvus_uri, embedder=embedder, log=log)


def lm_generators(generators: list[str]) -> list[str]:
    """The language-model generators among `generators` (all but extractive)."""
    return [g for g in generators if g != "extractive"]


def pick(generators: list[str], preferred: str) -> str | None:
    """`preferred` when it is among the language models asked for, else the first of them."""
    models = lm_generators(generators)
    return preferred if preferred in models else (models[0] if models else None)
