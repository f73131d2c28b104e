"""bench.json and bench.md: one report per run, written again after every stage so a stopped run keeps its figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from bench.machine import BUSY_LOAD
from bench.processes import START_STAGES
from bench.targets import Target, get, targets


# -- formatting -------------------------------------------------------------------------------------------
def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.1f} ms"


def _gb(mb: float | None) -> str:
    return "—" if mb is None else f"{mb / 1000:.2f} GB"


def measured(row: Target) -> str:
    value = row.measured
    if value is None:
        return "not measured"
    return {"s": f"{value:.2f} s", "ms": f"{value:.1f} ms", "GB": f"{value:.2f} GB",
            "chunks/s": f"{value:.1f} chunks/s", "min": f"{value:.1f} min",
            "per answer": f"{value:.2f} per answer"}.get(row.unit, f"{value:.3f}")


def verdict(row: Target) -> str:
    return {True: "met", False: "**not met**", None: "—"}[row.met]


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def table(header: list[str], rows: list[list[Any]]) -> list[str]:
    """A markdown table; every row gets exactly as many cells as the header (a short one, such as an error row,
    is padded)."""
    width = len(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * width]
    for row in rows:
        if len(row) > width:
            raise ValueError(f"a row of {len(row)} cells under a header of {width}: {row}")
        cells = [_cell(c) for c in row]
        lines.append("| " + " | ".join(cells + ["—"] * (width - len(cells))) + " |")
    return lines + [""]


# -- sections ---------------------------------------------------------------------------------------------
def _header(results: dict) -> list[str]:
    m = results.get("machine") or {}
    c = results.get("corpus") or {}
    versions = ", ".join(f"{k} {v}" for k, v in (m.get("versions") or {}).items() if v)
    amx = "AMX" if m.get("amx") else "no AMX" + (" (avx512_bf16 only: torch bfloat16 is emulated)"
                                                  if m.get("avx512_bf16") else "")
    lines = [f"# citeqa bench: {c.get('name', '?')} corpus", "",
             f"{results.get('started', '')}, `{results.get('command', 'citeqa bench')}`, "
             f"{results.get('seconds', 0):.0f} s in all{' (--quick)' if results.get('quick') else ''}.  ",
             f"Machine: {m.get('cpu')}, {amx}, {m.get('cores')} cores, {m.get('memory_gb')} GB; {m.get('system')}, "
             f"Python {m.get('python')}; {versions}.  ",
             f"Load average (1 min) at start {m.get('load_average_start')}, at end {m.get('load_average_end')}; "
             f"stages measured while it was above {BUSY_LOAD} are flagged below.  ",
             f"Corpus: {c.get('documents')} documents ({(c.get('bytes') or 0) / 1e6:.1f} MB) in `{c.get('folder')}`; "
             f"{c.get('questions')} questions answered, {c.get('queries')} retrieval queries."
             + (f" {c['note']}." if c.get("note") else ""), ""]
    return lines


def _targets(results: dict) -> list[str]:
    rows = [Target(**r) for r in results.get("targets") or []]
    cpu = get(results, "machine", "cpu") or "?"
    return ["## Targets (issues 10 and 19)", "", f"Every figure measured on {cpu}.", "",
            *table(["figure", "target", "measured", "verdict", "note"],
                   [[r.figure, r.target, measured(r), verdict(r), r.note] for r in rows])]


def _engines(results: dict) -> list[str]:
    engines = results.get("engines") or {}
    if not engines.get("models"):
        return []
    rows, notes = [], []
    for model, data in engines["models"].items():
        for engine, r in data["engines"].items():
            if "error" in r:
                rows.append([model, engine, "—", "—", "—", "—", f"failed: {r['error'][:200]}"])
                continue
            rows.append([model, r["engine"], _s(r["load_seconds"]), r["new_tokens"], _s(get(r, "total", "p50")),
                         _s(get(r, "first_piece", "p50")), ""])
        if "identical" in data:
            differing = f" (differing: prompts {', '.join(str(n + 1) for n in data['differing'])})" \
                if data["differing"] else ""
            notes.append(f"- {model}: identical answers on both engines for {data['identical']} of "
                         f"{data['prompts']} prompts{differing}.")
    return ["## Engines side by side", "",
            f"The same chat prompt of {(engines.get('prompt_tokens') or ['?'])[0]} tokens built from a seed article, "
            f"greedy, at most {engines.get('new_tokens_max')} new tokens, p50 of {engines.get('runs')} runs after an "
            "untimed one; then each engine answers the other prompts (of "
            f"{', '.join(map(str, (engines.get('prompt_tokens') or [])[1:])) or '—'} tokens) once.", "",
            *table(["model", "engine", "load", "new tokens", "p50", "first piece p50", "note"], rows),
            *notes, ""]


def _compute(results: dict) -> list[str]:
    data = results.get("compute") or {}
    if not data.get("rows"):
        return []
    rows = [[r["set"], r["documents"], r["queries"], r["questions"], _num(r["recall@5 hybrid"], 3),
             _num(r["recall@5 dense"], 3)] for r in data["rows"]]
    return ["## Indexes across CPUs and engines", "",
            f"On {data['cpu']}: documents embedded one way (an engine and its compute type), questions another, as "
            "when an index built on one CPU or engine is searched on another. Recall@5 of the question's own "
            "document.", "",
            *table(["set", "documents in", "questions in", "questions", "recall@5 hybrid", "recall@5 dense"], rows)]


def _answers(results: dict) -> list[str]:
    answers = results.get("answers") or {}
    if not answers:
        return []
    naive = results.get("naive") or {}
    rows = []
    for name, r in answers.items():
        if "error" in r:
            rows.append([name, f"failed: {r['error'][:200]}"])
            continue
        n = naive.get(name) or {}
        rows.append([name, r["engine"], r["questions"], _s(get(r, "total", "p50")), _s(get(r, "total", "p95")),
                     _s(get(r, "first_token", "p50")), r["abstained"], _num(r.get("calls"), 2),
                     _num(r.get("searches"), 2), _s(get(n, "total", "p50")), _num(n.get("ratio_p50"), 2)])
    lines = ["## Answers", "", "Through `Assistant.stream`, one untimed answer first. The naive baseline answers "
             "each question right after citeqa, on the same loaded generator.", "",
             *table(["generator", "engine", "questions", "answer p50", "p95", "first token p50", "abstained",
                     "model calls", "searches", "naive p50", "citeqa / naive p50"], rows)]
    built = next(iter(naive.values()), None)
    if built:
        lines += [f"Naive baseline: flat FAISS over {built['chunks']} chunks of at most {built['chunk_chars']} "
                  f"characters ({built['overlap_chars']} overlap) from {built['documents']} documents, top "
                  f"{built['k']} stuffed into one prompt, no checks.", ""]
    return lines


def _start(results: dict) -> list[str]:
    start, serving = results.get("start") or {}, results.get("rss") or {}
    names = list(dict.fromkeys([*start, *serving]))
    if not names:
        return []
    rows = []
    for name in names:
        s, m = start.get(name) or {}, serving.get(name) or {}
        notes = [f"failed: {e[:200]}" for e in (s.get("error"), m.get("error")) if e]
        notes += [f"citeqa ask: {s['crashed']}"] if s.get("crashed") else []
        notes += [f"serving process {m['crashed']}"] if m.get("crashed") else []
        notes += ["the serving process imported torch"] if m.get("torch_imported") else []
        rows.append([name, _s(s.get("p50")), ", ".join(f"{x:.2f}" for x in s.get("runs", [])),
                     _s(s.get("untimed_first_run_seconds")), _gb(m.get("peak_rss_mb")), m.get("questions", "—"),
                     m.get("engine", "—"), "; ".join(notes)])
    return ["## Start and memory", "",
            "Warm start: whole `citeqa ask` processes, seconds to the answer on stdout, after an untimed run that "
            "builds any missing cache. Memory: the peak resident set (VmHWM) of a process that loads the generator "
            "and answers in turn.",
            "", *table(["generator", "warm start p50", "runs (s)", "untimed first run", "peak RSS serving",
                        "questions served", "engine", "note"], rows), *_start_stages(start)]


def _start_stages(start: dict) -> list[str]:
    rows = []
    for name, row in start.items():
        b = (row or {}).get("breakdown") or {}
        if not b:
            continue
        stages = b.get("stages") or {}
        rows.append([name, *(_s(stages.get(stage)) for stage in START_STAGES), _s(b.get("in_process")),
                     _s(b.get("since_process_start")), ", ".join(b.get("imported") or []) or "none"])
    if not rows:
        return []
    return ["Where the start goes: the stages of `citeqa ask` in fresh processes (`python -m bench.worker start`), "
            "p50 of each; the first answer includes every lazy first call. \"since process start\" adds the "
            "interpreter's own start-up.",
            "", *table(["generator", "imports", "index open", "embedder load", "generator load", "first answer",
                        "in-process total", "since process start", "imported, not needed to answer"], rows)]


def _retrieval(results: dict) -> list[str]:
    r = results.get("retrieval")
    if not r:
        return []
    return ["## Retrieval", "", f"{get(r, 'total', 'count')} queries, {r['mode']} top {r['k']} over {r['chunks']} "
            f"chunks, queries embedded on {r['embedding']}.", "",
            *table(["stage", "p50", "p95"], [[label, _ms(get(r, key, "p50")), _ms(get(r, key, "p95"))] for label, key in
                                            (("query embedding", "embed"), ("search (dense + BM25 + fusion)", "search"),
                                             ("total", "total"))])]


def _index(results: dict) -> list[str]:
    index, noop = results.get("index") or {}, results.get("noop") or {}
    if not index and not noop:
        return []
    rows = []
    for label, r in (index.get("engines") or {}).items():
        mark = " (product default)" if label == index.get("product_engine") else ""
        if "error" in r or "skipped" in r:
            rows.append([label + mark, "—", "—", "—", "—", "—", "—", r.get("error") or r.get("skipped")])
            continue
        rows.append([label + mark, r["documents"], r["chunks"], _num(r["chunks_per_s"], 1), _s(r["seconds"]),
                     _s(r["process_seconds"]), _s(r["embedder_load_seconds"]),
                     "; ".join(filter(None, [_gb(r["peak_rss_mb"]), r.get("crashed")]))])
    lines = ["## Bulk indexing", ""]
    if rows:
        lines += [f"A fresh index of the {index.get('corpus')} corpus per embedding engine, each in its own process "
                  "(the model loads before `Index.add`: the rate is the indexing alone)."
                  + (f" {index['note']}." if index.get("note") else ""), "",
                  *table(["engine", "documents", "chunks", "chunks/s", "inside add", "whole process", "model load",
                          "peak RSS / note"], rows)]
    if noop:
        lines += [f"No-op re-index (`citeqa index` over the unchanged folder, whole process): p50 {_s(noop['p50'])} "
                  f"over {len(noop['runs'])} runs, {noop['chunks_embedded']} chunks embedded again."
                  + (f" One {noop['crashed']}." if noop.get("crashed") else ""), ""]
    return lines


def _quality(results: dict) -> list[str]:
    quality = results.get("quality") or {}
    if not quality.get("engines"):
        return []
    rows = []
    for engine, r in quality["engines"].items():
        if "error" in r:
            rows.append([engine, f"failed: {r['error'][:200]}"])
            continue
        rows.append([engine, r["questions"], _num(r["pass_rate"]), _num(r["containment"]), _num(r["citation_recall"]),
                     _num(r["grounding"]), _num(r["abstention_f1"]), r["errors"], _s(r.get("answer_p50"))])
    return ["## Answer quality per engine", "",
            f"The seeds eval (`eval.runner.run_eval`, hybrid) with {quality['generator']}"
            + (f", {quality['subset']}" if quality.get("subset") else "") + ".", "",
            *table(["engine", "questions", "pass rate", "containment", "citation recall", "grounding",
                    "abstention F1", "errors", "answer p50"], rows)]


def _stores(results: dict) -> list[str]:
    stores = get(results, "stores", "stores") or {}
    if not stores:
        return []
    rows = [[name, r.get("documents"), r.get("chunks"), _num(r.get("chunks_per_s"), 1),
             _num(get(r, "retrieval_ms", "p50"), 1), _num(get(r, "retrieval_ms", "p95"), 1)]
            for name, r in stores.items()]
    return ["## Stores", "", *table(["store", "documents", "chunks", "indexing chunks/s (embedding excluded)",
                                     "retrieval p50 (ms)", "p95 (ms)"], rows)]


def _stages(results: dict) -> list[str]:
    rows = []
    for name, s in (results.get("stages") or {}).items():
        loads = " → ".join(_num(x, 2) for x in s.get("load", []))
        note = s.get("reason") or s.get("error") or ""
        if s.get("busy"):
            note = f"busy machine (load > {BUSY_LOAD}): figures are pessimistic. {note}".strip()
        rows.append([name, s["status"] if s["status"] != "failed" else "**failed**", _s(s.get("seconds")), loads,
                     note[:400]])
    return ["## Stages", "", *table(["stage", "status", "took", "load average", "note"], rows)] if rows else []


def markdown(results: dict) -> str:
    sections = [_header, _targets, _engines, _answers, _start, _retrieval, _index, _quality, _stores, _compute, _stages]
    return "\n".join(line for section in sections for line in section(results))


def summary_lines(results: dict) -> list[str]:
    """The targets as short terminal lines."""
    out = [f"citeqa bench on {get(results, 'corpus', 'name')}"]
    for r in (Target(**row) for row in results.get("targets") or []):
        out.append(f"  {r.figure}: {measured(r)} (target {r.target}) {verdict(r).strip('*')}")
    out += [f"  {name} failed: {s.get('error', '')[:200]}" for name, s in (results.get("stages") or {}).items()
            if s["status"] == "failed"]
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def write(results: dict, out: Path) -> tuple[Path, Path]:
    """Targets recomputed from the figures so far, then OUT/bench.json and OUT/bench.md."""
    results["targets"] = [t.to_dict() for t in targets(results)]
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "bench.json", out / "bench.md"
    json_path.write_text(json.dumps(results, indent=2, default=_plain) + "\n", encoding="utf-8")
    md_path.write_text(markdown(results), encoding="utf-8")
    return json_path, md_path
