"""`citeqa bench` end to end on a tiny corpus with the extractive generator, and its report pieces.

No timed assertions: the figures depend on the machine. These tests check that the benchmark runs, that
every stage it was asked for either measured something or says why not, and that bench.json and bench.md
are well formed.
"""

from __future__ import annotations

import argparse
import json

import pytest

from bench import cli as bench, corpus as bench_corpus, report as bench_report
from tests.support import write_corpus

ARTICLES = {
    "harbour.txt": "Harbour bridge reopens\nThe Harbour Bridge in Eastport reopened on 3 March 2021 after repairs "
                   "costing 12 million pounds. Mayor Alice Grant cut the ribbon at noon.\n",
    "library.txt": "Library wins award\nThe Westford public library won the national design award in 2019. "
                   "Its architect, Tomas Berg, said the building uses recycled timber.\n",
    "market.txt": "Market fire\nA fire destroyed 40 stalls at the Northgate market on Sunday. Fire chief Ruth "
                  "Okoro said no one was hurt.\n",
}


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("bench")
    corpus = write_corpus(root / "corpus", ARTICLES)
    out = root / "out"
    # Every stage but the one-time model conversion (cold) and the ONNX micro-benchmark (levers).
    code = bench.main(parse("--corpus", str(corpus), "--quick", "--out", str(out), "--generator", "extractive",
                            "--rss-questions", "2", "--warm-runs", "1"))
    return {"code": code, "out": out, "corpus": corpus,
            "json": json.loads((out / "bench.json").read_text(encoding="utf-8")),
            "md": (out / "bench.md").read_text(encoding="utf-8")}


def test_tiny_run_measures_every_stage_it_was_asked_for(tiny_run):
    results = tiny_run["json"]
    assert tiny_run["code"] == 0, results["errors"]
    assert results["errors"] == {}
    assert results["corpus"]["documents"] == 3
    index = results["index"]
    assert index["documents"] == 3 and index["chunks"] >= 3
    assert index["chunks_per_s"] > 0 and index["size_bytes"] > 0
    assert index["noop"]["chunks_embedded"] == 0  # nothing changed: nothing embedded again
    assert results["retrieval"]["total"]["count"] >= 1 and results["retrieval"]["total"]["p50"] > 0
    answers = results["answers"]["extractive"]
    assert answers["questions"] >= 1 and answers["total"]["p50"] > 0
    assert len(answers["items"]) == answers["questions"]
    assert results["serving"]["peak_rss_mb"] > 0 and results["serving"]["questions"] == 2
    assert results["start"]["warm_seconds"] > 0
    # What was not measured says why, in the JSON and in the report.
    assert set(results["skipped"]) >= {"cold", "levers", "naive"}
    assert "skipped" in results["ivf"]


def test_tiny_run_writes_targets_and_a_readable_report(tiny_run):
    results, md = tiny_run["json"], tiny_run["md"]
    figures = {row["figure"]: row for row in results["targets"]}
    assert "indexing throughput" in figures
    assert all(row["met"] in (True, False, None) for row in results["targets"])
    # Targets for the seeds or the 10k articles are not judged on a 3-document corpus.
    assert figures["no-op re-index (whole process)"]["met"] is None
    for heading in ("# citeqa bench", "## Targets", "## Indexing", "## Retrieval", "## Answers",
                    "## Start and memory", "## Not measured"):
        assert heading in md
    for line in md.splitlines():  # every table row has as many cells as its header
        if line.startswith("|"):
            assert line.endswith("|")


def test_reuse_index_and_only(tiny_run, tmp_path):
    out = tmp_path / "again"
    code = bench.main(parse("--corpus", str(tiny_run["corpus"]), "--quick", "--out", str(out), "--generator",
                            "extractive", "--index", str(tiny_run["out"] / "index-corpus"), "--reuse-index",
                            "--only", "index,retrieval"))
    results = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    assert code == 0
    assert results["index"]["reused"] is True
    assert results["retrieval"]["total"]["count"] >= 1
    assert "answers" in results["skipped"] and "warm" in results["skipped"]


def test_settings_and_stage_names_are_checked():
    assert bench.parse_settings(["top_k=8", "index.batch_size=64", "dtype=float32"]) == {
        "top_k": 8, "index": {"batch_size": 64}, "dtype": "float32"}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        bench.parse_settings(["top_k"])
    with pytest.raises(ValueError, match="unknown stage"):
        bench.Bench(parse("--skip", "nonsense"))


