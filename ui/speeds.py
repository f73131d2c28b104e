"""How fast each generator answers on this machine, as measured here: the time of every answer the chat
gave (and of every measurement asked for in Settings), and of every model load, kept in the chat's SQLite
file so the figures survive a restart. Settings shows their medians; nothing here is an estimate.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from ui.chatdb import transaction

KEEP = 50  # newest measurements kept per generator and kind
ANSWER, FIRST_WORDS, LOAD = "answer", "first_words", "load"
SCHEMA = """
CREATE TABLE IF NOT EXISTS speeds (
    generator TEXT NOT NULL,
    kind TEXT NOT NULL,
    seconds REAL NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS speeds_by_generator ON speeds (generator, kind, at);
"""


@dataclass(frozen=True, slots=True)
class Speed:
    """One generator's measured figures here; None where nothing was measured yet."""

    generator: str
    answers: int  # answers timed
    answer_seconds: float | None  # median, question to finished answer
    first_words_seconds: float | None  # median, question to the first words shown
    load_seconds: float | None  # the last model load


class SpeedLog:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _record(self, generator: str, kind: str, seconds: float) -> None:
        with transaction(self.path, SCHEMA) as db:
            db.execute("INSERT INTO speeds VALUES (?, ?, ?, ?)", (generator, kind, float(seconds), time.time()))
            db.execute("DELETE FROM speeds WHERE generator = ? AND kind = ? AND rowid NOT IN (SELECT rowid FROM "
                       "speeds WHERE generator = ? AND kind = ? ORDER BY at DESC LIMIT ?)",
                       (generator, kind, generator, kind, KEEP))

    def record_answer(self, generator: str, timings: dict[str, float]) -> None:
        """An answer's own timings (`Answer.timings`): its total, and when its first words came."""
        if "total" in timings:
            self._record(generator, ANSWER, timings["total"])
        if "first_token" in timings:
            self._record(generator, FIRST_WORDS, timings["first_token"])

    def record_load(self, generator: str, seconds: float) -> None:
        self._record(generator, LOAD, seconds)

    def speed(self, generator: str) -> Speed:
        with transaction(self.path, SCHEMA, write=False) as db:
            rows = db.execute("SELECT kind, seconds FROM speeds WHERE generator = ? ORDER BY at",
                              (generator,)).fetchall()
        by_kind: dict[str, list[float]] = {}
        for kind, seconds in rows:
            by_kind.setdefault(kind, []).append(seconds)
        answers = by_kind.get(ANSWER, [])
        first = by_kind.get(FIRST_WORDS, [])
        loads = by_kind.get(LOAD, [])
        return Speed(generator, len(answers), statistics.median(answers) if answers else None,
                     statistics.median(first) if first else None, loads[-1] if loads else None)


def seconds_text(seconds: float | None) -> str:
    """"0.02 s", "3.2 s", "2 min 34 s"; "—" for nothing measured."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"
