"""`citeqa chat`: serve the Gradio chat. One Assistant (one model) per process, shared by all sessions."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
import threading

from index.runtime import go_offline
from qa.flags import add_assistant_arguments, assistant_from

log = logging.getLogger("citeqa.ui")
LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `citeqa chat`: those of `citeqa ask` that choose the index and the generator, and the server's."""
    add_assistant_arguments(parser)
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--auth", metavar="USER:PASS", help="require this user name and password")
    parser.add_argument("--max-upload-mb", type=float, default=25.0, help="largest upload accepted (default 25)")
    parser.add_argument("--no-warm", action="store_true", help="do not load the models before the first question")
    parser.add_argument("--shared-conversations", action="store_true",
                        help="one list of past conversations for every browser (default: each browser its own)")


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


def main(args: argparse.Namespace) -> int:
    from ui.app import build_app, launch
    from ui.warmup import warm

    auth = parse_auth(getattr(args, "auth", None))
    host = getattr(args, "host", "127.0.0.1")
    if not is_loopback(host) and auth is None:
        print(f"citeqa: warning: serving on {host} without --auth: anyone who can reach this machine "
              "can read and change your index", file=sys.stderr)
    assistant = assistant_from(args)
    max_mb = getattr(args, "max_upload_mb", 25.0)
    app = build_app(assistant, max_upload_mb=max_mb,
                    shared_conversations=getattr(args, "shared_conversations", False))
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
    go_offline()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="citeqa: %(message)s")
    try:
        return main(args)
    except ValueError as exc:
        print(f"citeqa: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(_standalone())
