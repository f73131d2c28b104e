"""The chat's own small SQLite file beside the index: past conversations (`ui.history`), the speeds measured
here (`ui.speeds`) and the example questions found per set of documents (`ui.examples`). Each table belongs
to one of those modules; this one only opens the file.

A connection per operation, in WAL mode with a busy timeout: the page's handlers run on many threads, and a
second `citeqa chat` on the same index may write beside this one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

FILE_NAME = "chat.sqlite3"  # in the index folder, beside the generations and uploads/
BUSY_MS = 10_000


def default_path(index_root: Path) -> Path:
    return Path(index_root) / FILE_NAME


@contextmanager
def transaction(path: Path, schema: str = "", write: bool = True) -> Iterator[sqlite3.Connection]:
    """One transaction, rolled back on an error; `schema` (CREATE … IF NOT EXISTS) is run first. A write
    transaction takes the write lock at once, so that a read-modify-write never interleaves with another."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, timeout=BUSY_MS / 1000, isolation_level=None)) as db:
        db.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        db.execute("PRAGMA journal_mode=WAL")
        if schema:
            db.executescript(schema)
        db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
