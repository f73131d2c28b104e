"""Generators turn a question and numbered evidence into answer text, streamed piece by piece.

`extractive` needs no generative weights. Every other name is a language model (`qa.sources`): a packaged
one, a transformers model folder (decoder-only or encoder-decoder such as flan-t5), a `.gguf` file, or a hub
id already in the local cache. It runs on the first engine of `qa.engines.registry` that takes it: CTranslate2
int8 when the converter handles the model type (converted once and cached), otherwise transformers/torch, and
one log line says so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

from index.compute import CPU
from index.model_cache import ConversionUnsupported, default_cache_dir
from index.runtime import MODEL_LOADING
from qa.analysis import holds_kind
from qa.engines import Engine, EngineError, Message, Piece
from qa.engines.registry import ENGINES, engine_choice
from qa.errors import GeneratorError
from qa.prompt import Prompt
from qa.sources import resolve

log = logging.getLogger("citeqa.qa")


class Generator(Protocol):
    name: str
    engine: str  # which engine runs it: "ctranslate2 int8", "torch bfloat16", "extractive"

    def count_tokens(self, text: str) -> int: ...

    def stream(self, prompt: Prompt) -> Iterator[Piece]:
        """The answer in pieces; closing the iterator stops generation."""
        ...


class ExtractiveGenerator:
    """Answers with the best-ranked evidence sentence that holds the kind of value asked for, cited.

    Fast and deterministic; "who?" gets the best sentence that names someone, not merely the best match.
    """

    name = "extractive"
    engine = "extractive"

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, prompt: Prompt) -> Iterator[Piece]:
        if not prompt.evidence:
            yield Piece("I don't know.")
            return
        best = next((e for e in prompt.evidence if holds_kind(e.text, prompt.analysis)), prompt.evidence[0])
        yield Piece(f"{best.text} [{best.marker}]")


class LanguageModelGenerator:
    """A language model behind an engine, prompted with the question and its numbered evidence. Any engine
    object serves (`qa.engines.Engine`): one loaded by `load_generator`, or one built by hand."""

    def __init__(self, name: str, engine: Engine) -> None:
        self.name = name
        self.model = engine
        self.engine = engine.label

    def count_tokens(self, text: str) -> int:
        return self.model.count_tokens(text)

    def stream(self, prompt: Prompt) -> Iterator[Piece]:
        return self.model.stream(prompt.messages)

    def stream_messages(self, messages: Sequence[Message], max_new_tokens: int | None = None) -> Iterator[Piece]:
        """Any chat turns, for callers that build their own (verification, the naive baseline of `citeqa bench`)."""
        return self.model.stream(messages, max_new_tokens)

    def prompt_length(self, messages: Sequence[Message]) -> int:
        """Tokens the model reads for these turns (exact where the engine renders the prompt itself)."""
        exact = getattr(self.model, "prompt_tokens", None)
        return len(exact(messages)) if exact else self.count_tokens("\n\n".join(m["content"] for m in messages))


def load_generator(name: str, max_new_tokens: int = 48, dtype: str = "bfloat16", threads: int | None = None,
                   engine: str = "auto", compute_type: str = "auto", cache: Path | None = None,
                   cpu: CPU | None = None, keep_intermediate: bool = False) -> Generator:
    """The generator `name` on the first engine of the registry that runs it (`engine="auto"`), or on the one
    asked for. A hub id runs on torch whatever was asked: it has no folder to convert.

    CTranslate2 runs it in `compute_type`; `auto` is the first of the generator's preference that `cpu` (this
    one by default) offers (`index.compute`)."""
    if engine != "auto" and engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(('auto', *ENGINES))}, not {engine!r}")
    if name == "extractive":
        return ExtractiveGenerator()
    cache = cache or default_cache_dir()
    source = resolve(name)
    settings = {"max_new_tokens": max_new_tokens, "dtype": dtype, "threads": threads, "compute_type": compute_type,
                "keep_intermediate": keep_intermediate}
    *fallbacks, last = ["torch"] if source.hub_id is not None else [n for n in ENGINES if engine in ("auto", n)]

    def on(choice: str) -> LanguageModelGenerator:
        return LanguageModelGenerator(source.label, engine_choice(choice, **settings).load(source, cache, cpu))

    with MODEL_LOADING:  # never beside another model load: see index.runtime
        try:
            for choice in fallbacks:
                try:
                    return on(choice)
                except ConversionUnsupported as exc:
                    log.warning("generator %s: %s; it runs on transformers (torch) instead", source.label, exc)
            return on(last)
        except ConversionUnsupported as exc:
            raise GeneratorError(f"{exc}: use --engine torch for {source.label}") from None
        except EngineError as exc:
            raise GeneratorError(str(exc)) from None
