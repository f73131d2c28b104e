"""The command-line flags that choose how questions are answered, and the `Assistant` they build: one
definition for `citeqa ask` and `citeqa chat`. The Assistant's modules load only when one is built."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from index.flags import add_index_arguments, index_config
from qa.engines.registry import ENGINES

if TYPE_CHECKING:
    from qa.assistant import Assistant

GENERATOR_HELP = ("default, qwen-1.5b, qwen-0.5b, extractive, a model folder (causal or flan-t5-style seq2seq), "
                  "a .gguf file, or a hub id already in the local cache")
FIELDS = ("generator", "engine", "top_k")  # Config fields, each its flag's dest


def add_assistant_arguments(parser: argparse.ArgumentParser) -> None:
    """The index flags, and how a question is answered."""
    add_index_arguments(parser)
    parser.add_argument("--generator", help=GENERATOR_HELP)
    parser.add_argument("--engine", choices=("auto", *ENGINES),
                        help="how a language model runs (default auto: CTranslate2 int8 where it converts)")
    parser.add_argument("--top-k", type=int, help="passages to retrieve (default 5)")
    parser.add_argument("--config", action="append", dest="settings", metavar="KEY=VALUE",
                        help="any other answering setting (qa.config.Config), e.g. --config judge_threshold=0.4 "
                             "--config steps=yes_no,complete,conflict (steps= for none)")


def parse_settings(items: list[str]) -> dict:
    """`KEY=VALUE` pairs as a Config dict: `engine=torch`, `index.top_k=8`, `steps=yes_no,complete` (a list,
    `steps=` for none). Values are read as JSON where they parse."""
    import json

    settings: dict = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--config takes KEY=VALUE, not {item!r}")
        if key == "steps":
            value = [s.strip() for s in raw.split(",") if s.strip()]
        else:
            try:
                value = json.loads(raw)
            except ValueError:
                value = raw
        *path, last = key.split(".")
        node = settings
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return settings


def assistant_from(args: argparse.Namespace) -> Assistant:
    """The Assistant the flags describe; a flag not given keeps its default. Nothing loads until it answers."""
    from qa.assistant import Assistant
    from qa.config import Config

    overrides = {field: getattr(args, field) for field in FIELDS if getattr(args, field, None)}
    config = Config.from_dict(parse_settings(getattr(args, "settings", None) or []))
    return Assistant(config=config.with_(index=index_config(args), **overrides))
