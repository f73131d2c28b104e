"""Generators turn a question and numbered evidence into answer text, streamed piece by piece.

`extractive` needs no generative weights. Every other name is a language model: a packaged one
(`qwen-0.5b`, `qwen-1.5b`; `default` is the one the README's measurements chose), a transformers model
folder (decoder-only or encoder-decoder such as flan-t5), a `.gguf` file, or a hub id already in the local
cache. A model runs on CTranslate2 int8 when its converter handles the model type (converted once and
cached), otherwise on transformers/torch, and one log line says so.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from index.compute import CPU, choose
from index.model_cache import slug
from index.runtime import MODEL_LOADING
from qa.analysis import holds_kind
from qa.engines import Engine, EngineError, Message, Piece
from qa.prompt import Prompt

log = logging.getLogger("citeqa.qa")
DEFAULT_GENERATOR = "qwen-1.5b"  # the packaged model `default` stands for: see the README's generator table
ENGINES = ("auto", "ctranslate2", "torch")
QUANTIZATION = "int8"  # what CTranslate2 folders are converted to; `compute_type` may still run them wider


class GeneratorError(RuntimeError):
    pass


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
    """A language model behind an engine, prompted with the question and its numbered evidence."""

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


@dataclass(frozen=True, slots=True)
class ModelSource:
    """Where a language model's weights are and how to turn them into each engine's folder."""

    label: str
    kind: str  # "causal" or "seq2seq"
    packaged: object | None = None  # a qa.weights.PackagedModel
    folder: Path | None = None  # a transformers folder
    gguf: Path | None = None
    hub_id: str | None = None


def _kind_of_folder(folder: Path) -> str:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise GeneratorError(f"{folder} is not a model folder (no readable config.json)") from None
    return "seq2seq" if config.get("is_encoder_decoder") else "causal"


def resolve(name: str) -> ModelSource:
    """The model a generator name stands for; `seq2seq:`/`causal:` prefixes force the kind."""
    from qa.weights import PACKAGED

    forced = None
    if name.startswith(("seq2seq:", "causal:")):
        forced, name = name.split(":", 1)
    name = DEFAULT_GENERATOR if name == "default" else name
    if name in PACKAGED:
        return ModelSource(name, forced or "causal", packaged=PACKAGED[name])
    target = Path(name).expanduser()
    if target.suffix.lower() == ".gguf":
        if not target.is_file():
            raise GeneratorError(f"no such .gguf file: {target}")
        return ModelSource(name, forced or "causal", gguf=target.resolve())
    if target.is_dir():
        return ModelSource(name, forced or _kind_of_folder(target), folder=target.resolve())
    if re.fullmatch(r"[\w.\-]+/[\w.\-]+", name):
        return ModelSource(name, forced or "", hub_id=name)
    known = ", ".join(["default", "extractive", *PACKAGED])
    raise GeneratorError(f"unknown generator {name!r}: use {known}, a model folder or a .gguf file")


def transformers_folder(source: ModelSource, cache: Path, dtype: str) -> Path:
    """The source as a transformers folder, dequantised from GGUF once when it is one."""
    from index.model_cache import folder_fingerprint
    from qa.conversion import transformers_from_gguf
    from qa.weights import joined_gguf, sha256_file

    if source.folder is not None:
        return source.folder
    if source.packaged is not None:
        model = source.packaged
        return transformers_from_gguf(lambda staging: joined_gguf(model, staging), cache / f"{model.label}-transformers-{dtype}",
                                      {"source_sha256": model.sha256}, dtype)
    gguf = source.gguf
    fingerprint = folder_fingerprint(gguf.parent, only=gguf.name)
    return transformers_from_gguf(lambda staging: gguf, cache / "gguf" / f"{slug(gguf.stem)}-{fingerprint[:12]}-{dtype}",
                                  {"source_fingerprint": fingerprint}, dtype, sha256=lambda: sha256_file(gguf))


def converted_folder(source: ModelSource, cache: Path, dtype: str) -> Path:
    """The source converted to CTranslate2 int8, once; a complete cached folder is found without torch."""
    from index.model_cache import ctranslate2_folder, folder_fingerprint

    if source.packaged is not None:
        model = source.packaged
        target = cache / f"{model.label}-ct2-{QUANTIZATION}"
        source_id = {"source_sha256": model.sha256}
    else:
        origin = source.folder or source.gguf
        fingerprint = folder_fingerprint(origin) if source.folder else folder_fingerprint(origin.parent, only=origin.name)
        target = cache / "ct2" / f"{slug(origin.stem if source.gguf else origin.name)}-{fingerprint[:12]}-{QUANTIZATION}"
        source_id = {"source_fingerprint": fingerprint}
    return ctranslate2_folder(target, source_id, lambda: transformers_folder(source, cache, dtype), QUANTIZATION)


def load_generator(name: str, max_new_tokens: int = 48, dtype: str = "bfloat16", threads: int | None = None,
                   engine: str = "auto", compute_type: str = "auto", cache: Path | None = None,
                   cpu: CPU | None = None) -> Generator:
    """The generator `name` on the fastest engine that runs it (`engine="auto"`), or on the one asked for.

    CTranslate2 runs it in `compute_type`; `auto` is the first of the generator's preference that `cpu` (this
    one by default) offers (`index.compute`)."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if name == "extractive":
        return ExtractiveGenerator()
    from index.model_cache import default_cache_dir

    cache = cache or default_cache_dir()
    source = resolve(name)
    with MODEL_LOADING:  # never beside another model load: see index.runtime
        try:
            if engine != "torch" and source.hub_id is None:
                from index.model_cache import ConversionUnsupported

                chosen = choose("generator", compute_type, cpu)  # before a conversion: a refusal costs nothing
                try:
                    folder = converted_folder(source, cache, dtype)
                    return LanguageModelGenerator(source.label, _ct2_engine(source.kind, folder, max_new_tokens,
                                                                            chosen, threads))
                except ConversionUnsupported as exc:
                    if engine == "ctranslate2":
                        raise GeneratorError(f"{exc}: use --engine torch for {source.label}") from None
                    log.warning("generator %s: %s; it runs on transformers (torch) instead", source.label, exc)
            return LanguageModelGenerator(source.label, _torch_engine(source, cache, max_new_tokens, dtype, threads))
        except EngineError as exc:
            raise GeneratorError(str(exc)) from None


