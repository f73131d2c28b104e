"""Past conversations, kept in the chat's SQLite file (`ui.chatdb`) so that they survive reloads and restarts.

A conversation is created with its first question, titled from it, and can be renamed and deleted. Its
entries are those of `ui.conversation`; an entry is saved again under its "id" as its answer arrives, so two
pages writing to one conversation never drop each other's questions.

Each conversation belongs to an `owner`: the browser that started it (`ui.chat.owner_of`), so that two people
on one server never see each other's questions; `SHARED` is the one list of a server started with
`--shared-conversations`. Every read and write names its owner, and another owner's conversation is as good as
absent. Conversations kept before lists had owners are adopted by the first list that is opened (`adopt`).
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ui import conversation as conv
from ui.chatdb import transaction

TITLE_CHARS = 60
SHARED = ""  # the owner of the one list every browser shares (`citeqa chat --shared-conversations`)
MAX_TITLE_CHARS = 200  # a renamed title
SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    entries TEXT NOT NULL,
    owner TEXT
);
CREATE INDEX IF NOT EXISTS conversations_by_update ON conversations (updated);
"""
OWNER_COLUMN = "ALTER TABLE conversations ADD COLUMN owner TEXT"  # a file written before lists had owners


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


def when(moment: float) -> str:
    """The date and time of a conversation's last question, as a list shows it: "3 Dec 2026, 14:05"."""
    at = datetime.fromtimestamp(moment)
    return f"{at.day} {at:%b %Y, %H:%M}"


@dataclass(frozen=True, slots=True)
class Summary:
    """A line of the list."""

    id: str
    title: str
    updated: float

    @property
    def label(self) -> str:
        """What the list shows: the date and time, then the title (two conversations with the same first question
        differ by their time)."""
        return f"{when(self.updated)}\n{self.title}"


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
        self._migrated = False

    @contextmanager
    def _transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        with transaction(self.path, SCHEMA, write) as db:
            if not self._migrated:
                if "owner" not in {row[1] for row in db.execute("PRAGMA table_info(conversations)")}:
                    db.execute(OWNER_COLUMN)
                self._migrated = True
            yield db

    def start(self, question: str, entries: list[conv.Entry] | None = None, owner: str = SHARED) -> str:
        """A new conversation of `owner`, titled from its first question; returns its id."""
        now = time.time()
        ident = uuid.uuid4().hex[:16]
        with self._transaction() as db:
            db.execute("INSERT INTO conversations (id, title, created, updated, entries, owner) "
                       "VALUES (?, ?, ?, ?, ?, ?)", (ident, title_from(question), now, now, json.dumps(entries or []),
                                                     owner))
        return ident

    def get(self, ident: str | None, owner: str = SHARED) -> Conversation | None:
        if not ident:
            return None
        with self._transaction(write=False) as db:
            row = db.execute("SELECT id, title, created, updated, entries FROM conversations "
                             "WHERE id = ? AND owner = ?", (ident, owner)).fetchone()
        if row is None:
            return None
        return Conversation(row[0], row[1], row[2], row[3], tuple(conv.restore(json.loads(row[4]))))

    def summaries(self, search: str = "", owner: str = SHARED) -> list[Summary]:
        """The owner's conversations, newest first; `search` keeps the titles that contain it, in any case."""
        with self._transaction(write=False) as db:
            rows = db.execute("SELECT id, title, updated FROM conversations WHERE owner = ? ORDER BY updated DESC",
                              (owner,)).fetchall()
        wanted = " ".join(search.split()).casefold()
        return [Summary(*row) for row in rows if wanted in row[1].casefold()]

    def adopt(self, owner: str) -> int:
        """Conversations kept before lists had owners become `owner`'s (the first list opened after an upgrade,
        on a one-person install its only one); returns how many."""
        with self._transaction() as db:
            return db.execute("UPDATE conversations SET owner = ? WHERE owner IS NULL", (owner,)).rowcount

    def save_entry(self, ident: str, entry: conv.Entry, owner: str = SHARED) -> bool:
        """Write `entry` over the one with its id, or add it last; False when the owner has no such conversation."""
        with self._transaction() as db:
            row = db.execute("SELECT entries FROM conversations WHERE id = ? AND owner = ?", (ident, owner)).fetchone()
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

    def rename(self, ident: str, title: str, owner: str = SHARED) -> bool:
        with self._transaction() as db:
            return db.execute("UPDATE conversations SET title = ? WHERE id = ? AND owner = ?",
                              (clean_title(title), ident, owner)).rowcount == 1

    def delete(self, ident: str, owner: str = SHARED) -> bool:
        with self._transaction() as db:
            return db.execute("DELETE FROM conversations WHERE id = ? AND owner = ?", (ident, owner)).rowcount == 1
