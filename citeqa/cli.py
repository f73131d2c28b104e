"""`citeqa`: the front door. The only module that wires index, qa, ui, eval and the benchmark together.

A command imports what it runs and no more: the chat's, the evaluation's and the benchmark's flags are read
only when their command is named, so `citeqa ask` loads none of them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from index.backend import IndexError_
from index.flags import add_index_arguments, index_config
from index.runtime import go_offline
from qa.errors import QuestionError
from qa.flags import add_assistant_arguments, assistant_from


def cmd_index(args: argparse.Namespace) -> int:
    from index.corpus import Index

    index = Index(index_config(args))
    report = index.add(args.paths, rebuild=args.rebuild, sync=args.sync, progress=not args.quiet, ray=args.ray)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:  # each skipped file was already logged once, with its reason
        print(f"{index.root}: {report.summary()}")
    if report.added or report.updated or report.removed:
        prepare_examples(index)
    return 0


def prepare_examples(index) -> None:
    """The chat's example questions for the changed index, found now and kept beside it (`ui.examples.prepare`):
    `citeqa chat` then shows them on its first page load."""
    from qa.assistant import Assistant
    from ui.examples import prepare

    try:
        prepare(Assistant(index=index, generator="extractive"))
    except Exception as exc:  # the index is written; the chat finds its examples itself
        logging.getLogger("citeqa").warning("could not prepare the chat's example questions: %s", exc)


def cmd_list(args: argparse.Namespace) -> int:
    from index.corpus import Index, require_index

    index = Index(index_config(args))
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

    index = Index(index_config(args))
    require_index(index)
    report = index.remove(args.sources)
    print(f"{index.root}: {report.summary()}")
    if report.removed:
        prepare_examples(index)
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from qa.answer import Answer

    assistant = assistant_from(args)  # loads nothing: the question is checked before any model loads
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

    data = doctor.report(index_config(args))
    print(json.dumps(data, indent=2) if args.json else "\n".join(doctor.lines(data)))
    return 0


def _chat() -> ModuleType:
    from ui import cli

    return cli


def _eval() -> ModuleType:
    from eval import cli

    return cli


def _bench() -> ModuleType:
    """The benchmark is a development tool, not part of the installed product: it runs from a source checkout."""
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "bench" / "cli.py").is_file() and str(checkout) not in sys.path:
        sys.path.append(str(checkout))
    try:
        from bench import cli
    except ImportError:
        raise ImportError("the benchmark runs from a source checkout of citeqa: `make bench` there") from None
    return cli


@dataclasses.dataclass(frozen=True, slots=True)
class FrontEnd:
    """A command whose module brings its own flags (`add_arguments`) and runs them (`main`)."""

    name: str
    help: str
    load: Callable[[], ModuleType]  # imports the module: only when the command is named

    def run(self, args: argparse.Namespace) -> int:
        return self.load().main(args)


FRONT_ENDS = (FrontEnd("chat", "open the chat in your browser", _chat),
              FrontEnd("eval", "measure answers, citations and abstentions on a question set", _eval),
              FrontEnd("bench", "measure speed and memory, side by side with a naive RAG baseline", _bench))


def _command(argv: list[str]) -> str | None:
    """The command `argv` names: its first word that is not an option (`-v` takes no value)."""
    return next((word for word in argv if not word.startswith("-")), None)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command. Given the `argv` it will parse, it reads the flags of the one front end
    (chat, eval, bench) that `argv` names, if any; without it, the flags of all three."""
    parser = argparse.ArgumentParser(prog="citeqa", description="Answers from your own articles, with citations.")
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_index(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        add_index_arguments(p)
        return p

    p = with_index(sub.add_parser("index", help="add files and folders to the index (incremental)"))
    p.add_argument("paths", nargs="+", help=".txt, .md, .html, .pdf files or folders")
    p.add_argument("--rebuild", action="store_true", help="start a fresh index from these paths")
    p.add_argument("--sync", action="store_true", help="also remove indexed documents no longer under these paths")
    p.add_argument("--ray", metavar="ADDRESS", help="load, chunk and embed on a Ray cluster: local (start one on this "
                   "machine for the run), auto (the cluster this machine is a node of) or the head's host:port "
                   "(pip install 'citeqa[cluster]'; docs/scale.md)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_index)

    p = with_index(sub.add_parser("list", help="list indexed documents"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = with_index(sub.add_parser("remove", help="remove documents by source"))
    p.add_argument("sources", nargs="+", help="source as shown by `citeqa list`")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("ask", help="answer one question, with citations")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the whole answer as JSON")
    add_assistant_arguments(p)
    p.set_defaults(func=cmd_ask)

    p = with_index(sub.add_parser("doctor", help="this machine, engines, model cache and index, for a bug report"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_doctor)

    named = _command(argv) if argv is not None else None
    for front_end in FRONT_ENDS:
        p = sub.add_parser(front_end.name, help=front_end.help)
        if argv is None or named == front_end.name:
            try:  # its own flags; without its package the command still parses, and running it says what is missing
                front_end.load().add_arguments(p)
            except ImportError:
                pass
        p.set_defaults(func=front_end.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    go_offline()  # before anything imports Hugging Face's libraries
    args = build_parser(argv).parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="citeqa: %(message)s")
    for noisy in ("faiss", "faiss.loader", "sentence_transformers", "transformers", "httpx"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    if not args.verbose:  # pymilvus logs each failed call itself; citeqa reports it once, with the fix
        logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
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
