"""The front door: one set of flags builds an Assistant for `citeqa ask` and `citeqa chat`, and a command reads
only its own front end's flags."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from citeqa.cli import build_parser
from qa.flags import assistant_from

REPO = Path(__file__).resolve().parents[1]
FLAGS = ["--index", "somewhere", "--store", "milvus", "--milvus-uri", "http://milvus:19530",
         "--milvus-collection", "news", "--embedding-model", "some/model", "--generator", "extractive",
         "--engine", "torch", "--top-k", "7"]


def test_ask_and_chat_build_the_same_assistant_from_the_same_flags():
    ask = assistant_from(build_parser().parse_args(["ask", "Who won?", *FLAGS]))
    chat = assistant_from(build_parser().parse_args(["chat", *FLAGS]))
    assert ask.config == chat.config
    assert (ask.config.engine, ask.config.top_k, ask.config.index.store) == ("torch", 7, "milvus")


def test_the_chat_served_on_its_own_takes_every_flag_of_ask():
    from ui import cli as ui_cli

    parser = argparse.ArgumentParser()
    ui_cli.add_arguments(parser)
    chat = assistant_from(parser.parse_args(FLAGS))
    assert chat.config == assistant_from(build_parser().parse_args(["ask", "Who won?", *FLAGS])).config


def test_flags_not_given_keep_the_defaults():
    from qa.config import Config

    config = assistant_from(build_parser().parse_args(["ask", "Who won?"])).config
    assert config == Config()


def test_ask_reads_its_flags_without_loading_the_chat_the_evaluation_or_the_benchmark():
    code = ("import sys; from citeqa.cli import build_parser; argv = ['ask', 'Who won?', '--engine', 'torch']; "
            "build_parser(argv).parse_args(argv); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'ui', 'eval', 'bench', 'gradio', 'pymilvus'}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(("argv", "flag", "value"), [
    (["chat", "--port", "7999"], "port", 7999),
    (["eval", "--limit", "3"], "limit", 3),
    (["-v", "bench", "--quick"], "quick", True),
])
def test_a_front_end_named_on_the_command_line_reads_its_own_flags(argv, flag, value):
    assert getattr(build_parser(argv).parse_args(argv), flag) == value
