"""What `citeqa bench` measures as whole, fresh processes: bulk indexing per embedding engine, the no-op re-index,
the warm start of `citeqa ask` with its breakdown by stage, and the peak memory of a process serving answers."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.timing import ProcessRun, citeqa_command, timed_process, worker_command

EMBEDDINGS = ("ctranslate2:int8", "ctranslate2:int8_float32", "ctranslate2:int16", "ctranslate2:float32",
              "torch:float32", "torch:bfloat16")
HOURS = 3600


@dataclass(frozen=True, slots=True)
class EmbeddingEngine:
    """One way to run the embedding model: an engine and the dtype it computes in."""

    engine: str  # "ctranslate2" or "torch"
    dtype: str

    @property
    def backend(self) -> str:
        """The IndexConfig.embedding_backend that runs it (torch: the transformers engine, as the product does)."""
        return "transformers" if self.engine == "torch" else self.engine

    @property
    def label(self) -> str:
        return f"{self.engine} {self.dtype}"

    @property
    def slug(self) -> str:
        return f"{self.engine}-{self.dtype}"


def product_embedding() -> EmbeddingEngine:
    """The engine and dtype `auto` picks for the default embedding model on this CPU."""
    from index.embedding import DEFAULT_EMBEDDING_MODEL, resolve_model_path
    from index.encoders import choose_backend, engine_of, resolve_dtype

    engine = engine_of(choose_backend(resolve_model_path(DEFAULT_EMBEDDING_MODEL)))
    return EmbeddingEngine(engine, resolve_dtype("auto", engine))


def parse_embedding(spec: str) -> EmbeddingEngine:
    """`ENGINE:DTYPE` (torch:float32, ctranslate2:int16, ...) or `auto`, the product's choice."""
    from index.encoders import DTYPES_BY_ENGINE

    if spec == "auto":
        return product_embedding()
    engine, _, dtype = spec.partition(":")
    if dtype not in DTYPES_BY_ENGINE.get(engine, ()):
        choices = ", ".join(f"{e}:{d}" for e, dtypes in DTYPES_BY_ENGINE.items() for d in dtypes)
        raise ValueError(f"--embedding {spec!r}: use auto or one of {choices}")
    return EmbeddingEngine(engine, dtype)


def available(engine: EmbeddingEngine) -> str | None:
    """None when this machine can run the engine, else why not."""
    import importlib.util

    module = "ctranslate2" if engine.engine == "ctranslate2" else "torch"
    if not importlib.util.find_spec(module):
        return f"{module} is not installed"
    if engine.engine == "ctranslate2":
        from index.compute import this_cpu

        cpu = this_cpu()
        if engine.dtype not in cpu.compute_types:
            return f"this CPU offers no {engine.dtype}: {cpu.describe()}"
    return None


def build_model_caches(engines: list[EmbeddingEngine]) -> None:
    """The embedding model converted for CTranslate2 (once per machine), before any engine is timed: a one-time
    conversion is not indexing speed."""
    if any(e.engine == "ctranslate2" for e in engines):
        from index.embedding import DEFAULT_EMBEDDING_MODEL, resolve_model_path
        from index.model_cache import converted_encoder

        converted_encoder(Path(resolve_model_path(DEFAULT_EMBEDDING_MODEL)))


def bulk_index(folder: Path, target: Path, engine: EmbeddingEngine) -> dict[str, Any]:
    """A fresh index of `folder` with one engine, in a child process that loads the model first."""
    run = timed_process(worker_command("index", str(folder), "--index", str(target), "--backend", engine.backend,
                                       "--dtype", engine.dtype), timeout=6 * HOURS, check=False)
    report = _report(run)
    inside = float(report["seconds"])
    chunks = int(report["chunks_embedded"])
    return {"engine": report["engine"], "documents": int(report["added"]), "chunks": chunks,
            "skipped_files": int(report["skipped"]), "seconds": round(inside, 2),
            "chunks_per_s": round(chunks / inside, 1) if inside else None,
            "process_seconds": round(run.seconds, 2),
            "embedder_load_seconds": round(float(report["embedder_load_seconds"]), 2),
            "peak_rss_mb": round(float(report["peak_rss_mb"]), 1), "index": str(target), **_crash(run)}


