"""`citeqa chat`: serve the Gradio chat. One Assistant (one model) per process, shared by all sessions."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
import threading
from pathlib import Path

log = logging.getLogger("citeqa.ui")
LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def add_arguments(parser: argparse.ArgumentParser, index_flags: bool = True) -> None:
    """Flags of `citeqa chat`; `index_flags=False` when the caller (the `citeqa` front door) adds the index's."""
    if index_flags:
        parser.add_argument("--index", help="index folder (default: the citeqa cache folder)")
        parser.add_argument("--embedding-model", help="sentence-transformers name or folder")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--generator", help="default, qwen-1.5b, qwen-0.5b, extractive, a model folder or a .gguf file")
    parser.add_argument("--top-k", type=int, help="passages to retrieve (default 5)")
    parser.add_argument("--auth", metavar="USER:PASS", help="require this user name and password")
    parser.add_argument("--max-upload-mb", type=float, default=25.0, help="largest upload accepted (default 25)")
    parser.add_argument("--no-warm", action="store_true", help="do not load the models before the first question")


def parse_auth(value: str | None) -> tuple[str, str] | None:
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ValueError("--auth must look like USER:PASS")
    return user, password


def is_loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_assistant(args: argparse.Namespace):
    from index.config import IndexConfig
    from qa.assistant import Assistant
    from qa.config import Config

    index = {"path": Path(args.index)} if getattr(args, "index", None) else {}
    if getattr(args, "embedding_model", None):
        index["embedding_model"] = args.embedding_model
    for field in ("store", "milvus_uri", "milvus_collection"):  # the --store flags of `citeqa chat`
        if getattr(args, field, None):
            index[field] = getattr(args, field)
    overrides = {}
    if getattr(args, "generator", None):
        overrides["generator"] = args.generator
    if getattr(args, "top_k", None):
        overrides["top_k"] = args.top_k
    return Assistant(config=Config(index=IndexConfig(**index), **overrides))


def main(args: argparse.Namespace) -> int:
    from ui.app import build_app, launch
    from ui.warmup import warm

    auth = parse_auth(getattr(args, "auth", None))
    host = getattr(args, "host", "127.0.0.1")
    if not is_loopback(host) and auth is None:
        print(f"citeqa: warning: serving on {host} without --auth: anyone who can reach this machine "
              "can read and change your index", file=sys.stderr)
    assistant = make_assistant(args)
    max_mb = getattr(args, "max_upload_mb", 25.0)
    app = build_app(assistant, max_upload_mb=max_mb)
    if not getattr(args, "no_warm", False):
        threading.Thread(target=warm, args=(app.citeqa,), daemon=True,
                         name="citeqa-warm").start()
    shown = f"[{host}]" if ":" in host else host
    print(f"citeqa: chat on http://{shown}:{args.port}  (index: {assistant.index.root}; Ctrl+C to stop)",
          file=sys.stderr)
    launch(app, host=host, port=args.port, auth=auth, max_upload_mb=max_mb, quiet=True)
    return 0


def _standalone(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ui.cli", description="Serve the citeqa chat.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="citeqa: %(message)s")
    try:
        return main(args)
    except ValueError as exc:
        print(f"citeqa: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(_standalone())
