"""Example questions that the indexed documents answer.

While the corpus is exactly the seed articles, the examples are the seed questions; otherwise candidates
come from the documents themselves: the names each document mentions most, asked about in a fixed form
("Who is …?" for a name written as a person's, "What do the documents say about …?" otherwise). Either
way a candidate is offered only after the assistant answered it with a citation and did not abstain, and,
for a question about a name, only when a cited sentence mentions that name: the candidates are asked in a
background thread, and what passed is cached per index generation.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from pathlib import Path
from typing import Any, NamedTuple

log = logging.getLogger("citeqa.ui")
SEEDS = Path(__file__).resolve().parents[1] / "seeds"
SEED_EXAMPLES = [
    "How old was Chris Kaba when he was shot?",
    "Who is the Home Secretary?",
    "Where was Chris Kaba shot?",
    "What will Martyn Blake face?",
]
OFFER = 4  # examples shown at most
TRIES = 8  # candidates asked at most per generation: each is a full answer
DOCUMENTS_READ = 6  # newest documents that candidates are drawn from
NAMES_PER_DOCUMENT = 2

WORD = r"[A-Z][a-z][\w’'\-]*"
NAME = re.compile(rf"\b{WORD}(?: {WORD}){{1,3}}\b")  # two to four capitalised words on one line
LEADING = set("The A An In On At By For From To Of And But Or So When While After Before As If This That These "
              "Those It He She They We I His Her Its Their Our My Mr Mrs Ms Miss Dr Sir Dame Lord Lady".split())
HONORIFICS = r"(?:Mr|Mrs|Ms|Miss|Dr|Sir|Dame|Lord|Lady)\.?"
SPEECH = r"(?:said|says|told|added|wrote)"


class Candidate(NamedTuple):
    question: str
    subject: str = ""  # a name a cited sentence must mention, for a question derived from the documents


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_seed_corpus(documents: list[Any], seeds: Path = SEEDS) -> bool:
    """Whether the index holds exactly the seed articles (same bytes), whatever their sources are called."""
    if not seeds.is_dir():
        return False
    return {d.sha256 for d in documents} == {file_hash(p) for p in seeds.iterdir() if p.is_file()}


def shortest_form(name: str, text: str) -> str:
    """A name without a word that only sometimes goes with it ("Later Ada Lune", "Captain Ines Marlow"):
    the part of two or more words mentioned more often than the whole."""
    words = name.split()
    parts = [" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 2, len(words) + 1)]
    best = max(parts, key=lambda part: (text.count(part), len(part)))
    return best if text.count(best) > text.count(name) else name


def names(text: str) -> list[str]:
    """Capitalised names of two or more words, most mentioned first (then first mentioned)."""
    found: list[str] = []
    for match in NAME.finditer(text):
        words = match.group().split()
        while words and words[0] in LEADING:
            words.pop(0)
        if len(words) >= 2:
            found.append(shortest_form(" ".join(words), text))
    counts = {name: text.count(name) for name in found}
    return sorted(counts, key=lambda n: (-counts[n], found.index(n)))


def is_person(name: str, text: str) -> bool:
    """Written as a person's name: with an honorific, an age, or as who said something."""
    first, last = re.escape(name.split()[0]), re.escape(name.split()[-1])
    quoted = re.escape(name)
    return bool(re.search(rf"\b{HONORIFICS} (?:{first} )?{last}\b|\b{quoted},? {SPEECH}\b|\b{SPEECH} {quoted}\b"
                          rf"|\b(?:{quoted}|{last}), (?:aged )?\d{{1,3}},", text))


def questions_about(text: str, limit: int = NAMES_PER_DOCUMENT) -> list[Candidate]:
    return [Candidate(f"Who is {n}?" if is_person(n, text) else f"What do the documents say about {n}?", n)
            for n in names(text)[:limit]]


def candidates(assistant: Any, documents: list[Any]) -> list[Candidate]:
    """The seed questions for the seed corpus; otherwise questions about the newest documents, in turn."""
    if is_seed_corpus(documents):
        return [Candidate(q) for q in SEED_EXAMPLES]
    newest = sorted(documents, key=lambda d: -d.indexed_at)[:DOCUMENTS_READ]
    per_document = [questions_about(assistant.document_text(d.source)) for d in newest]
    in_turn = [group[rank] for rank in range(NAMES_PER_DOCUMENT) for group in per_document if rank < len(group)]
    unique: dict[str, Candidate] = {}
    for candidate in in_turn:
        unique.setdefault(candidate.question, candidate)
    return list(unique.values())


def answers(assistant: Any, candidate: Candidate) -> bool:
    """Cited, not abstained, and a cited sentence names the subject asked about."""
    answer = assistant.ask(candidate.question)
    if answer.abstained or not answer.citations:
        return False
    return not candidate.subject or any(candidate.subject in c.text for c in answer.citations)


class ExampleFinder:
    """The examples to offer for the live index generation; found once per generation, in the background."""

    def __init__(self, assistant: Any, fixed: list[str] | None = None, offer: int = OFFER, tries: int = TRIES) -> None:
        self.assistant = assistant
        self.fixed = fixed  # candidates given by the caller instead of derived ones
        self.offer = offer
        self.tries = tries
        self._lock = threading.Lock()
        self._found: dict[int, list[str]] = {}
        self._thread: threading.Thread | None = None

    def _generation(self) -> int | None:
        try:
            return int(self.assistant.index.manifest()["generation"])
        except Exception:  # no index yet: the search below builds the default one
            return None

    def current(self) -> list[str] | None:
        """The examples for the live generation, or None while they are being found (the search starts)."""
        generation = self._generation()
        with self._lock:
            if generation in self._found:
                return self._found[generation]
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._search, daemon=True, name="citeqa-examples")
                self._thread.start()
        return None

    def wait(self, timeout: float | None = None) -> list[str] | None:
        """Block until the search for the live generation is done (for callers that can wait, and tests)."""
        found = self.current()
        thread = self._thread
        if found is None and thread is not None:
            thread.join(timeout)
            found = self.current()
        return found

    def _search(self) -> None:
        try:
            documents = self.assistant.documents()  # builds the default index when there is none
            generation = self._generation()
            asked = ([Candidate(q) for q in self.fixed] if self.fixed is not None
                     else candidates(self.assistant, documents))
            found: list[str] = []
            for candidate in asked[:self.tries]:
                if answers(self.assistant, candidate):
                    found.append(candidate.question)
                if len(found) == self.offer:
                    break
        except Exception as exc:  # examples are a convenience: never break the page over them
            log.warning("could not find example questions: %s", exc)
            generation, found = self._generation(), []
        log.info("example questions for generation %s: %s", generation, found)
        with self._lock:
            self._found = {generation: found}
