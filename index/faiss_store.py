"""The embedded store (the default): an index folder of immutable FAISS + SQLite + BM25 generations,
published atomically.

An index folder holds `CURRENT`, which names the live generation folder (`gen-000007/`). A generation
holds the SQLite database of documents and chunks, the FAISS vectors, the BM25 weights and the
manifest. An update writes a new generation beside the live one and then swaps `CURRENT` with
`os.replace`, so a crash, `kill -9` or full disk at any point leaves the previous generation intact,
and a reader always sees one consistent snapshot.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any, ClassVar

import faiss
import numpy as np

from index.backend import SCHEMA_VERSION, DocumentInfo, IndexCorruptError, IndexMissingError
from index.documents import Chunk, Document
from index.keyword import KeywordIndex
from index.vectors import approximate, check_dense_settings

CURRENT = "CURRENT"
DB_FILE = "chunks.sqlite"
DENSE_FILE = "dense.faiss"
MANIFEST_FILE = "manifest.json"
GENERATION_NAME = re.compile(r"gen-(\d{6,})")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    source TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    text TEXT NOT NULL,
    metadata TEXT NOT NULL,
    indexed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL REFERENCES documents(source) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_source ON chunks(source);
CREATE INDEX IF NOT EXISTS documents_by_hash ON documents(sha256);
"""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def file_digest(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _corrupt(root: Path, what: str) -> IndexCorruptError:
    return IndexCorruptError(
        f"the index at {root} is damaged ({what}). "
        f"Run `citeqa index --rebuild PATH... --index {root}` to build it again."
    )


def _guard_db(method):
    """A damaged page of the database may only show on the query that reads it: report it like any damage."""

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.ProgrammingError:  # used after close(): a caller's bug, not damage
            raise
        except (sqlite3.DatabaseError, json.JSONDecodeError, KeyError) as exc:
            raise _corrupt(self.folder.parent, f"{exc.__class__.__name__}: {exc}") from None

    return guarded


def new_dense_index(dimension: int) -> faiss.Index:
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


class Snapshot:
    """One published generation, read-only. Vectors and BM25 weights are held in memory."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        try:
            self.manifest: dict[str, Any] = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
            if not isinstance(self.manifest, dict):
                raise ValueError("the manifest is not a JSON object")
            self.verify_files()
            self.db = sqlite3.connect(f"file:{folder / DB_FILE}?mode=ro&immutable=1", uri=True,
                                      check_same_thread=False)
            self.db.execute("SELECT count(*) FROM chunks").fetchone()
            self.dense = faiss.read_index(str(folder / DENSE_FILE))
            self.keyword = KeywordIndex.load(folder)
        except FileNotFoundError:
            raise
        except IndexCorruptError:
            raise
        except Exception as exc:  # noqa: BLE001 - numpy, zipfile, faiss and sqlite each fail in their own way
            raise _corrupt(folder.parent, f"{exc.__class__.__name__}: {exc}") from None
        if self.dense.ntotal != len(self.keyword) or self.dense.ntotal != self.manifest.get("chunks"):
            raise IndexCorruptError(
                f"the index at {folder.parent} is inconsistent ({self.dense.ntotal} vectors, {len(self.keyword)} "
                f"keyword rows, manifest says {self.manifest.get('chunks')}). Run `citeqa index --rebuild PATH...`."
            )

    def verify_files(self) -> None:
        """Sizes and sha256 recorded at publish time (indexes written before they were recorded skip this)."""
        for name, expected in (self.manifest.get("files") or {}).items():
            path = self.folder / name
            size = path.stat().st_size  # FileNotFoundError: handled by the caller
            if size != expected["bytes"]:
                raise _corrupt(self.folder.parent, f"{name} has {size} bytes, {expected['bytes']} were written")
            if file_digest(path) != expected["sha256"]:
                raise _corrupt(self.folder.parent, f"{name} does not match its checksum")

    @property
    def generation(self) -> int:
        return int(self.manifest["generation"])

    @property
    def key(self) -> str:
        return self.folder.name

    @property
    def size(self) -> int:
        return self.dense.ntotal

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        scores, ids = self.dense.search(vector, min(k, self.dense.ntotal))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def keyword_search(self, query: str, k: int) -> list[tuple[int, float]]:
        return self.keyword.search(query, k)

    def dense_scores(self, vector: np.ndarray, ids: list[int]) -> dict[int, float]:
        return {i: float(self.dense.reconstruct(i) @ vector[0]) for i in ids}

    def close(self) -> None:
        self.db.close()

    @_guard_db
    def documents(self) -> list[DocumentInfo]:
        rows = self.db.execute(
            "SELECT d.source, d.title, d.sha256, count(c.id), length(d.text), d.indexed_at "
            "FROM documents d LEFT JOIN chunks c ON c.source = d.source GROUP BY d.source ORDER BY d.source"
        ).fetchall()
        return [DocumentInfo(*row) for row in rows]

    @_guard_db
    def hashes(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT source, sha256 FROM documents"))

    @_guard_db
    def document(self, source: str) -> Document | None:
        row = self.db.execute("SELECT source, title, text, sha256, metadata FROM documents WHERE source = ?",
                              (source,)).fetchone()
        if row is None:
            return None
        return Document(row[0], row[1], row[2], row[3], json.loads(row[4]))

    @_guard_db
    def chunks(self, ids: list[int]) -> dict[int, tuple[Chunk, str]]:
        """Chunk and its document title, by chunk id."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT c.id, c.source, c.text, c.start, c.end, c.position, d.title FROM chunks c "
            f"JOIN documents d ON d.source = c.source WHERE c.id IN ({marks})", ids
        ).fetchall()
        return {row[0]: (Chunk(row[1], row[2], row[3], row[4], row[5]), row[6]) for row in rows}


