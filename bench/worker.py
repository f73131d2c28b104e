"""Child processes of `citeqa bench`, so that what is measured is a whole, fresh process.

    python -m bench.worker index FOLDER --index DIR [--rebuild] [--config JSON] [lever flags]
    python -m bench.worker serve --index DIR --questions FILE [--config JSON] [lever flags]

Each prints one JSON object on its last stdout line. `serve` loads the generator, answers the questions
one after the other like a chat server would, and reports the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

from index.encoders import BACKENDS as EMBED_BACKENDS
from index.encoders import DTYPES as EMBED_DTYPES

STARTED = time.perf_counter()


def _levers(args: argparse.Namespace):
    from bench.levers import Levers

    return Levers(threads=args.threads, embed_dtype=args.embed_dtype, generator_int8=args.generator_int8,
                  embed_backend=args.embed_backend, embed_threads=args.embed_threads)


def _config(args: argparse.Namespace):
    from qa.config import Config

    values = json.loads(args.config) if args.config else {}
    values.setdefault("index", {})
    values["index"] = {**values["index"], "path": args.index}
    return Config.from_dict(values)


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak * 1024 / 1e6


def cmd_index(args: argparse.Namespace) -> dict:
    from bench.levers import make_embedder, set_threads
    from index.corpus import Index

    levers = _levers(args)
    set_threads(levers.threads)
    config = _config(args).index
    mark = time.perf_counter()
    embedder = make_embedder(config.embedding_model, config.batch_size, levers)
    load = time.perf_counter() - mark  # loaded up front, so that `seconds` is the indexing work alone
    index = Index(config, embedder=embedder)
    report = index.add([Path(args.folder)], rebuild=args.rebuild)
    return {**report.to_dict(), "embedder_load_seconds": load, "added": len(report.added),
            "updated": len(report.updated),
            "unchanged": len(report.unchanged), "removed": len(report.removed), "skipped": len(report.skipped),
            "process_seconds": time.perf_counter() - STARTED, "peak_rss_mb": peak_rss_mb()}


def cmd_serve(args: argparse.Namespace) -> dict:
    from bench.levers import config_for, make_embedder, quantize_generator, set_threads
    from index.corpus import Index
    from qa.assistant import Assistant

    levers = _levers(args)
    set_threads(levers.threads)
    config = config_for(_config(args), levers)
    questions = json.loads(Path(args.questions).read_text(encoding="utf-8"))
    assistant = Assistant(config=config)
    if not levers.product:
        assistant.index = Index(config.index, embedder=make_embedder(config.index.embedding_model,
                                                                     config.index.batch_size, levers))
    mark = time.perf_counter()
    generator = assistant.generator
    if levers.generator_int8 and hasattr(generator, "model"):
        quantize_generator(generator)
    load = time.perf_counter() - mark
    totals = []
    for question in questions:
        answer = assistant.ask(question)
        totals.append(answer.timings.get("total", 0.0))
    return {"questions": len(questions), "generator": getattr(generator, "name", config.generator),
            "load_seconds": load, "totals": totals, "peak_rss_mb": peak_rss_mb(),
            "process_seconds": time.perf_counter() - STARTED}


def cmd_ask(args: argparse.Namespace) -> dict:
    """`citeqa ask --json` with the levers applied: a warm or cold start of a changed product."""
    from bench.levers import config_for, make_embedder, quantize_generator, set_threads
    from index.corpus import Index
    from qa.assistant import Assistant, clean_question

    clean_question(args.question)
    levers = _levers(args)
    set_threads(levers.threads)
    config = config_for(_config(args), levers)
    assistant = Assistant(config=config)
    if not levers.product:
        assistant.index = Index(config.index, embedder=make_embedder(config.index.embedding_model,
                                                                     config.index.batch_size, levers))
    if levers.generator_int8 and hasattr(assistant.generator, "model"):
        quantize_generator(assistant.generator)
    answer = assistant.ask(args.question)
    return {**answer.to_dict(), "process_seconds": time.perf_counter() - STARTED}


def main(argv: list[str] | None = None) -> int:
    for name, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("TOKENIZERS_PARALLELISM", "false"),
                        ("TRANSFORMERS_VERBOSITY", "error"), ("HF_HUB_DISABLE_PROGRESS_BARS", "1")):
        os.environ.setdefault(name, value)
    import logging
    import warnings

    logging.basicConfig(level=logging.ERROR)
    warnings.simplefilter("ignore")
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("index", "serve", "ask"):
        p = sub.add_parser(name)
        if name == "index":
            p.add_argument("folder")
            p.add_argument("--rebuild", action="store_true")
        elif name == "serve":
            p.add_argument("--questions", required=True, help="JSON list of questions")
        else:
            p.add_argument("question")
        p.add_argument("--index", required=True)
        p.add_argument("--config", help="Config.from_dict values as JSON")
        p.add_argument("--threads", type=int)
        p.add_argument("--embed-dtype", default="auto", choices=EMBED_DTYPES)
        p.add_argument("--generator-int8", action="store_true")
        p.add_argument("--embed-backend", default="auto", choices=EMBED_BACKENDS)
        p.add_argument("--embed-threads", type=int)
    args = parser.parse_args(argv)
    result = {"index": cmd_index, "serve": cmd_serve, "ask": cmd_ask}[args.command](args)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
