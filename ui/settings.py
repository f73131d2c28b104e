"""Which generator answers: one Assistant per generator per process, all over the same index; and the
Settings tab's list of the generators this installation can run, each with its speed measured here."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ui.render import e
from ui.speeds import Speed, SpeedLog, seconds_text

MAX_GENERATOR_CHARS = 1000
EXTRACTIVE = "extractive"


def generator_names() -> list[str]:
    """Every generator the product ships: `default`, the packaged models (largest first), `extractive`."""
    from qa.weights import PACKAGED

    return ["default", *sorted(PACKAGED, key=lambda name: -PACKAGED[name].size), EXTRACTIVE]


def model_name(generator: str | None) -> str:
    """The model a generator name stands for (`default` is the README's measured choice), as answers name it."""
    from qa.sources import DEFAULT_GENERATOR

    name = (generator or "").strip() or "default"
    return DEFAULT_GENERATOR if name == "default" else name


def describe(generator: str) -> str:
    from qa.weights import PACKAGED

    if generator == "default":
        return f"the default: {model_name('default')}"
    if generator == EXTRACTIVE:
        return "quotes the best sentence; no model"
    packaged = PACKAGED.get(generator)
    return f"{packaged.label}, {packaged.size / 1e9:.1f} GB" if packaged else "a model of your own"


def missing(generator: str) -> str:
    """Why a shipped generator cannot run here (its packages are not installed), or ""."""
    from qa.weights import PACKAGED, WeightsError, find_parts

    packaged = PACKAGED.get(model_name(generator))
    if packaged is None:
        return ""
    try:
        find_parts(packaged)
    except WeightsError as exc:
        return str(exc)
    return ""


def render_generators(generators: list[tuple[str, str, Speed]]) -> str:
    """The Settings table: each generator (name, why it cannot run here or "", its speed measured here), what
    it is, and its speed."""
    rows = []
    for name, why_not, speed in generators:
        if why_not:
            figures = f'<td colspan="4" class="cq-missing">{e(why_not[:1].upper() + why_not[1:])}.</td>'
        else:
            timed = f"{speed.answers} answer{'' if speed.answers == 1 else 's'}" if speed.answers else "not yet"
            figures = (f'<td class="cq-num">{e(seconds_text(speed.answer_seconds))}</td>'
                       f'<td class="cq-num">{e(seconds_text(speed.first_words_seconds))}</td>'
                       f'<td class="cq-num">{e(seconds_text(speed.load_seconds))}</td><td>{e(timed)}</td>')
        rows.append(f'<tr><td><code>{e(name)}</code></td><td>{e(describe(name))}</td>{figures}</tr>')
    return ('<div class="cq-docs cq-speeds"><table><thead><tr><th>Generator</th><th>What it is</th>'
            '<th>Answer (median)</th><th>First words</th><th>Model load</th><th>Timed here</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table><p class="cq-note">Measured on this machine: every answer '
            'the chat gives is timed, and “Measure” times the chosen generator on the example questions. '
            '“—” means not measured yet.</p></div>')


class Assistants:
    """Process-wide Assistants, one per generator, shared by every session.

    `assistant` is an Assistant, or a factory `f(generator_name) -> Assistant`. Without a factory, other
    generators come from `Assistant.with_generator`, which shares the index and the loaded embedder.
    Model loads go through `load`, which times them (`speeds`) and remembers what this process has loaded.
    """

    def __init__(self, assistant: Any | Callable[[str | None], Any], default: str | None = None,
                 speeds: SpeedLog | None = None) -> None:
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._by_name: dict[str, Any] = {}
        self._loaded: set[str] = set()
        self.speeds = speeds
        if callable(assistant) and not hasattr(assistant, "ask"):
            self._factory = assistant
            self.base = assistant(default)
        else:
            self.base = assistant
            self._factory = None
        self.default = default or getattr(getattr(self.base, "config", None), "generator", None) or "default"
        self._by_name[self.default] = self.base

    def name(self, generator: str | None) -> str:
        name = (generator or "").strip() or self.default
        if len(name) > MAX_GENERATOR_CHARS:
            raise ValueError("the generator name is too long")
        return name

    def get(self, generator: str | None = None) -> Any:
        name = self.name(generator)
        with self._lock:
            if name not in self._by_name:
                self._by_name[name] = self._factory(name) if self._factory else self.base.with_generator(name)
            return self._by_name[name]

    def loaded(self, generator: str | None) -> bool:
        """Whether this process has loaded the generator's model (the extractive one has none to load)."""
        name = self.name(generator)
        return name == EXTRACTIVE or name in self._loaded

    def load(self, generator: str | None) -> Any:
        """The Assistant with its model loaded; a load that takes time is recorded as this machine's figure.
        One load at a time: a second caller waits, and its wait is not taken for a load."""
        name = self.name(generator)
        assistant = self.get(name)
        with self._load_lock:
            if name in self._loaded:
                return assistant
            started = time.perf_counter()
            assistant.generator  # noqa: B018 - loads the model, once per process
            seconds = time.perf_counter() - started
            self._loaded.add(name)
        if self.speeds is not None and seconds > 0.5:  # a real load, not a model already in memory
            self.speeds.record_load(model_name(name), seconds)
        return assistant

    def forget(self, generator: str | None) -> None:
        """Drop a generator that failed, so the next question tries to load it again."""
        name = (generator or "").strip() or self.default
        with self._lock:
            self._loaded.discard(name)  # the next question loads it again, with its progress shown
            if name != self.default:
                self._by_name.pop(name, None)

    def choices(self) -> list[str]:
        return list(dict.fromkeys([self.default, *generator_names()]))
