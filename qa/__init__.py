"""citeqa's answering layer. `from qa import Assistant` is the Python API."""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["Assistant", "Answer", "Citation", "Config"]

if TYPE_CHECKING:
    from qa.answer import Answer, Citation
    from qa.assistant import Assistant
    from qa.config import Config


def __getattr__(name: str):
    # Lazy, so that `citeqa list` does not pay for importing torch.
    if name == "Assistant":
        from qa.assistant import Assistant

        return Assistant
    if name in {"Answer", "Citation"}:
        from qa import answer

        return getattr(answer, name)
    if name == "Config":
        from qa.config import Config

        return Config
    raise AttributeError(name)
