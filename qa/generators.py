"""Generators turn a question and numbered evidence into answer text, streamed piece by piece.

`extractive` needs no generative weights; `seq2seq` (flan-t5 and kin) and `causal` (chat models,
including a .gguf file) run through transformers. `load_generator` picks one from a name.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from index.runtime import MODEL_LOADING
from qa.answer import Evidence
from qa.prompt import SYSTEM, seq2seq_prompt, user_message


class GeneratorError(RuntimeError):
    pass


class Generator(Protocol):
    name: str

    def count_tokens(self, text: str) -> int: ...

    def stream(self, question: str, evidence: list[Evidence]) -> Iterator[str]: ...


class ExtractiveGenerator:
    """Answers with the best-ranked evidence sentence that holds the kind of value asked for, cited.

    Fast and deterministic; "who?" gets the best sentence that names someone, not merely the best match.
    """

    name = "extractive"

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, question: str, evidence: list[Evidence]) -> Iterator[str]:
        from qa.answer_types import holds_kind, question_kind

        if not evidence:
            yield "I don't know."
            return
        kind = question_kind(question)
        best = next((e for e in evidence if holds_kind(e.text, kind, question)), evidence[0])
        yield f"{best.text} [{best.marker}]"


class _TransformersGenerator:
    """Shared loading, greedy bounded decoding and token streaming for the two transformers kinds."""

    def __init__(self, name: str, model_path: str, gguf_file: str | None, max_new_tokens: int, dtype: str,
                 threads: int | None) -> None:
        import torch

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        if threads:
            torch.set_num_threads(threads)
        from transformers import AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        self.name = name
        self.max_new_tokens = max_new_tokens
        self.torch = torch
        kwargs = {"gguf_file": gguf_file} if gguf_file else {}
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model_path, **kwargs)
            self.model = self._model_class().from_pretrained(
                model_path, dtype=getattr(torch, dtype), **kwargs)
        except (OSError, ValueError) as exc:
            raise GeneratorError(
                f"cannot load generator {name!r} ({exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}). "
                "This machine is offline: give a local model folder or .gguf file, or --generator extractive."
            ) from None
        self.model.eval()

    def _model_class(self):
        raise NotImplementedError

    def prompt(self, question: str, evidence: list[Evidence]) -> str:
        raise NotImplementedError

    def _inputs(self, question: str, evidence: list[Evidence]) -> dict:
        return dict(self.tokenizer(self.prompt(question, evidence), return_tensors="pt", add_special_tokens=False))

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def stream(self, question: str, evidence: list[Evidence]) -> Iterator[str]:
        inputs = self._inputs(question, evidence)
        streamer = token_streamer(self.tokenizer)
        failure: list[BaseException] = []

        def work() -> None:
            try:
                with self.torch.inference_mode():
                    self.model.generate(**inputs, streamer=streamer, do_sample=False, num_beams=1,
                                        max_new_tokens=self.max_new_tokens,
                                        pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
            except BaseException as exc:  # surfaced in the caller's thread below
                failure.append(exc)
                streamer.end()

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        for piece in streamer:
            if piece:
                yield piece
        thread.join()
        if failure:
            raise GeneratorError(f"generation failed: {failure[0]}") from failure[0]


def token_streamer(tokenizer):
    """A TextIteratorStreamer that releases each token's text at once.

    The stock one waits for a space, so a one-word answer ("24") reached the reader only when generation
    ended. Text is held back while it ends inside a multi-byte character, and while decoding more tokens
    rewrites text already released (byte-level tokenizers such as Qwen's never do).
    """
    from transformers import TextIteratorStreamer

    class TokenStreamer(TextIteratorStreamer):
        released = ""

        def put(self, value) -> None:
            if len(value.shape) > 1:
                value = value[0]
            if self.skip_prompt and self.next_tokens_are_prompt:
                self.next_tokens_are_prompt = False
                return
            self.token_cache.extend(value.tolist())
            text = self.tokenizer.decode(self.token_cache, **self.decode_kwargs)
            if text.startswith(self.released) and not text.endswith("\ufffd"):
                piece, self.released = text[len(self.released):], text
                if piece:
                    self.on_finalized_text(piece)

        def end(self) -> None:
            text = self.tokenizer.decode(self.token_cache, **self.decode_kwargs)
            piece = text[len(self.released):] if text.startswith(self.released) else ""
            self.token_cache, self.released, self.next_tokens_are_prompt = [], "", True
            self.on_finalized_text(piece, stream_end=True)

    return TokenStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)


class Seq2SeqGenerator(_TransformersGenerator):
    def _model_class(self):
        from transformers import AutoModelForSeq2SeqLM

        return AutoModelForSeq2SeqLM

    def prompt(self, question: str, evidence: list[Evidence]) -> str:
        return seq2seq_prompt(question, evidence)

    def _inputs(self, question: str, evidence: list[Evidence]) -> dict:
        limit = getattr(self.tokenizer, "model_max_length", None)
        limit = limit if isinstance(limit, int) and 0 < limit < 1_000_000 else 512  # unset means "very large"
        return dict(self.tokenizer(self.prompt(question, evidence), return_tensors="pt", truncation=True,
                                   max_length=limit))


class CausalGenerator(_TransformersGenerator):
    def _model_class(self):
        from transformers import AutoModelForCausalLM

        return AutoModelForCausalLM

    def prompt(self, question: str, evidence: list[Evidence]) -> str:
        messages = [{"role": "system", "content": SYSTEM},
                    {"role": "user", "content": user_message(question, evidence)}]
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return f"{SYSTEM}\n\n{user_message(question, evidence)}\nAnswer:"


def _is_encoder_decoder(path: str, gguf_file: str | None) -> bool:
    from transformers import AutoConfig

    kwargs = {"gguf_file": gguf_file} if gguf_file else {}
    try:
        return bool(AutoConfig.from_pretrained(path, **kwargs).is_encoder_decoder)
    except (OSError, ValueError) as exc:
        raise GeneratorError(
            f"cannot read the config of generator {path!r} ({exc.__class__.__name__}). This machine is offline: "
            "give a local model folder or .gguf file, or use --generator default or extractive."
        ) from None


def load_generator(name: str, max_new_tokens: int = 48, dtype: str = "bfloat16",
                   threads: int | None = None) -> Generator:
    """`extractive`, `default`, or a model: `seq2seq:`/`causal:` prefixes force the kind, else the config decides."""
    if name == "extractive":
        return ExtractiveGenerator()
    with MODEL_LOADING:  # never beside another model load: see index.runtime
        return _load_model(name, max_new_tokens, dtype, threads)


def _load_model(name: str, max_new_tokens: int, dtype: str, threads: int | None) -> Generator:
    kind = None
    if name.startswith(("seq2seq:", "causal:")):
        kind, name = name.split(":", 1)
    if name == "default":
        from qa.weights import ensure_default_model

        path, gguf_file, kind = str(ensure_default_model(dtype=dtype)), None, "causal"
        label = "default"
    else:
        target = Path(name).expanduser()
        if target.suffix.lower() == ".gguf":
            if not target.is_file():
                raise GeneratorError(f"no such .gguf file: {target}")
            path, gguf_file = str(target.parent), target.name
        else:
            path, gguf_file = (str(target) if target.exists() else name), None
        label = name
    if kind is None:
        kind = "seq2seq" if _is_encoder_decoder(path, gguf_file) else "causal"
    cls = Seq2SeqGenerator if kind == "seq2seq" else CausalGenerator
    return cls(label, path, gguf_file, max_new_tokens, dtype, threads)