def _ct2_engine(kind: str, folder: Path, max_new_tokens: int, compute_type: str, threads: int | None) -> Engine:
    from qa.engines.ct2 import CT2Causal, CT2Seq2Seq

    engine = CT2Seq2Seq if kind == "seq2seq" else CT2Causal
    return engine(folder, max_new_tokens, compute_type, threads)


def _torch_engine(source: ModelSource, cache: Path, max_new_tokens: int, dtype: str, threads: int | None) -> Engine:
    from qa.engines.hf import HFCausal, HFSeq2Seq

    if source.hub_id is not None:
        path, kind = source.hub_id, source.kind or _hub_kind(source.hub_id)
    else:
        path, kind = str(transformers_folder(source, cache, dtype)), source.kind
    engine = HFSeq2Seq if kind == "seq2seq" else HFCausal
    return engine(path, None, max_new_tokens, dtype, threads)


def _hub_kind(hub_id: str) -> str:
    from transformers import AutoConfig

    try:
        return "seq2seq" if AutoConfig.from_pretrained(hub_id).is_encoder_decoder else "causal"
    except (OSError, ValueError) as exc:
        raise GeneratorError(
            f"cannot read the config of generator {hub_id!r} ({exc.__class__.__name__}). This machine is offline: "
            "give a local model folder or .gguf file, or use --generator default or extractive."
        ) from None
