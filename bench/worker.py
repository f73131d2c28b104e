"""Child processes of `citeqa bench`, so that what is measured is a whole, fresh process.

    python -m bench.worker index FOLDER --index DIR --backend B --dtype D
    python -m bench.worker serve --index DIR --generator NAME --questions FILE.json

Each prints one JSON object as its last stdout line. `index` builds a fresh index with one embedding engine,
loading the model before `Index.add` so that the rate is the indexing work alone (`citeqa index` runs the
same `Index.add`, but has no flag for the engine). `serve` answers the questions one after the other, as a
chat server would, and reports the process's peak resident memory.
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

from bench.timing import QUIET_ENV, peak_rss_mb

STARTED = time.perf_counter()


def cmd_index(args: argparse.Namespace) -> dict:
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


def main(argv: list[str] | None = None) -> int:
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)
    logging.basicConfig(level=logging.ERROR)
    warnings.simplefilter("ignore")
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    sub = parser.add_subparsers(dest="command", required=True)
    index = sub.add_parser("index")
    index.add_argument("folder")
    index.add_argument("--backend", required=True)
    index.add_argument("--dtype", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("--generator", required=True)
    serve.add_argument("--questions", required=True, help="a JSON list of questions")
    for p in (index, serve):
        p.add_argument("--index", required=True)
    args = parser.parse_args(argv)
    print(json.dumps({"index": cmd_index, "serve": cmd_serve}[args.command](args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
