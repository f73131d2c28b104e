"""Issue 10's targets (and issue 19's start inside the process) next to what a run measured: each one met, not
met, or not measured (and why)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bench.corpus import NEWS_SIZE
from bench.machine import BUSY_LOAD

SMALL = "qwen-0.5b"
LARGE = "qwen-1.5b"
MIN_CHUNKS_FOR_A_RATE = 1000


@dataclass(frozen=True, slots=True)
class Target:
    figure: str
    target: str  # as the issue writes it
    measured: float | None
    unit: str  # "s", "ms", "GB", "chunks/s", "min" or "pass rate"
    met: bool | None  # None: not measured, or not judged on this corpus
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def get(data: Any, *keys: str) -> Any:
    """data[k1][k2]..., or None where a key is missing."""
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def judge(measured: float | None, limit: float, at_most: bool = True) -> bool | None:
    if measured is None:
        return None
    return measured <= limit if at_most else measured >= limit


def _why_not(results: dict, stage: str, model: str = "") -> str:
    """Why a stage left no figure: skipped, failed, or its model was not among those measured."""
    status = get(results, "stages", stage) or {}
    error = get(results, stage, model, "error") if model else None
    if status.get("status") == "failed" or error:
        return f"the {stage} stage failed: {str(error or status.get('error', ''))[:160]}"
    if status.get("status") == "skipped":
        return f"the {stage} stage was skipped: {status.get('reason', '')}"
    if model:
        return f"{model} is not among the generators measured (--generator)"
    return f"the {stage} stage did not measure it"


def _busy_note(results: dict, stage: str) -> str:
    loads = get(results, "stages", stage, "load") or []
    busiest = max((x for x in loads if x is not None), default=None)
    if busiest is not None and busiest > BUSY_LOAD:
        return f"measured while the load average was {busiest:.1f} (> {BUSY_LOAD}): the machine was busy"
    return ""


def _row(results: dict, stage: str, figure: str, target: str, measured: float | None, limit: float, unit: str,
         at_most: bool = True, note: str = "", judged: bool = True, model: str = "") -> Target:
    """A target row; `judged=False` shows the figure without a verdict (it was measured on the wrong corpus)."""
    if measured is None:
        return Target(figure, target, None, unit, None, _why_not(results, stage, model))
    notes = [n for n in (note, _busy_note(results, stage)) if n]
    return Target(figure, target, measured, unit, judge(measured, limit, at_most) if judged else None,
                  "; ".join(notes))


def _answer_rows(results: dict) -> list[Target]:
    seeds = get(results, "corpus", "name") == "seeds"
    corpus_note = "" if seeds else f"the target is for the seed questions; measured on {get(results, 'corpus', 'name')}"
    rows = []
    for model, limit in ((SMALL, 0.6), (LARGE, 1.5)):
        rows.append(_row(results, "answers", f"answer p50, {model}", f"≤ {limit} s",
                         get(results, "answers", model, "total", "p50"), limit, "s", note=corpus_note, judged=seeds,
                         model=model))
    rows.append(_row(results, "answers", f"first streamed token p50, {SMALL}", "≤ 0.3 s",
                     get(results, "answers", SMALL, "first_token", "p50"), 0.3, "s", note=corpus_note, judged=seeds,
                     model=SMALL))
    # Issue 19: one pass per answer.
    rows.append(_row(results, "answers", f"first streamed token p50, {LARGE} (issue 19)", "≤ 1.0 s",
                     get(results, "answers", LARGE, "first_token", "p50"), 1.0, "s", note=corpus_note, judged=seeds,
                     model=LARGE))
    rows.append(_row(results, "answers", f"index searches per answer, {LARGE} (issue 19)", "≤ 1.1",
                     get(results, "answers", LARGE, "searches"), 1.1, "per answer", model=LARGE))
    rows.append(_row(results, "answers", f"model calls per answer, {LARGE} (issue 19)", "≤ 2.1",
                     get(results, "answers", LARGE, "calls"), 2.1, "per answer", model=LARGE))
    support = get(results, "answers", LARGE, "stages", "support", "p50")
    rows.append(_row(results, "answers", f"the verifier's time per answer p50 (support), {LARGE}", "≤ 0.1 s",
                     support, 0.1, "s", model=LARGE))
    rows.append(_row(results, "answers", f"long answer (why, how, summary): first words p50, {LARGE}", "≤ 1.5 s",
                     get(results, "answers", LARGE, "long", "first_token", "p50"), 1.5, "s", note=corpus_note,
                     judged=seeds, model=LARGE))
    rows.append(_row(results, "answers", f"long answer: whole answer p50, {LARGE}", "≤ 8 s",
                     get(results, "answers", LARGE, "long", "total", "p50"), 8.0, "s", note=corpus_note,
                     judged=seeds, model=LARGE))
    return rows


def _index_rows(results: dict) -> list[Target]:
    index = results.get("index") or {}
    product = index.get("product_engine")
    row = get(index, "engines", product) if product else None
    chunks = get(row, "chunks") or 0
    documents = get(row, "documents") or 0
    enough = chunks >= MIN_CHUNKS_FOR_A_RATE
    full_news = index.get("corpus") == "news" and documents >= NEWS_SIZE
    where = f"{product}, {documents:,} documents, {chunks:,} chunks" if row else ""
    seconds = get(row, "process_seconds")
    return [
        _row(results, "index", "bulk indexing rate (product engine)", "≥ 80 chunks/s", get(row, "chunks_per_s"), 80,
             "chunks/s", at_most=False, judged=enough,
             note=where if enough else f"{where}: too few chunks for a rate (fewer than {MIN_CHUNKS_FOR_A_RATE:,})"),
        _row(results, "index", "10,000 news articles indexed, whole process", "≤ 15 min",
             None if seconds is None else seconds / 60, 15, "min", judged=full_news,
             note=where if full_news else f"{where}: the target is for the 10,000 news articles"),
    ]


def _quality_row(results: dict) -> Target:
    engines = get(results, "quality", "engines") or {}
    ct2, torch = get(engines, "ctranslate2", "pass_rate"), get(engines, "torch", "pass_rate")
    generator = get(results, "quality", "generator") or SMALL
    figure = f"eval pass rate on CTranslate2 int8, {generator} (seeds)"
    if ct2 is None or torch is None:
        missing = [e for e, value in (("ctranslate2", ct2), ("torch", torch)) if value is None]
        note = "; ".join(f"{e}: {get(engines, e, 'error') or 'not measured'}" for e in missing) if engines \
            else _why_not(results, "quality")
        return Target(figure, "not lower than on torch", ct2, "pass rate", None, note)
    subset = get(results, "quality", "subset") or ""
    note = f"torch bfloat16: {torch:.3f}" + (f"; {subset}" if subset else "")
    return Target(figure, f"≥ torch ({torch:.3f})", ct2, "pass rate", ct2 >= torch, note)


def targets(results: dict) -> list[Target]:
    """Every target of issue 10, in the issue's order, and issue 19's start inside the process beside its start."""
    rows = _answer_rows(results)
    default = get(results, "settings", "default_generator") or SMALL
    rows.append(_row(results, "start", f"warm start to first answer, whole `citeqa ask`, {default}",
                     "≤ 3.5 s", get(results, "start", default, "p50"), 3.5, "s", model=default,
                     note=get(results, "start", default, "crashed") or ""))
    breakdown = get(results, "start", default, "breakdown") or {}
    rows.append(_row(results, "start", f"start to first answer inside the process, {default}", "≤ 3.0 s",
                     breakdown.get("since_process_start") or breakdown.get("in_process"), 3.0, "s", model=default,
                     note=f"imports what answering does not need: {', '.join(breakdown['imported'])}"
                     if breakdown.get("imported") else ""))
    for model, limit in ((SMALL, 1.5), (LARGE, 2.5)):
        mb = get(results, "rss", model, "peak_rss_mb")
        rows.append(_row(results, "rss", f"peak RSS serving, {model}", f"≤ {limit} GB",
                         None if mb is None else mb / 1000, limit, "GB", model=model))
    retrieval = results.get("retrieval") or {}
    seconds = get(retrieval, "total", "p50")
    where = f"{get(results, 'corpus', 'name')}: {retrieval.get('chunks', 0):,} chunks" if retrieval else ""
    rows.append(_row(results, "retrieval", "retrieval p50, hybrid", "≤ 25 ms",
                     None if seconds is None else seconds * 1000, 25, "ms", note=where))
    rows += _index_rows(results)
    rows.append(_quality_row(results))
    return rows
