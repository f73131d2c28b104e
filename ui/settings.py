"""Which generator answers: one Assistant per generator per process, all over the same index."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

GENERATORS = ["default", "extractive"]
MAX_GENERATOR_CHARS = 1000


class Assistants:
    """Process-wide Assistants, one per generator, shared by every session.

    `assistant` is an Assistant, or a factory `f(generator_name) -> Assistant`. Without a factory, other
    generators come from `Assistant.with_generator`, which shares the index and the loaded embedder.
    """

    def __init__(self, assistant: Any | Callable[[str | None], Any], default: str | None = None) -> None:
        self._lock = threading.Lock()
        self._by_name: dict[str, Any] = {}
        if callable(assistant) and not hasattr(assistant, "ask"):
            self._factory = assistant
            self.base = assistant(default)
        else:
            self.base = assistant
            self._factory = None
        self.default = default or getattr(getattr(self.base, "config", None), "generator", None) or "default"
        self._by_name[self.default] = self.base

    def get(self, generator: str | None = None) -> Any:
        name = (generator or "").strip() or self.default
        if len(name) > MAX_GENERATOR_CHARS:
            raise ValueError("the generator name is too long")
        with self._lock:
            if name not in self._by_name:
                self._by_name[name] = self._factory(name) if self._factory else self.base.with_generator(name)
            return self._by_name[name]

    def forget(self, generator: str | None) -> None:
        """Drop a generator that failed, so the next question tries to load it again."""
        name = (generator or "").strip() or self.default
        with self._lock:
            if name != self.default:
                self._by_name.pop(name, None)

    def choices(self) -> list[str]:
        return list(dict.fromkeys([self.default, *GENERATORS]))
