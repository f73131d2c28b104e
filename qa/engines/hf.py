"""transformers on torch: the fallback engine for model types CTranslate2 cannot convert, and the reference the
CTranslate2 engine is measured against (`citeqa bench`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from index.runtime import go_offline
from qa.engines import EngineError, Message, Piece, plain_prompt


class _TorchEngine:
    """Shared loading, greedy bounded decoding and token streaming for the two transformers kinds."""

    def __init__(self, model_path: str, gguf_file: str | None, max_new_tokens: int, dtype: str,
                 threads: int | None) -> None:
        go_offline()
        import torch

        if threads:
            torch.set_num_threads(threads)
        from transformers import AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self.label = f"torch {dtype}"
        self.max_new_tokens = max_new_tokens
        self.torch = torch
        kwargs = {"gguf_file": gguf_file} if gguf_file else {}
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model_path, **kwargs)
            self.model = self.model_class().from_pretrained(model_path, dtype=getattr(torch, dtype), **kwargs)
        except (OSError, ValueError) as exc:
            raise EngineError(
                f"cannot load generator {model_path!r} ({exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}). "
                "This machine is offline: give a local model folder or .gguf file, or --generator extractive."
            ) from None
        self.model.eval()

    def model_class(self):
        raise NotImplementedError

    def inputs(self, messages: Sequence[Message]) -> dict:
        raise NotImplementedError

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def stream(self, messages: Sequence[Message], max_new_tokens: int | None = None) -> Iterator[Piece]:
        """Decoding runs in a thread; closing this iterator stops it at the next token."""
        from transformers import StoppingCriteria, StoppingCriteriaList

        inputs = self.inputs(messages)
        streamer = token_streamer(self.tokenizer)
        failure: list[BaseException] = []
        stop = threading.Event()

        class Stop(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs) -> bool:
                return stop.is_set()

        def work() -> None:
            try:
                with self.torch.inference_mode():
                    self.model.generate(**inputs, streamer=streamer, do_sample=False, num_beams=1,
                                        max_new_tokens=max_new_tokens or self.max_new_tokens,
                                        stopping_criteria=StoppingCriteriaList([Stop()]),
                                        pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
            except BaseException as exc:  # surfaced in the caller's thread below
                failure.append(exc)
                streamer.end()

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        try:
            for text in streamer:
                if text:
                    yield Piece(text)
        finally:
            stop.set()
            thread.join()
        if failure:
            raise EngineError(f"generation failed: {failure[0]}") from failure[0]


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


class HFSeq2Seq(_TorchEngine):
    def model_class(self):
        from transformers import AutoModelForSeq2SeqLM

        return AutoModelForSeq2SeqLM

    def inputs(self, messages: Sequence[Message]) -> dict:
        limit = getattr(self.tokenizer, "model_max_length", None)
        limit = limit if isinstance(limit, int) and 0 < limit < 1_000_000 else 512  # unset means "very large"
        return dict(self.tokenizer(plain_prompt(messages), return_tensors="pt", truncation=True, max_length=limit))


class HFCausal(_TorchEngine):
    def model_class(self):
        from transformers import AutoModelForCausalLM

        return AutoModelForCausalLM

    def prompt(self, messages: Sequence[Message]) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
        return plain_prompt(messages)

    def inputs(self, messages: Sequence[Message]) -> dict:
        return dict(self.tokenizer(self.prompt(messages), return_tensors="pt", add_special_tokens=False))
