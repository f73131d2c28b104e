"""Example questions that the indexed documents answer, ready at once on every page load.

The examples are written from the newest documents themselves (`ui.phrasing`), each asking for a fact; the
seed articles, while all indexed, bring the seed questions written for them. A candidate is offered only once
it was answered with a citation, without abstaining, and for a question about a name, with a cited sentence
that names it. The check quotes (the extractive generator), so it takes well under a second per candidate and
never keeps the model from a reader's question.

What passed is kept per set of documents (their sources and contents), in memory and in the chat's SQLite
file: a reload or a restart finds it at once. When the documents change, the examples whose cited documents
are all still there, unchanged, stay on offer while the new set is checked in the background; an example
citing a removed or changed document is withdrawn at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ui.chatdb import default_path, transaction
from ui.phrasing import Candidate, document_questions

log = logging.getLogger("citeqa.ui")
SEEDS = Path(__file__).resolve().parents[1] / "seeds"
SEED_EXAMPLES = [
    "How old was Chris Kaba when he was shot?",
    "Who is the Home Secretary?",
    "Where was Chris Kaba shot?",
    "What will Martyn Blake face?",
]
OFFER = 4  # examples shown at most
TRIES = 12  # candidates asked at most per set of documents
DOCUMENTS_READ = 6  # newest documents that candidates are drawn from
NAMES_PER_DOCUMENT = 2
KEEP_SETS = 20  # sets of documents whose examples the file keeps
SCHEMA = """
CREATE TABLE IF NOT EXISTS examples (
    documents TEXT PRIMARY KEY,
    found TEXT NOT NULL,
    at REAL NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Example:
    question: str
    cites: tuple[str, ...]  # "<source> <sha256>" of each document its answer cited


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def document_key(document: Any) -> str:
    return f"{document.source} {document.sha256}"


def fingerprint(documents: list[Any]) -> str:
    """Names a set of documents by their sources and contents."""
    return hashlib.sha256("\n".join(sorted(map(document_key, documents))).encode()).hexdigest()[:24]


def seed_hashes(seeds: Path = SEEDS) -> set[str]:
    return {file_hash(p) for p in seeds.iterdir() if p.is_file()} if seeds.is_dir() else set()


def candidates(assistant: Any, documents: list[Any]) -> list[Candidate]:
    """Questions about the newest documents other than the seed articles, taken in turn (each document's first
    name, then each one's second), each name's forms best first; then, while every seed article is indexed, the
    seed questions, written by hand for them (a question derived from them would be vaguer)."""
    seeds = seed_hashes()
    with_seeds = bool(seeds) and seeds <= {d.sha256 for d in documents}
    own = [d for d in documents if d.sha256 not in seeds] if with_seeds else documents
    derived = derived_candidates(assistant, own)
    return derived + [Candidate(q) for q in SEED_EXAMPLES] if with_seeds else derived


def derived_candidates(assistant: Any, documents: list[Any]) -> list[Candidate]:
    """Questions written from the newest documents (`ui.phrasing`)."""
    newest = sorted(documents, key=lambda d: -d.indexed_at)[:DOCUMENTS_READ]
    per_document = [document_questions(assistant.document_text(d.source), NAMES_PER_DOCUMENT) for d in newest]
    in_turn = [forms for rank in range(NAMES_PER_DOCUMENT) for group in per_document if rank < len(group)
               for forms in [group[rank]]]
    unique: dict[str, Candidate] = {}
    for forms in in_turn:
        for candidate in forms:
            unique.setdefault(candidate.question, candidate)
    return list(unique.values())


def answers(checker: Any, candidate: Candidate, documents: list[Any]) -> Example | None:
    """The candidate as an example when it is answered with a citation naming its subject, else None."""
    answer = checker.ask(candidate.question)
    if answer.abstained or not answer.citations:
        return None
    if candidate.subject and not any(candidate.subject in c.text for c in answer.citations):
        return None
    keys = {d.source: document_key(d) for d in documents}
    return Example(candidate.question, tuple(sorted({keys.get(c.source, c.source) for c in answer.citations})))


class ExampleCache:
    """The examples found per set of documents, in the chat's SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def get(self, documents: str) -> tuple[Example, ...] | None:
        with transaction(self.path, SCHEMA, write=False) as db:
            row = db.execute("SELECT found FROM examples WHERE documents = ?", (documents,)).fetchone()
        if row is None:
            return None
        try:
            return tuple(Example(str(q), tuple(map(str, cites))) for q, cites in json.loads(row[0]))
        except (ValueError, TypeError):
            return None

    def put(self, documents: str, found: tuple[Example, ...]) -> None:
        with transaction(self.path, SCHEMA) as db:
            db.execute("INSERT OR REPLACE INTO examples VALUES (?, ?, ?)",
                       (documents, json.dumps([[x.question, list(x.cites)] for x in found]), time.time()))
            db.execute("DELETE FROM examples WHERE documents NOT IN "
                       "(SELECT documents FROM examples ORDER BY at DESC LIMIT ?)", (KEEP_SETS,))


class ExampleFinder:
    """The examples to offer for the live documents; a new set of documents is checked in the background.

    `checker` answers the candidates (default: the extractive generator over the same index); `fixed`
    replaces the derived candidates (still only offered when answered); `cache` keeps what was found.
    """

    def __init__(self, assistant: Any, cache: ExampleCache | None = None, fixed: list[str] | None = None,
                 checker: Any = None, offer: int = OFFER, tries: int = TRIES) -> None:
        self.assistant = assistant
        self.cache = cache
        self.fixed = fixed
        self.checker = checker
        self.offer = offer
        self.tries = tries
        self._lock = threading.Lock()
        self._found: dict[str, tuple[Example, ...]] = {}
        self._last: tuple[Example, ...] = ()  # the newest examples found: carried over while a new set is checked
        self._seen: tuple[Any, str, list[Any]] | None = None  # (generation, fingerprint, documents)
        self._thread: threading.Thread | None = None

    def _generation(self) -> Any:
        try:
            return self.assistant.index.manifest()["generation"]
        except Exception:  # no index yet: the search builds the default one
            return None

    def _documents(self) -> tuple[str, list[Any]] | None:
        """(fingerprint, documents) of the live generation; read again only when the generation changes."""
        generation = self._generation()
        if generation is None:
            return None
        seen = self._seen
        if seen is not None and seen[0] == generation:
            return seen[1], seen[2]
        documents = self.assistant.documents()
        self._seen = (generation, fingerprint(documents), documents)
        return self._seen[1], documents

    def documents(self) -> list[Any] | None:
        """The live documents (read again only when the index changes), or None while there is no index."""
        try:
            live = self._documents()
        except Exception as exc:  # the page still shows; the next read tries again
            log.warning("could not read the documents: %s", exc)
            return None
        return None if live is None else live[1]

    def current(self) -> list[str]:
        """What to offer now: the examples of the live documents, or while those are being checked, the
        ones found before that cite only documents still there and unchanged."""
        try:
            live = self._documents()
        except Exception as exc:  # examples are a convenience: never break the page over them
            log.warning("could not read the documents for example questions: %s", exc)
            return []
        if live is None:
            self._start()
            return []
        key, documents = live
        with self._lock:
            found = self._found.get(key)
        if found is None and self.cache is not None and self.fixed is None:
            found = self.cache.get(key)
            if found is not None:
                with self._lock:
                    self._found[key], self._last = found, found
        if found is not None:
            return [x.question for x in found]
        self._start()
        present = {document_key(d) for d in documents}
        return [x.question for x in self._last if set(x.cites) <= present]

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._search, daemon=True, name="citeqa-examples")
                self._thread.start()

    def wait(self, timeout: float | None = None) -> list[str]:
        """Block until the examples of the live documents are found (for callers that can wait, and tests)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            offered = self.current()
            live = self._documents()
            if live is not None and live[0] in self._found:
                return offered
            thread = self._thread
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return offered
            if thread is not None:
                thread.join(left)

    def _search(self) -> None:
        key = None
        try:
            documents = self.assistant.documents()  # builds the default index when there is none
            key = fingerprint(documents)
            checker = self.checker or self._extractive()
            asked = ([Candidate(q) for q in self.fixed] if self.fixed is not None
                     else candidates(self.assistant, documents))
            found: list[Example] = []
            covered: set[str] = set()
            for candidate in asked[:self.tries]:
                if candidate.subject and candidate.subject in covered:
                    continue  # a better question about this name is already offered
                example = answers(checker, candidate, documents)
                if example is not None:
                    found.append(example)
                    covered.add(candidate.subject)
                if len(found) == self.offer:
                    break
        except Exception as exc:  # examples are a convenience: never break the page over them
            log.warning("could not find example questions: %s", exc)
            if key is not None:  # not again until the documents change
                with self._lock:
                    self._found = {key: ()}
            return
        log.info("example questions for %d documents: %s", len(documents), [x.question for x in found])
        with self._lock:
            self._found = {key: tuple(found)}
            self._last = tuple(found)
        if self.cache is not None and self.fixed is None:
            try:
                self.cache.put(key, tuple(found))
            except Exception as exc:
                log.warning("could not keep the example questions: %s", exc)

    def _extractive(self) -> Any:
        """The same index answered by quoting: quick, and never waits for the model a reader is using."""
        with_generator = getattr(self.assistant, "with_generator", None)
        return with_generator("extractive") if with_generator else self.assistant


def prepare(assistant: Any, timeout: float = 120.0) -> list[str]:
    """Find and keep the example questions of the index's documents now, where the index changed (`citeqa index`),
    so that a chat started on it offers them at its first page load instead of checking them then."""
    return ExampleFinder(assistant, ExampleCache(default_path(assistant.index.root))).wait(timeout)