def noop_reindex(folder: Path, index_dir: Path, runs: int) -> dict[str, Any]:
    """`citeqa index` over an unchanged folder, whole process: nothing may be embedded again."""
    argv = [*citeqa_command(), "index", str(folder), "--index", str(index_dir), "--json", "--quiet"]
    done = [timed_process(argv, timeout=HOURS, check=False) for _ in range(runs)]
    seconds = [round(run.seconds, 3) for run in done]
    return {"command": "citeqa index FOLDER --index DIR", "index": str(index_dir), "runs": seconds,
            "p50": float(np.median(seconds)), "chunks_embedded": max(int(_report(r)["chunks_embedded"]) for r in done),
            **next((_crash(r) for r in done if r.returncode), {})}


def warm_start(index_dir: Path, generator: str, question: str, runs: int) -> dict[str, Any]:
    """Seconds from starting `citeqa ask` to its answer on stdout, with the model caches built (p50 of `runs`).

    One untimed run first builds whatever cache is missing (a model conversion takes minutes once)."""
    argv = [*citeqa_command(), "ask", question, "--index", str(index_dir), "--generator", generator]
    first = _answered(timed_process(argv, timeout=2 * HOURS, check=False))
    timed = [_answered(timed_process(argv, timeout=HOURS, check=False)) for _ in range(runs)]
    crashed = [r for r in (first, *timed) if r.returncode != 0]
    to_answer = [round(r.first_output, 3) for r in timed]
    row = {"command": f"citeqa ask QUESTION --index DIR --generator {generator}", "question": question,
           "untimed_first_run_seconds": round(first.seconds, 2), "runs": to_answer,
           "p50": float(np.median(to_answer)), "process_seconds": [round(r.seconds, 3) for r in timed],
           "answer": timed[-1].stdout.strip().splitlines()[0]}
    if crashed:  # the answer was printed, so the time to it stands; the crash is reported beside it
        row["crashed"] = f"{len(crashed)} of {runs + 1} runs {_crash(crashed[0])['crashed']}"
    return row


START_STAGES = ("imports", "index_open", "embedder_load", "generator_load", "first_answer")


def start_breakdown(index_dir: Path, generator: str, question: str, runs: int) -> dict[str, Any]:
    """Where the start of `citeqa ask` goes, stage by stage (`python -m bench.worker start`, p50 of `runs` fresh
    processes, with the caches built by `warm_start`'s untimed run), and which modules it should not need it
    imported."""
    argv = worker_command("start", "--index", str(index_dir), "--generator", generator, "--question", question)
    reports = [_report(timed_process(argv, timeout=HOURS, check=False)) for _ in range(runs)]
    since_start = [r["since_process_start"] for r in reports if r.get("since_process_start") is not None]
    return {"stages": {stage: float(np.median([r["stages"][stage] for r in reports])) for stage in START_STAGES},
            "in_process": float(np.median([r["in_process"] for r in reports])),
            "since_process_start": float(np.median(since_start)) if since_start else None,
            "runs": [round(r["in_process"], 3) for r in reports], "engine": reports[-1]["engine"],
            "imported": sorted({m for r in reports for m in r["imported"]})}


def _answered(run: ProcessRun) -> ProcessRun:
    """A `citeqa ask` run that printed an answer, whatever its exit status; one that printed nothing raises."""
    if run.first_output is None:
        raise RuntimeError(f"citeqa ask printed no answer (exit {run.returncode}): {run.stderr_tail()}")
    return run


def _report(run: ProcessRun) -> dict[str, Any]:
    """The JSON a child printed, whatever its exit status; a child that printed none raises."""
    try:
        return run.json()
    except (ValueError, IndexError):
        raise RuntimeError(f"the child printed no report (exit {run.returncode}): {run.stderr_tail()}") from None


def _crash(run: ProcessRun) -> dict[str, str]:
    """A note for a child that exited abnormally after its output (its figures stand)."""
    if run.returncode == 0:
        return {}
    return {"crashed": f"exited with {run.returncode} after its output: {run.stderr_tail()[-200:]}"}


def serving_rss(index_dir: Path, generator: str, questions: list[str]) -> dict[str, Any]:
    """Peak resident memory (VmHWM on Linux) of a process that loads `generator` and answers `questions` in turn."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as handle:
        json.dump(questions, handle)
    try:
        run = timed_process(worker_command("serve", "--index", str(index_dir), "--generator", generator,
                                           "--questions", handle.name), timeout=2 * HOURS, check=False)
    finally:
        Path(handle.name).unlink(missing_ok=True)
    report = _report(run)
    return {"engine": report["engine"], "questions": report["questions"],
            "peak_rss_mb": round(float(report["peak_rss_mb"]), 1), "load_seconds": round(report["load_seconds"], 2),
            "torch_imported": report["torch_imported"],
            "answer_p50": float(np.median(report["totals"])) if report["totals"] else None,
            "process_seconds": round(run.seconds, 2), **_crash(run)}
