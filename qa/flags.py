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


def assistant_from(args: argparse.Namespace) -> Assistant:
    """The Assistant the flags describe; a flag not given keeps its default. Nothing loads until it answers."""
    from qa.assistant import Assistant
    from qa.config import Config

    overrides = {field: getattr(args, field) for field in FIELDS if getattr(args, field, None)}
    return Assistant(config=Config(index=index_config(args), **overrides))
