"""Child processes of `citeqa bench`, so that what is measured is a whole, fresh process.

    python -m bench.worker index FOLDER --index DIR --backend B --dtype D
    python -m bench.worker serve --index DIR --generator NAME --questions FILE.json
    python -m bench.worker start --index DIR --generator NAME --question TEXT

Each prints one JSON object as its last stdout line. `index` builds a fresh index with one embedding engine,
loading the model before `Index.add` so that the rate is the indexing work alone (`citeqa index` runs the
same `Index.add`, but has no flag for the engine). `serve` answers the questions one after the other, as a
chat server would, and reports the process's peak resident memory. `start` does the work of `citeqa ask`
from its own start to the first answer, stage by stage: it imports nothing before it starts the clock.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path

STARTED = time.perf_counter()
# Modules the answering path must not import: the start stage reports any that it finds loaded.
NOT_FOR_ANSWERING = ("torch", "transformers", "sentence_transformers", "gradio", "pymilvus", "matplotlib", "scipy",
                     "eval", "ray")


def cmd_index(args: argparse.Namespace) -> dict:
    from bench.timing import peak_rss_mb
    from index.config import IndexConfig
    from index.corpus import Index
    from index.embedding import Embedder

    config = IndexConfig(path=Path(args.index), embedding_backend=args.backend, embedding_dtype=args.dtype)
    mark = time.perf_counter()
    embedder = Embedder(config.embedding_model, batch_size=config.batch_size, backend=config.embedding_backend,
                        dtype=config.embedding_dtype)
    load = time.perf_counter() - mark
    report = Index(config, embedder=embedder).add([Path(args.folder)], rebuild=True)
    return {"engine": f"{embedder.engine} {embedder.dtype}", "added": len(report.added),
            "skipped": len(report.skipped), "chunks_embedded": report.chunks_embedded, "seconds": report.seconds,
            "embedder_load_seconds": load, "peak_rss_mb": peak_rss_mb(),
            "process_seconds": time.perf_counter() - STARTED}


def cmd_serve(args: argparse.Namespace) -> dict:
    from bench.timing import peak_rss_mb
    from index.config import IndexConfig
    from qa.assistant import Assistant
    from qa.config import Config

    questions = json.loads(Path(args.questions).read_text(encoding="utf-8"))
    assistant = Assistant(config=Config(index=IndexConfig(path=Path(args.index)), generator=args.generator))
    mark = time.perf_counter()
    generator = assistant.generator
    load = time.perf_counter() - mark
    totals = []
    for question in questions:
        *_, answer = assistant.stream(question)
        totals.append(answer.timings["total"])
    return {"engine": generator.engine, "questions": len(questions), "load_seconds": load, "totals": totals,
            "peak_rss_mb": peak_rss_mb(), "torch_imported": "torch" in sys.modules,
            "process_seconds": time.perf_counter() - STARTED}


def seconds_since_process_start() -> float | None:
    """Since the kernel started this process, interpreter start-up included (Linux; 10 ms steps), else None."""
    try:
        fields = Path("/proc/self/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        return time.clock_gettime(time.CLOCK_BOOTTIME) - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def cmd_start(args: argparse.Namespace) -> dict:
    """`citeqa ask`'s stages, each timed apart: the front door's imports and flags, opening the index, loading
    the embedder, loading the generator, and answering (the first answer, every lazy first call included)."""
    stages: dict[str, float] = {}
    mark = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        stages[stage], mark = now - mark, now

    from qa.flags import add_assistant_arguments, assistant_from  # what `citeqa ask` builds its Assistant with

    flags = argparse.ArgumentParser()
    add_assistant_arguments(flags)
    assistant = assistant_from(flags.parse_args(["--index", args.index, "--generator", args.generator]))
    lap("imports")
    assistant.index.snapshot()  # an index must be there: the bench builds it first
    lap("index_open")
    assistant.index.embedder  # noqa: B018 - loads it
    lap("embedder_load")
    generator = assistant.generator
    lap("generator_load")
    answer = assistant.ask(args.question)
    lap("first_answer")
    bench_modules = sorted(m for m in sys.modules if m.startswith("bench.") and m != "bench.worker")
    embedder = assistant.index.embedder
    return {"engine": generator.engine, "embedding": f"{embedder.engine} {embedder.query_dtype}",
            "answer": answer.text, "stages": stages,
            "in_process": time.perf_counter() - STARTED, "since_process_start": seconds_since_process_start(),
            "imported": sorted(m for m in NOT_FOR_ANSWERING if m in sys.modules) + bench_modules}


def main(argv: list[str] | None = None) -> int:
    from index.runtime import go_offline

    go_offline()
    logging.basicConfig(level=logging.ERROR)
    warnings.simplefilter("ignore")
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    sub = parser.add_subparsers(dest="command", required=True)
    index = sub.add_parser("index")
    index.add_argument("folder")
    index.add_argument("--backend", required=True)
    index.add_argument("--dtype", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("--questions", required=True, help="a JSON list of questions")
    start = sub.add_parser("start")
    start.add_argument("--question", required=True)
    for p in (serve, start):
        p.add_argument("--generator", required=True)
    for p in (index, serve, start):
        p.add_argument("--index", required=True)
    args = parser.parse_args(argv)
    print(json.dumps({"index": cmd_index, "serve": cmd_serve, "start": cmd_start}[args.command](args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
