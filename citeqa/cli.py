"""`citeqa`: the front door. The only module that wires index, qa, ui, eval and the benchmark together."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import logging
import os
import sys
import time
from pathlib import Path

from index.backend import MILVUS_TOKEN_ENV
from index.config import STORES, IndexConfig, default_index_dir


GENERATOR_HELP = ("default, qwen-1.5b, qwen-0.5b, extractive, a model folder (causal or flan-t5-style seq2seq), "
                  "a .gguf file, or a hub id already in the local cache")


def _index_config(args: argparse.Namespace) -> IndexConfig:
    values = {"path": Path(args.index) if args.index else default_index_dir()}
    if getattr(args, "embedding_model", None):
        values["embedding_model"] = args.embedding_model
    values.update(store_settings(args))
    return IndexConfig(**values)


def store_settings(args: argparse.Namespace) -> dict[str, str]:
    """IndexConfig fields of the --store flags that were given (the token never: it comes from the environment)."""
    fields = ("store", "milvus_uri", "milvus_collection")  # each the dest of its flag
    return {field: getattr(args, field) for field in fields if getattr(args, field, None)}


def cmd_index(args: argparse.Namespace) -> int:
    from index.corpus import Index

    index = Index(_index_config(args))
    report = index.add(args.paths, rebuild=args.rebuild, sync=args.sync, progress=not args.quiet)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:  # each skipped file was already logged once, with its reason
        print(f"{index.root}: {report.summary()}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from index.corpus import Index, require_index

    index = Index(_index_config(args))
    require_index(index)
    documents = index.documents()
    if args.json:
        print(json.dumps([dataclasses.asdict(d) for d in documents], indent=2))
        return 0
    for d in documents:
        print(f"{d.chunks:5d} chunks  {d.characters:8,d} chars  {d.source}  — {d.title[:70]}")
    print(f"{len(documents)} documents in {index.root}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from index.corpus import Index, require_index

    index = Index(_index_config(args))
    require_index(index)
    report = index.remove(args.sources)
    print(f"{index.root}: {report.summary()}")
    return 0


def _assistant(args: argparse.Namespace):
    from qa.assistant import Assistant
    from qa.config import Config

    overrides = {}
    if getattr(args, "generator", None):
        overrides["generator"] = args.generator
    if getattr(args, "top_k", None):
        overrides["top_k"] = args.top_k
    if getattr(args, "engine", None):
        overrides["engine"] = args.engine
    return Assistant(config=Config(index=_index_config(args), **overrides))


def cmd_ask(args: argparse.Namespace) -> int:
    from qa.answer import Answer
    from qa.assistant import clean_question

    clean_question(args.question)  # fail fast, before any model loads
    assistant = _assistant(args)
    if args.json:
        print(json.dumps(assistant.ask(args.question).to_dict(), indent=2, ensure_ascii=False))
        return 0
    answer = None
    streamed = False
    for piece in assistant.stream(args.question):
        if isinstance(piece, Answer):
            answer = piece
        elif sys.stdout.isatty():
            print(piece, end="", flush=True)
            streamed = True
    if streamed:
        print("\r\033[K", end="")
    print(answer.text)
    if answer.probability is not None:
        print(f"  confidence {answer.probability:.0%} (the answer judge's probability that it is right)")
    if answer.abstained:
        print(f"  {answer.reason}" + (f" ({answer.detail})" if answer.detail else ""))
        for n, p in enumerate(answer.passages[:3], 1):
            print(f"  nearest {n}: {p.source} [{p.start}:{p.end}] {p.text[:120].strip()}…")
    for c in answer.citations:
        print(f"  [{c.marker}] {c.source} [{c.start}:{c.end}] “{c.text}”")
    t = answer.timings
    print("  " + "  ".join(f"{k} {v * 1000:.0f} ms" for k, v in t.items()), file=sys.stderr)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from citeqa import doctor

    data = doctor.report(_index_config(args))
    print(json.dumps(data, indent=2) if args.json else "\n".join(doctor.lines(data)))
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from ui import cli as ui_cli

    return ui_cli.main(args)


def cmd_eval(args: argparse.Namespace) -> int:
    from eval import cli as eval_cli

    return eval_cli.main(args)


def _bench_module():
    """The benchmark is a development tool, not part of the installed product: it runs from a source checkout."""
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "bench" / "cli.py").is_file() and str(checkout) not in sys.path:
        sys.path.append(str(checkout))
    try:
        return importlib.import_module("bench.cli")
    except ImportError:
        raise ImportError("the benchmark runs from a source checkout of citeqa: `make bench` there") from None


def cmd_bench(args: argparse.Namespace) -> int:
    return _bench_module().main(args)


def add_store_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", choices=STORES, help="where the index lives: faiss (in the --index folder, default) "
                   "or milvus (docs/scale.md)")
    p.add_argument("--milvus-uri", help="Milvus server URL (http://host:19530) or Milvus Lite file (*.db; default: "
                   f"milvus.db in the --index folder); a token comes from {MILVUS_TOKEN_ENV} only")
    p.add_argument("--milvus-collection", help="Milvus collection name (default: after the --index folder's name)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="citeqa", description="Answers from your own articles, with citations.")
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_index(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--index", help=f"index folder (default: {default_index_dir()})")
        p.add_argument("--embedding-model", help="sentence-transformers name or folder (default: all-MiniLM-L6-v2)")
        add_store_arguments(p)
        return p

    p = with_index(sub.add_parser("index", help="add files and folders to the index (incremental)"))
    p.add_argument("paths", nargs="+", help=".txt, .md, .html, .pdf files or folders")
    p.add_argument("--rebuild", action="store_true", help="start a fresh index from these paths")
    p.add_argument("--sync", action="store_true", help="also remove indexed documents no longer under these paths")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_index)

    p = with_index(sub.add_parser("list", help="list indexed documents"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = with_index(sub.add_parser("remove", help="remove documents by source"))
    p.add_argument("sources", nargs="+", help="source as shown by `citeqa list`")
    p.set_defaults(func=cmd_remove)

    p = with_index(sub.add_parser("ask", help="answer one question, with citations"))
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the whole answer as JSON")
    p.add_argument("--generator", help=GENERATOR_HELP)
    p.add_argument("--engine", choices=("auto", "ctranslate2", "torch"),
                   help="how a language model runs (default auto: CTranslate2 int8 where it converts)")
    p.add_argument("--top-k", type=int, help="passages to retrieve (default 5)")
    p.set_defaults(func=cmd_ask)

    p = with_index(sub.add_parser("doctor", help="this machine, engines, model cache and index, for a bug report"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_doctor)

    front_ends = (("chat", "open the chat in your browser", "ui.cli", cmd_chat),
                  ("eval", "measure answers, citations and abstentions on a question set", "eval.cli", cmd_eval),
                  ("bench", "measure speed and memory, side by side with a naive RAG baseline", "bench.cli",
                   cmd_bench))
    for name, help_text, module, command in front_ends:
        p = sub.add_parser(name, help=help_text)
        try:  # the front end's own flags; without its package the command still parses and says what is missing
            if name == "chat":
                importlib.import_module(module).add_arguments(with_index(p), index_flags=False)
            else:
                (_bench_module() if name == "bench" else importlib.import_module(module)).add_arguments(p)
        except ImportError:
            pass
        p.set_defaults(func=command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="citeqa: %(message)s")
    for noisy in ("faiss", "faiss.loader", "sentence_transformers", "transformers", "httpx"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    if not args.verbose:  # pymilvus logs each failed call itself; citeqa reports it once, with the fix
        logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from index.store import IndexError_
    from qa.errors import QuestionError

    started = time.perf_counter()
    try:
        return args.func(args)
    except (QuestionError, IndexError_, FileNotFoundError, KeyError, TimeoutError, ValueError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"citeqa: error: {message}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # model loading problems carry their fix in the message
        print(f"citeqa: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"citeqa: interrupted after {time.perf_counter() - started:.1f} s; the index is unchanged "
              "unless a run finished", file=sys.stderr)
        return 130
    except OSError as exc:  # a full disk, a folder it may not write: the index keeps its last good state
        print(f"citeqa: error: {exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}; "
              "the index keeps its last complete update", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - never a traceback; -v shows it
        logging.getLogger("citeqa").debug("unexpected error", exc_info=True)
        detail = " ".join(str(exc).split())[:300]
        print(f"citeqa: error: {exc.__class__.__name__}: {detail} (run with -v for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
