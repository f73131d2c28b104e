"""Past conversations, kept in the chat's SQLite file (`ui.chatdb`) so that they survive reloads and restarts.

A conversation is created with its first question, titled from it, and can be renamed and deleted. Its
entries are those of `ui.conversation`; an entry is saved again under its "id" as its answer arrives, so two
pages writing to one conversation never drop each other's questions. Everyone who can open the page shares
the list, as they share the index.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ui import conversation as conv
from ui.chatdb import transaction

TITLE_CHARS = 60
MAX_TITLE_CHARS = 200  # a renamed title
SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    entries TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_by_update ON conversations (updated);
"""


def title_from(question: str) -> str:
    """The first question on one line, cut at a word to about 60 characters."""
    text = " ".join(question.split())
    if len(text) <= TITLE_CHARS:
        return text or "Untitled"
    cut = text[:TITLE_CHARS + 1]
    cut = cut.rsplit(" ", 1)[0] if " " in cut else cut[:TITLE_CHARS]
    return cut.rstrip(" ,;:.-–") + "…"


def clean_title(title: Any) -> str:
    """A title typed by a reader: one line, not empty, bounded."""
    text = " ".join(str(title or "").split())[:MAX_TITLE_CHARS]
    if not text:
        raise ValueError("A conversation needs a title: type one, or press Cancel.")
    return text


@dataclass(frozen=True, slots=True)
class Summary:
    """A line of the list."""

    id: str
    title: str
    updated: float


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    title: str
    created: float
    updated: float
    entries: tuple[conv.Entry, ...]


class History:
    """The conversations in one SQLite file, newest (last written) first."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _transaction(self, write: bool = True):
        return transaction(self.path, SCHEMA, write)

    def start(self, question: str, entries: list[conv.Entry] | None = None) -> str:
        """A new conversation titled from its first question; returns its id."""
        now = time.time()
        ident = uuid.uuid4().hex[:16]
        with self._transaction() as db:
            db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?)",
                       (ident, title_from(question), now, now, json.dumps(entries or [])))
        return ident

    def get(self, ident: str | None) -> Conversation | None:
        if not ident:
            return None
        with self._transaction(write=False) as db:
            row = db.execute("SELECT id, title, created, updated, entries FROM conversations WHERE id = ?",
                             (ident,)).fetchone()
        if row is None:
            return None
        return Conversation(row[0], row[1], row[2], row[3], tuple(conv.restore(json.loads(row[4]))))

    def summaries(self, search: str = "") -> list[Summary]:
        """Newest first; `search` keeps the titles that contain it, in any case."""
        with self._transaction(write=False) as db:
            rows = db.execute("SELECT id, title, updated FROM conversations ORDER BY updated DESC").fetchall()
        wanted = " ".join(search.split()).casefold()
        return [Summary(*row) for row in rows if wanted in row[1].casefold()]

    def save_entry(self, ident: str, entry: conv.Entry) -> bool:
        """Write `entry` over the one with its id, or add it last; False when the conversation is gone."""
        with self._transaction() as db:
            row = db.execute("SELECT entries FROM conversations WHERE id = ?", (ident,)).fetchone()
            if row is None:
                return False
            entries = json.loads(row[0])
            at = next((n for n, e in enumerate(entries) if e.get("id") and e.get("id") == entry.get("id")), None)
            if at is None:
                entries = conv.append(entries, entry)
            else:
                entries[at] = entry
            db.execute("UPDATE conversations SET entries = ?, updated = ? WHERE id = ?",
                       (json.dumps(entries), time.time(), ident))
        return True

    def rename(self, ident: str, title: str) -> bool:
        with self._transaction() as db:
            return db.execute("UPDATE conversations SET title = ? WHERE id = ?",
                              (clean_title(title), ident)).rowcount == 1

    def delete(self, ident: str) -> bool:
        with self._transaction() as db:
            return db.execute("DELETE FROM conversations WHERE id = ?", (ident,)).rowcount == 1
