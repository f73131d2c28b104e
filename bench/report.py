"""The targets of issue 6 next to the measured figures, and bench.md: one markdown report per run."""

from __future__ import annotations

from typing import Any

NEWS_SIZE = 10_000


def _get(data: dict, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _answering(results: dict) -> str | None:
    """The generator the answer targets are about: default, else the first generative one measured."""
    answers = results.get("answers") or {}
    if "default" in answers:
        return "default"
    return next((g for g in answers if g != "extractive"), None)


def _target(figure: str, target: str, measured: float | None, limit: float, unit: str, at_most: bool = True,
            note: str = "") -> dict[str, Any]:
    met = None if measured is None else (measured <= limit if at_most else measured >= limit)
    return {"figure": figure, "target": target, "measured": measured, "unit": unit, "met": met, "note": note}


def targets(results: dict) -> list[dict[str, Any]]:
    """Issue 6's targets that this run measured, each with met True/False (None: not measured)."""
    corpus = _get(results, "corpus", "name")
    documents = _get(results, "index", "documents") or _get(results, "index", "indexed_documents") or 0
    # The whole news corpus (a handful of its 10,000 articles may be skipped as empty or unreadable).
    full_news = corpus == "news" and (_get(results, "corpus", "documents") or 0) >= NEWS_SIZE
    rows = []
    generator = _answering(results)
    if generator:
        p50 = _get(results, "answers", generator, "total", "p50")
        row = _target(f"answer p50, {generator} generator", "≤ 1.5 s", p50, 1.5, "s")
        if corpus != "seeds":
            row.update(met=None, note=f"the target is for seed questions; measured on {corpus}")
        rows.append(row)
        ratio = _get(results, "naive", "ratio_p50")
        rows.append(_target("answer p50 ratio citeqa / naive", "≤ 0.33", ratio, 0.33, "×",
                            note=f"naive p50 {_fmt_s(_get(results, 'naive', 'total', 'p50'))}" if ratio else ""))
        first = _get(results, "answers", generator, "first_token", "p50")
        rows.append(_target("time to first streamed token, p50", "≤ 0.5 s", first, 0.5, "s"))
    warm = _get(results, "start", "warm_seconds")
    if warm is not None:
        start = results.get("start") or {}
        rows.append(_target(f"warm start to first answer ({start.get('warm_generator', start.get('generator'))})",
                            "≤ 5 s", warm, 5, "s"))
    retrieval = _get(results, "retrieval", "total", "p50")
    if retrieval is not None:
        limit = 0.025 if corpus == "seeds" else 0.060
        row = _target(f"retrieval p50 ({corpus})", f"≤ {limit * 1000:.0f} ms", retrieval, limit, "s")
        if corpus != "seeds" and not full_news:
            row.update(met=None, note=f"{documents} documents: the target is for the seeds or the 10k articles")
        rows.append(row)
    speed = _get(results, "index", "chunks_per_s")
    if speed is not None:
        rows.append(_target("indexing throughput", "≥ 60 chunks/s", speed, 60, "chunks/s", at_most=False,
                            note=f"{_get(results, 'index', 'chunks')} chunks, {documents} documents"))
    if full_news and _get(results, "index", "process_seconds") is not None:
        rows.append(_target("10k-article corpus indexed", "≤ 15 min", _get(results, "index", "process_seconds"),
                            900, "s"))
    noop = _get(results, "index", "noop", "process_seconds")
    if noop is not None:
        row = _target("no-op re-index of the 10k articles (whole process)", "≤ 5 s", noop, 5, "s")
        if not full_news:
            row.update(figure="no-op re-index (whole process)", met=None,
                       note=f"{documents} documents: the target is for the 10k articles")
        rows.append(row)
    rss = _get(results, "serving", "peak_rss_mb")
    if rss is not None:
        rows.append(_target(f"peak RSS serving ({_get(results, 'serving', 'generator')})", "≤ 2.5 GB", rss, 2500,
                            "MB"))
    quality = results.get("quality") or {}
    if generator and isinstance(quality.get(generator), dict):
        q = quality[generator]
        levers = _get(results, "settings", "levers") or {}
        changed = levers.get("embed_dtype", "auto") != "auto" or levers.get("generator_int8")
        rows.append({"figure": f"answer quality ({generator})", "target": "no loss from any speed-up",
                     "measured": q.get("pass_rate"), "unit": "pass rate", "met": None,
                     "note": (f"containment {_fmt(q.get('containment'))}, citation recall "
                              f"{_fmt(q.get('citation_recall'))}, abstention F1 {_fmt(q.get('abstention_f1'))}"
                              + ("; levers applied: compare with a run without them" if changed else
                                 "; product settings"))})
    return rows


# -- formatting -------------------------------------------------------------------------------------------
def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _bytes(value: int | None) -> str:
    if value is None:
        return "—"
    return f"{value / 1e6:.1f} MB" if value >= 1e6 else f"{value / 1e3:.1f} kB"


def _fmt_s(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.1f} ms"


def _measured(row: dict) -> str:
    value, unit = row["measured"], row["unit"]
    if value is None:
        return "not measured"
    if unit == "s":
        return _fmt_ms(value) if value < 1 and "retrieval" in row["figure"] else _fmt_s(value)
    if unit == "MB":
        return f"{value / 1000:.2f} GB"
    if unit == "×":
        return f"{value:.2f}"
    if unit == "chunks/s":
        return f"{value:.1f} chunks/s"
    return _fmt(value)


def _verdict(row: dict) -> str:
    return {True: "met", False: "**not met**", None: "—"}[row["met"]]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def _dist(p: dict | None, ms: bool = False) -> tuple[str, str]:
    f = _fmt_ms if ms else _fmt_s
    return (f(_get(p, "p50")), f(_get(p, "p95"))) if p else ("—", "—")


def markdown(results: dict) -> str:
    m = results.get("machine") or {}
    c = results.get("corpus") or {}
    lines = [f"# citeqa bench: {c.get('name', '?')} corpus", ""]
    lines.append(f"{results.get('started', '')}, `{results.get('command', 'citeqa bench')}`, "
                 f"{results.get('seconds', 0):.0f} s in all.  ")
    lines.append(f"Machine: {m.get('cpu')}, {m.get('cores')} cores, {m.get('memory_gb')} GB, {m.get('system')}, "
                 f"Python {m.get('python')}, torch {m.get('torch')} ({m.get('torch_threads')} threads). "
                 f"Load average at start {m.get('load_average_start')}, at end {m.get('load_average_end')} "
                 "(other work on a shared machine slows every figure; the naive ratio is measured in turn, "
                 "question by question, so it holds better).  ")
    lines.append(f"Corpus: {c.get('documents')} documents ({(c.get('bytes') or 0) / 1e6:.1f} MB) in "
                 f"`{c.get('folder')}`; {c.get('questions')} questions answered, {c.get('queries')} retrieval "
                 "queries." + "".join(f" {n}." for n in c.get("notes", [])))
    levers = _get(results, "settings", "levers") or {}
    lines += [f"Settings: generators {', '.join(_get(results, 'settings', 'generators') or [])}; levers "
              + ", ".join(f"{k}={v}" for k, v in levers.items()), ""]

    rows = results.get("targets") or []
    if rows:
        lines += ["## Targets (issue 6)", ""]
        lines += _table(["figure", "target", "measured", "verdict", "note"],
                        [[r["figure"], r["target"], _measured(r), _verdict(r), r.get("note", "")] for r in rows])
        lines.append("")

    index = results.get("index") or {}
    if index:
        lines += ["## Indexing", ""]
        noop = index.get("noop") or {}
        table = [
            ["documents / chunks", f"{index.get('documents', index.get('indexed_documents', '—'))} / "
                                   f"{index.get('chunks', index.get('indexed_chunks', '—'))}"],
            ["build, inside `Index.add` (read, chunk, embed, write; model loaded before)",
             _fmt_s(index.get("seconds"))],
            ["build, whole process (imports, model load, add)",
             f"{_fmt_s(index.get('process_seconds'))} "
             f"(embedding model load {_fmt_s(index.get('embedder_load_seconds'))})"],
            ["documents/s", _fmt(index.get("docs_per_s"), 2)],
            ["chunks/s (inside `add`; whole process)",
             f"{_fmt(index.get('chunks_per_s'), 1)}; {_fmt(index.get('chunks_per_s_process'), 1)}"],
            ["no-op re-index, whole process (inside `add`)",
             f"{_fmt_s(noop.get('process_seconds'))} ({_fmt_s(noop.get('in_process_seconds'))}), "
             f"{noop.get('chunks_embedded', '—')} chunks embedded" if noop else "—"],
            ["index size on disk (live generation; whole folder)",
             f"{_bytes(index.get('size_bytes'))}; {_bytes(index.get('folder_bytes'))}"],
            ["dense index", str(index.get("dense_index", "—"))],
        ]
        if index.get("reused"):
            table.insert(0, ["build", "index reused (--reuse-index): throughput not measured"])
        lines += _table(["figure", "value"], table) + [""]

    retrieval = results.get("retrieval")
    if retrieval:
        lines += ["## Retrieval", "", f"{_get(retrieval, 'total', 'count')} queries, {retrieval['mode']} top "
                  f"{retrieval['k']} over {retrieval['chunks']} chunks.", ""]
        lines += _table(["stage", "p50", "p95"], [
            ["query embedding", *_dist(retrieval.get("embed"), ms=True)],
            ["search (dense + BM25 + fusion)", *_dist(retrieval.get("search"), ms=True)],
            ["total", *_dist(retrieval.get("total"), ms=True)]]) + [""]

    answers = results.get("answers") or {}
    naive = results.get("naive") or {}
    if answers:
        lines += ["## Answers", ""]
        body = []
        for name, row in answers.items():
            stages = row.get("stages", {})
            body.append([name, str(row["questions"]), *_dist(row.get("total")), *_dist(row.get("first_token")),
                         " / ".join(_fmt_s(_get(stages, s, "p50")) for s in ("retrieve", "select", "generate",
                                                                               "verify")),
                         str(row.get("abstained")), _fmt_s(row.get("load_seconds"))])
        if naive.get("total"):
            body.append([f"naive baseline ({naive.get('generator')}, {naive.get('dtype', '?')})",
                         str(naive.get("questions")),
                         *_dist(naive.get("total")), *_dist(naive.get("first_token")),
                         f"{_fmt_s(_get(naive, 'retrieve', 'p50'))} / — / — / —", "—",
                         "(separate copy)" if naive.get("separate_model") else "(same model object)"])
        lines += _table(["generator", "questions", "p50", "p95", "first token p50", "first token p95",
                         "retrieve / select / generate / verify p50", "abstained", "load"], body) + [""]
        if naive.get("total"):
            lines += [f"Naive baseline: flat FAISS over {naive.get('chunks')} chunks of at most "
                      f"{naive.get('chunk_chars')} characters ({naive.get('overlap_chars')} overlap) from "
                      f"{naive.get('documents')} documents, top {naive.get('k')} stuffed into the prompt "
                      f"(p50 {_fmt(_get(naive, 'prompt_tokens', 'p50'), 0)} prompt tokens), greedy, asked right "
                      f"after citeqa for each question. Ratio citeqa p50 / naive p50: "
                      f"**{_fmt(naive.get('ratio_p50'), 2)}** (median of per-question ratios "
                      f"{_fmt(naive.get('ratio_paired_median'), 2)}).", ""]

    serving = results.get("serving") or {}
    start = results.get("start") or {}
    if serving or start:
        lines += ["## Start and memory", ""]
        table = []
        if "cold_seconds" in start:
            table.append([f"cold start to first answer ({start.get('generator')})",
                          f"{_fmt_s(start.get('cold_seconds'))}: {start.get('cold_note', '')}"])
        if "warm_seconds" in start:
            table.append([f"warm start to first answer ({start.get('warm_generator', start.get('generator'))})",
                          f"{_fmt_s(start.get('warm_seconds'))} (median of {start.get('warm_runs')})"
                          + (f"; {start['warm_note']}" if start.get("warm_note") else "")])
        if serving:
            table.append([f"peak RSS serving ({serving.get('generator')})",
                          f"{serving.get('peak_rss_mb', 0) / 1000:.2f} GB after {serving.get('questions')} answers "
                          f"(load {_fmt_s(serving.get('load_seconds'))}, answer p50 "
                          f"{_fmt_s(_get(serving, 'answer', 'p50'))})"])
        lines += _table(["figure", "value"], table) + [""]

    ivf = results.get("ivf") or {}
    if ivf:
        lines += ["## Approximate dense index (IVF)", ""]
        if "skipped" in ivf:
            lines += [f"Not measured: {ivf['skipped']}.", ""]
        else:
            lines += [f"`index.vectors.build_ivf` over {ivf['chunks']} chunks: nlist {ivf['nlist']}, nprobe "
                      f"{ivf['nprobe']}, built in {_fmt_s(ivf['build_seconds'])}. Recall@10 against flat search "
                      f"over {ivf['queries']} queries: **{ivf['recall_at_10']:.3f}**. Dense search p50: flat "
                      f"{_fmt_ms(_get(ivf, 'flat_search', 'p50'))}, IVF {_fmt_ms(_get(ivf, 'ivf_search', 'p50'))}.",
                      ""]
            if ivf.get("nprobe_sweep"):
                lines += _table(["nprobe", "recall@10 vs flat", "IVF search p50"],
                                [[str(r["nprobe"]), f"{r['recall_at_10']:.3f}", _fmt_ms(_get(r, "search", "p50"))]
                                 for r in ivf["nprobe_sweep"]])
                lines.append("")

    quality = results.get("quality") or {}
    if quality:
        lines += ["## Answer quality (the same timed answers, scored with eval.metrics)", ""]
        if "skipped" in quality:
            lines += [f"Not measured: {quality['skipped']}.", ""]
        else:
            body = []
            for name, q in quality.items():
                if name == "naive":
                    continue
                body.append([name, str(q.get("questions")), _fmt(q.get("pass_rate")), _fmt(q.get("containment")),
                             _fmt(q.get("exact_match")), _fmt(q.get("f1")), _fmt(q.get("citation_recall")),
                             _fmt(q.get("grounding")), _fmt(q.get("abstention_f1"))])
            lines += _table(["generator", "questions", "pass rate", "containment", "exact match", "F1",
                             "citation recall", "grounding", "abstention F1"], body) + [""]
            if "naive" in quality:
                n = quality["naive"]
                lines += [f"Naive baseline (no citations): containment {_fmt(n.get('containment'))}; refused "
                          f"{n.get('refused_unanswerable')} of {n.get('unanswerable')} unanswerable questions and "
                          f"{n.get('refused_answerable')} answerable ones.", ""]

    embedding = _get(results, "levers", "embedding")
    if embedding:
        lines += ["## Levers: embedding back-ends", "",
                  f"{embedding['texts']} chunks of the corpus (mean {embedding['mean_chars']} characters); accuracy "
                  "against torch float32 (cosine of the same chunk; overlap of the top 10 chunks per query).", ""]
        body = []
        for r in embedding["rows"]:
            if "error" in r:
                body.append([r["backend"], str(r.get("threads", "—")), "—", "—", "—", r["error"][:120]])
            else:
                body.append([r["backend"], str(r["threads"]), f"{r['chunks_per_s']:.1f}", _fmt(r["min_cosine"], 4),
                             _fmt(r["top10_overlap"], 3), ""])
        lines += _table(["backend", "threads", "chunks/s", "min cosine", "top-10 overlap", "note"], body) + [""]

    skipped = results.get("skipped") or {}
    errors = results.get("errors") or {}
    if skipped or errors:
        lines += ["## Not measured", ""]
        lines += [f"- {name}: skipped ({why})" for name, why in skipped.items()]
        lines += [f"- {name}: **failed**: {why}" for name, why in errors.items()]
        lines.append("")
    return "\n".join(lines)


def summary_lines(results: dict) -> list[str]:
    """The targets as short terminal lines."""
    out = [f"citeqa bench on {_get(results, 'corpus', 'name')} ({_get(results, 'corpus', 'documents')} documents)"]
    for row in results.get("targets") or []:
        out.append(f"  {row['figure']}: {_measured(row)} (target {row['target']}) {_verdict(row).strip('*')}")
    for name, why in (results.get("errors") or {}).items():
        out.append(f"  {name} failed: {why[:200]}")
    return out