def read_current(root: Path) -> Path | None:
    """The live generation folder named by CURRENT, or None when there is no index yet."""
    try:
        data = (root / CURRENT).read_bytes()
    except FileNotFoundError:
        return None
    name = data.decode("ascii", errors="replace").strip()
    if not GENERATION_NAME.fullmatch(name):
        raise _corrupt(root, f"{CURRENT} holds {data[:40]!r}, not a generation name")
    return root / name


def generation_number(folder: Path) -> int | None:
    match = GENERATION_NAME.fullmatch(folder.name)
    return int(match.group(1)) if match else None


def open_snapshot(root: Path, retries: int = 8) -> Snapshot:
    """The live generation. An update may swap CURRENT and delete the old generation while we open it; any
    failure is then retried on the new generation, and reported as damage only if CURRENT did not move."""
    for attempt in range(retries):
        folder = read_current(root)
        if folder is None:
            raise IndexMissingError(f"no index at {root}: run `citeqa index PATH... --index {root}` first")
        try:
            return Snapshot(folder)
        except (FileNotFoundError, IndexCorruptError) as exc:
            if read_current(root) != folder:  # swapped under us: the folder we opened was being deleted
                time.sleep(0.01 * (attempt + 1))
                continue
            if isinstance(exc, IndexCorruptError):
                raise
            raise IndexCorruptError(
                f"the index at {root} is missing {Path(exc.filename or '').name or 'files'}. "
                "Run `citeqa index --rebuild PATH...` to build it again."
            ) from None
    raise IndexCorruptError(f"the index at {root} kept changing while being opened; try again")