def test_percentiles():
    assert bench.percentiles([]) == {"count": 0, "p50": None, "p95": None, "mean": None}
    row = bench.percentiles([1.0, 2.0, 3.0])
    assert row["count"] == 3 and row["p50"] == 2.0 and row["mean"] == 2.0


def test_news_articles_are_written_once_as_text_files(tmp_path, monkeypatch):
    source = tmp_path / "news.jsonl"
    lines = [{"document": f"London (CNN)Story {n} about the harbour bridge reopening. More text."} for n in range(5)]
    source.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(bench_corpus, "news_jsonl", lambda cache=None: source)
    folder = bench_corpus.write_news(3, tmp_path / "cache")
    assert sorted(p.name for p in folder.glob("*.txt")) == ["00000.txt", "00001.txt", "00002.txt"]
    assert bench_corpus.write_news(3, tmp_path / "cache") == folder  # cached: not written again
    queries = bench_corpus.generated_queries(folder, 2)
    assert queries and all("CNN" not in q for q in queries)
    assert bench_corpus.key_phrase("Paris (CNN)The mayor of Paris opened a new bridge on Monday.") == \
        "mayor Paris opened new bridge Monday"


def test_report_renders_every_section():
    results = {
        "corpus": {"name": "seeds", "documents": 2, "questions": 3, "queries": 3, "notes": []},
        "machine": {"cpu": "test cpu", "cores": 2},
        "settings": {"generators": ["extractive", "default"], "levers": {"embed_dtype": "float32"}},
        "index": {"documents": 2, "chunks": 37, "seconds": 1.0, "chunks_per_s": 37.0, "size_bytes": 10_000,
                  "noop": {"process_seconds": 0.4, "in_process_seconds": 0.0, "chunks_embedded": 0}},
        "retrieval": {"mode": "hybrid", "k": 5, "chunks": 37, "total": {"count": 3, "p50": 0.01, "p95": 0.02},
                      "embed": {"p50": 0.008, "p95": 0.01}, "search": {"p50": 0.002, "p95": 0.003}},
        "answers": {"default": {"questions": 3, "abstained": 0, "load_seconds": 1.5,
                                "total": {"p50": 1.2, "p95": 2.0}, "first_token": {"p50": 1.1, "p95": 1.9},
                                "stages": {}}},
        "naive": {"generator": "default", "questions": 3, "chunks": 12, "chunk_chars": 800, "overlap_chars": 100,
                  "documents": 2, "k": 5, "total": {"p50": 4.0, "p95": 5.0}, "ratio_p50": 0.3},
        "start": {"generator": "default", "warm_seconds": 6.0, "warm_runs": [6.0], "cold_seconds": 60.0},
        "serving": {"generator": "default", "peak_rss_mb": 2100.0, "questions": 3},
        "ivf": {"chunks": 50_000, "nlist": 894, "nprobe": 16, "queries": 10, "recall_at_10": 0.97,
                "build_seconds": 3.0, "flat_search": {"p50": 0.004}, "ivf_search": {"p50": 0.001}},
        "quality": {"default": {"questions": 3, "pass_rate": 0.8, "containment": 0.9},
                    "naive": {"containment": 0.7, "refused_unanswerable": 1, "unanswerable": 1,
                              "refused_answerable": 0}},
        "levers": {"embedding": {"texts": 4, "mean_chars": 700.0, "rows": [
            {"backend": "torch float32", "threads": 1, "chunks_per_s": 20.0, "min_cosine": 1.0,
             "top10_overlap": 1.0},
            {"backend": "onnxruntime", "error": "onnxruntime is not installed"}]}},
        "skipped": {}, "errors": {},
    }
    rows = {r["figure"]: r for r in bench_report.targets(results)}
    assert rows["answer p50, default generator"]["met"] is True
    assert rows["answer p50 ratio citeqa / naive"]["met"] is True
    assert rows["time to first streamed token, p50"]["met"] is False
    assert rows["warm start to first answer (default)"]["met"] is False
    assert rows["retrieval p50 (seeds)"]["met"] is True
    assert rows["indexing throughput"]["met"] is False
    assert rows["peak RSS serving (default)"]["met"] is True
    results["targets"] = list(rows.values())
    md = bench_report.markdown(results)
    for text in ("## Approximate dense index (IVF)", "0.970", "## Levers: embedding back-ends", "Naive baseline",
                 "**not met**", "2.10 GB"):
        assert text in md
