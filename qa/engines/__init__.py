"""Engines run a language model on a chat prompt and stream its answer as `Piece`s.

`ct2` runs CTranslate2 int8 models (3× faster than torch on a laptop CPU, no torch import when answering);
`hf` runs transformers on torch, for model types CTranslate2 cannot convert. `qa.generators` picks one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

Message = dict[str, str]


@dataclass(frozen=True, slots=True)
class Piece:
    """Text released to the reader, with the log-probability of the tokens behind it.

    The first piece of an answer also carries the likeliest first tokens and their probabilities, when the
    engine can tell: how sure the model was of how to begin (an answer, or "unknown").
    """

    text: str
    logprob: float = 0.0
    tokens: int = 1
    alternatives: tuple[tuple[str, float], ...] = ()


class EngineError(RuntimeError):
    pass


class Engine(Protocol):
    label: str  # "ctranslate2 int8", "torch bfloat16": which engine runs, for logs and answers

    def count_tokens(self, text: str) -> int: ...

    def stream(self, messages: Sequence[Message], max_new_tokens: int | None = None) -> Iterator[Piece]:
        """Greedy decoding of at most `max_new_tokens` (default: the engine's own bound). Closing the iterator
        stops the model within a token."""
        ...


def plain_prompt(messages: Sequence[Message]) -> str:
    """One flat text, for encoder-decoders (flan-t5) and for models without a chat template."""
    return "\n\n".join(m["content"] for m in messages) + "\nAnswer:"


class IncrementalText:
    """Text of a growing token sequence, released as soon as it is final.

    Held back while it ends inside a multi-byte character, and while decoding more tokens rewrites text
    already released (byte-level tokenizers such as Qwen's never do; word-piece ones may add a space).
    """

    def __init__(self, decode) -> None:
        self.decode = decode
        self.ids: list[int] = []
        self.released = ""

    def add(self, token_id: int) -> str:
        self.ids.append(token_id)
        text = self.decode(self.ids)
        if text.startswith(self.released) and not text.endswith("\ufffd"):
            piece, self.released = text[len(self.released):], text
            return piece
        return ""

    def finish(self) -> str:
        text = self.decode(self.ids)
        return text[len(self.released):] if text.startswith(self.released) else ""