class Writer:
    """Builds the next generation from the live one (or from nothing) and publishes it atomically. The dense
    index becomes IVF (or flat again) just before publishing, as `index.vectors.approximate` decides."""

    def __init__(self, root: Path, base: Snapshot | None, manifest: dict[str, Any], dense_kind: str,
                 approximate_threshold: int, ivf_nprobe: int) -> None:
        self.root = root
        self.base = base
        self.dense_kind, self.approximate_threshold, self.ivf_nprobe = dense_kind, approximate_threshold, ivf_nprobe
        self.folder = root / f"tmp-{uuid.uuid4().hex[:12]}"
        self.folder.mkdir(parents=True)
        self.db = None
        try:
            if base is not None:
                shutil.copyfile(base.folder / DB_FILE, self.folder / DB_FILE)
                self.dense = faiss.clone_index(base.dense)
            else:
                self.dense = new_dense_index(int(manifest["dimension"]))
            self.manifest = dict(manifest)
            self.db = sqlite3.connect(self.folder / DB_FILE)
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.executescript(_SCHEMA)
            self.next_id = int(self.manifest.get("next_chunk_id", 1))
        except BaseException:  # a full disk while copying: leave no half-made folder behind
            self.abort()
            raise

    def remove(self, source: str) -> None:
        ids = [row[0] for row in self.db.execute("SELECT id FROM chunks WHERE source = ?", (source,))]
        if ids:
            self.dense.remove_ids(np.asarray(ids, dtype=np.int64))
        self.db.execute("DELETE FROM chunks WHERE source = ?", (source,))
        self.db.execute("DELETE FROM documents WHERE source = ?", (source,))

    def put(self, document: Document, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Insert or replace one document with its chunks and their vectors."""
        self.remove(document.source)
        self.db.execute(
            "INSERT INTO documents (source, title, sha256, text, metadata, indexed_at) VALUES (?, ?, ?, ?, ?, ?)",
            (document.source, document.title, document.sha256, document.text, json.dumps(document.metadata),
             time.time()),
        )
        ids = np.arange(self.next_id, self.next_id + len(chunks), dtype=np.int64)
        self.next_id += len(chunks)
        self.db.executemany(
            "INSERT INTO chunks (id, source, position, start, end, text) VALUES (?, ?, ?, ?, ?, ?)",
            [(int(i), c.source, c.position, c.start, c.end, c.text) for i, c in zip(ids, chunks, strict=True)],
        )
        if len(chunks):
            self.dense.add_with_ids(vectors, ids)

    def publish(self) -> Path:
        """Write every file, fsync, and swap CURRENT. Nothing is visible to readers before the swap."""
        self.dense = approximate(self.dense, self.dense_kind, self.approximate_threshold, self.ivf_nprobe)
        self.db.commit()
        rows = self.db.execute("SELECT id, text FROM chunks ORDER BY id").fetchall()
        documents = self.db.execute("SELECT count(*) FROM documents").fetchone()[0]
        self.db.close()
        keyword = KeywordIndex.build([r[0] for r in rows], [r[1] for r in rows])
        keyword.save(self.folder)
        faiss.write_index(self.dense, str(self.folder / DENSE_FILE))
        # Never reuse a number: a rebuild of gen-000001 must not overwrite the live gen-000001.
        numbers = [n for n in map(generation_number, self.root.glob("gen-*")) if n is not None]
        generation = max([self.base.generation if self.base else 0, *numbers]) + 1
        now = time.time()
        files = {f.name: {"bytes": f.stat().st_size, "sha256": file_digest(f)}
                 for f in sorted(self.folder.iterdir()) if f.name != MANIFEST_FILE}
        self.manifest.update(
            schema_version=SCHEMA_VERSION, generation=generation, documents=documents, chunks=len(rows),
            next_chunk_id=self.next_id, updated_at=now, created_at=self.manifest.get("created_at", now),
            files=files,
        )
        (self.folder / MANIFEST_FILE).write_text(json.dumps(self.manifest, indent=2), encoding="utf-8")
        for file in self.folder.iterdir():
            fsync_file(file)
        final = self.root / f"gen-{generation:06d}"
        if final.exists():  # left by a run that died after renaming but before swapping CURRENT
            shutil.rmtree(final)
        os.replace(self.folder, final)
        _fsync_dir(self.root)
        pointer = self.root / f"{CURRENT}.tmp"
        pointer.write_text(final.name + "\n", encoding="utf-8")
        fsync_file(pointer)
        os.replace(pointer, self.root / CURRENT)
        _fsync_dir(self.root)
        return final

    def abort(self) -> None:
        try:
            if self.db is not None:
                self.db.close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def collect_garbage(root: Path, keep_previous: int = 1) -> None:
    """Delete unfinished temporary folders and all but the live and the previous generations."""
    live = read_current(root)
    for tmp in root.glob("tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)
    live_number = generation_number(live) if live else 0
    numbers = sorted(n for n in map(generation_number, root.glob("gen-*")) if n is not None and n != live_number)
    older = [n for n in numbers if n < live_number][-keep_previous:] if keep_previous else []
    for number in numbers:
        if number not in older:
            shutil.rmtree(root / f"gen-{number:06d}", ignore_errors=True)


class FaissStore:
    """The store `IndexConfig.store = "faiss"` names: generations in the index folder `path`.

    `dense_kind` is "flat", "ivf", or "auto" (IVF past `approximate_threshold` chunks); `ivf_nprobe` is the
    number of IVF cells a query scans, fixed when the IVF index is built."""

    name: ClassVar[str] = "faiss"

    def __init__(self, path: str | Path, dense_kind: str = "auto", approximate_threshold: int = 200_000,
                 ivf_nprobe: int = 64) -> None:
        check_dense_settings(dense_kind, ivf_nprobe)
        self.root = Path(path)
        self.dense_kind = dense_kind
        self.approximate_threshold = approximate_threshold
        self.ivf_nprobe = ivf_nprobe
        self.location = str(self.root)

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.root), "dense_kind": self.dense_kind,
                "approximate_threshold": self.approximate_threshold, "ivf_nprobe": self.ivf_nprobe}

    def exists(self) -> bool:
        return read_current(self.root) is not None

    def open(self, current: Snapshot | None) -> Snapshot:
        if current is not None and read_current(self.root) == current.folder:
            return current
        return open_snapshot(self.root)

    def writer(self, base: Snapshot | None, manifest: dict[str, Any]) -> Writer:
        return Writer(self.root, base, manifest, self.dense_kind, self.approximate_threshold, self.ivf_nprobe)

    def collect_garbage(self) -> None:
        collect_garbage(self.root)

    def close(self) -> None:
        pass
