"""The Python API: `Assistant` wires index → retrieve → select evidence → generate → cite → answer."""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from index.corpus import Index
from index.documents import IndexReport, Passage
from index.store import DocumentInfo, Snapshot
from qa.answer import Answer, Citation, Evidence
from qa.answer_types import Kind, holds_kind, question_kind
from qa.attribution import ASKS_SPEAKER, names_the_speaker
from qa.citations import CitedClaim, cite_claim, parse_claims
from qa.config import Config
from qa.conflicts import Conflict, find_conflict
from qa.counting import counts_asked
from qa.errors import QuestionError
from qa.evidence import EvidenceSelector
from qa.followup import standalone_question
from qa.generators import Generator, load_generator
from qa.prompt import fit_evidence, is_refusal
from qa.quoting import quote_claim
from qa.roles import asked_title, other_holder
from qa.speakers import with_speakers

log = logging.getLogger("citeqa.qa")
SEEDS = Path(__file__).resolve().parents[1] / "seeds"
MAX_QUESTION_CHARS = 2000
SOURCE_LABEL = re.compile(r"^\W*source\s*(\d+)\W*$", re.IGNORECASE)
History = list[tuple[str, str]]


def clean_question(question: Any) -> str:
    """Reject what cannot be a question; drop control characters that only confuse tokenizers."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    text = "".join(c if unicodedata.category(c)[0] != "C" or c in "\n\t" else " " for c in question)
    text = " ".join(text.split())
    if not text:
        raise QuestionError("the question is empty: ask something about your documents")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(f"the question is {len(text):,} characters long; the limit is {MAX_QUESTION_CHARS:,}")
    return text


class Assistant:
    """Answers questions from an index with citations to exact sentences, or says the documents don't say.

    With no arguments it uses the default index folder, built from the seed articles on first use, and
    the default generator. Models load on first need; one Assistant serves many threads.
    """

    def __init__(self, index_dir: str | Path | None = None, generator: str | None = None,
                 config: Config | dict[str, Any] | None = None, embedder: Any = None, **overrides: Any) -> None:
        if isinstance(config, dict):
            config = Config.from_dict(config)
        config = config or Config()
        if index_dir is not None:
            config = config.with_(index=config.index.with_(path=Path(index_dir)))
        if generator is not None:
            overrides["generator"] = generator
        self.config = config.with_(**overrides) if overrides else config
        self.index = Index(self.config.index, embedder=embedder)  # pass one Embedder to share it
        self._generator: Generator | None = None
        self._generate_lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._texts: dict[tuple[str, str], str] = {}
        self._vectors: dict[str, np.ndarray] = {}
        self.selector = EvidenceSelector(self._encode_cached, self.document_text)

    # -- documents -----------------------------------------------------------------------------
    def add(self, paths: list[str | Path] | str | Path, rebuild: bool = False, sync: bool = False,
            progress: bool = False, source_prefix: str = "") -> IndexReport:
        paths = [paths] if isinstance(paths, str | Path) else list(paths)
        return self.index.add(paths, rebuild=rebuild, sync=sync, progress=progress, source_prefix=source_prefix)

    def remove(self, source: str) -> IndexReport:
        return self.index.remove([source])

    def documents(self) -> list[DocumentInfo]:
        self._ensure_index()
        return self.index.documents()

    def document_text(self, source: str, snapshot: Snapshot | None = None) -> str:
        """A document's text in `snapshot` (default: the live generation), cached per generation."""
        snapshot = snapshot or self.index.snapshot()
        key = (snapshot.key, source)
        text = self._texts.get(key)
        if text is None:
            document = snapshot.document(source)
            if document is None:
                raise KeyError(f"not in the index: {source}")
            if len(self._texts) > 256:
                self._texts.clear()
            text = self._texts[key] = document.text
        return text

    def with_generator(self, generator: str) -> Assistant:
        """Another Assistant over the same index and loaded embedder, answering with another generator."""
        return Assistant(config=self.config.with_(generator=generator), embedder=self.index._embedder)

    def _ensure_index(self) -> None:
        """The seed articles are the default corpus: index them on first use of an empty default index."""
        if self.index.exists:
            return
        with self._load_lock:
            if not self.index.exists:
                log.warning("no index at %s yet: indexing the seed articles from %s", self.index.root, SEEDS)
                self.index.add([SEEDS], progress=True)

    # -- retrieval -----------------------------------------------------------------------------
    def _encode_cached(self, texts: list[str]) -> np.ndarray:
        found = {t: v for t in dict.fromkeys(texts) if (v := self._vectors.get(t)) is not None}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            if len(self._vectors) > 50_000:
                self._vectors.clear()
            for text, vector in zip(missing, self.index.embedder.encode(missing), strict=True):
                self._vectors[text] = found[text] = vector
        return np.vstack([found[t] for t in texts])

    def retrieve(self, question: str, k: int | None = None, mode: str | None = None) -> list[Passage]:
        question = clean_question(question)
        self._ensure_index()
        return self.index.search(question, k or self.config.top_k, mode or self.config.retrieval_mode)

    # -- answering -----------------------------------------------------------------------------
    @property
    def generator(self) -> Generator:
        if self._generator is None:
            with self._load_lock:
                if self._generator is None:
                    c = self.config
                    self._generator = load_generator(c.generator, c.max_new_tokens, c.dtype, c.threads)
        return self._generator

    def ask(self, question: str, history: History | None = None, k: int | None = None) -> Answer:
        *_, answer = self.stream(question, history=history, k=k)
        return answer

    def stream(self, question: str, history: History | None = None, k: int | None = None) -> Iterator[str | Answer]:
        """Text pieces as the generator writes them, then the final, cited Answer."""
        question = clean_question(question)
        started = time.perf_counter()
        timings: dict[str, float] = {}
        self._ensure_index()
        asked = standalone_question(question, history)
        vector = self.index.embed_query(asked)
        snapshot = self.index.snapshot()  # one generation for search and evidence, whatever a writer does
        passages = tuple(self.index.search(asked, k or self.config.top_k, self.config.retrieval_mode, vector,
                                           snapshot=snapshot))
        timings["retrieve"] = time.perf_counter() - started
        mark = time.perf_counter()
        evidence = self.selector.run(asked, vector, list(passages), lambda s: self.document_text(s, snapshot))
        timings["select"] = time.perf_counter() - mark

        def finish(text: str, citations: tuple[Citation, ...] = (), abstained: bool = False, reason: str = "",
                   conflict: bool = False) -> Answer:
            timings["total"] = time.perf_counter() - started
            return Answer(question, text, citations, abstained, passages, dict(timings), conflict, asked,
                          getattr(self._generator, "name", self.config.generator), reason)

        if not evidence or evidence[0].score < self.config.min_relevance:
            yield finish(self._abstention(question), abstained=True, reason="nothing relevant was retrieved")
            return
        generator = self.generator
        if question_kind(asked) is Kind.PERSON or ASKS_SPEAKER.search(asked):
            evidence = with_speakers(evidence, lambda s: self.document_text(s, snapshot))
        chosen = fit_evidence(evidence, generator.count_tokens, self.config.evidence_tokens, self.config.max_evidence)
        mark = time.perf_counter()
        pieces: list[str] = []
        with self._generate_lock:
            for piece in generator.stream(asked, chosen):
                if not pieces:
                    timings["first_token"] = time.perf_counter() - started
                pieces.append(piece)
                yield piece
        raw = "".join(pieces).strip()
        timings["generate"] = time.perf_counter() - mark
        mark = time.perf_counter()
        if is_refusal(raw):
            yield finish(self._abstention(question), abstained=True, reason="the generator found no answer")
            return
        raw = self._resolve_source_label(raw, chosen)
        kind = question_kind(asked)
        if not holds_kind(raw, kind, asked):
            yield finish(self._abstention(question), abstained=True,
                         reason=f"the generated answer “{raw[:200]}” is not a {kind.value}, which the question asks for")
            return
        cited = [cite_claim(claim, asked, chosen) for claim in parse_claims(raw)]
        # Each check keeps the claims that pass it; when none is left, the reason is why citeqa abstains.
        checks: list[tuple[Callable[[CitedClaim], bool], str]] = [
            (lambda c: c.supported, f"no retrieved sentence supports the generated answer “{raw[:200]}”"),
            (lambda c: any(counts_asked(c.text, x.text, asked) for x in c.citations),
             f"the number in “{raw[:200]}” does not count what the question asks about"),
            (lambda c: not all(names_the_speaker(c.text, x.text, asked) for x in c.citations),
             f"“{raw[:200]}” is who said the cited sentence, not what the question asks about"),
        ]
        supported = [quote_claim(c) for c in cited]  # numbers in the cited sentence's words; keeps .supported
        for keep, reason in checks:
            supported = [c for c in supported if keep(c)]
            if not supported:
                yield finish(self._abstention(question), abstained=True, reason=reason)
                return
        text, citations = self._render(supported)
        conflict = None
        if generator.name != "extractive":
            conflict = self._conflict(asked, vector, supported, chosen, evidence, generator, snapshot)
        if conflict is not None:
            marker = len(citations) + 1
            citations += (Citation.of(conflict.evidence, marker),)
            text = f"{text.rstrip('.')}. However, another source says: {conflict.answer.rstrip('.')} [{marker}]."
        timings["verify"] = time.perf_counter() - mark
        yield finish(text, citations, conflict=conflict is not None)

    @staticmethod
    def _resolve_source_label(raw: str, chosen: list[Evidence]) -> str:
        """A small model sometimes answers with the label ("Source 2"): answer with that sentence, cited."""
        match = SOURCE_LABEL.match(raw)
        if match and 1 <= int(match.group(1)) <= len(chosen):
            evidence = chosen[int(match.group(1)) - 1]
            return f"{evidence.text} [{evidence.marker}]"
        return raw

    def _render(self, claims: list[CitedClaim]) -> tuple[str, tuple[Citation, ...]]:
        """Answer text with markers numbered 1..n in order of first use, one per distinct sentence."""
        numbers: dict[tuple[str, int], int] = {}
        citations: list[Citation] = []
        parts = []
        for claim in claims:
            marks = []
            for c in claim.citations:
                key = (c.source, c.start)
                if key not in numbers:
                    numbers[key] = len(numbers) + 1
                    citations.append(Citation(numbers[key], c.source, c.title, c.text, c.start, c.end, c.supported))
                marks.append(f"[{numbers[key]}]")
            body = claim.text.rstrip()
            tail = ""
            if body.endswith((".", "!", "?")) and len(body.split()) > 3:
                body, tail = body[:-1], body[-1]
            parts.append(f"{body} {''.join(marks)}{tail}")
        return " ".join(parts), tuple(citations)

    def _conflict(self, asked: str, vector: np.ndarray, claims: list[CitedClaim], chosen: list[Evidence],
                  evidence: list[Evidence], generator: Generator, snapshot: Snapshot):
        """Look for a disagreeing sentence in the ranked evidence and in the other documents' best passages."""
        by_place = {(e.source, e.start): e for e in chosen}
        cited = [by_place[(c.source, c.start)] for c in claims[0].citations if (c.source, c.start) in by_place]
        cited_sources = {c.source for c in cited}
        others = [p for p in self.index.search(asked, 4 * self.config.top_k, self.config.retrieval_mode, vector,
                                               snapshot=snapshot)
                  if p.source not in cited_sources][:self.config.top_k]
        seen = {(e.source, e.start) for e in evidence}
        extra = [e for e in self.selector.run(asked, vector, others, lambda s: self.document_text(s, snapshot))
                 if (e.source, e.start) not in seen]
        candidates = sorted(evidence + extra, key=lambda e: -e.score)

        def answer_from(question: str, sentences: list[Evidence]) -> str:
            renumbered = [Evidence(1, e.source, e.title, e.text, e.start, e.end, e.score) for e in sentences]
            with self._generate_lock:
                return "".join(generator.stream(question, renumbered))

        found = find_conflict(asked, claims[0].text, cited, candidates, self.config.conflict_margin, answer_from)
        return found or self._role_conflict(asked, vector, claims[0].text, cited, cited_sources, snapshot)

    def _role_conflict(self, asked: str, vector: np.ndarray, answer: str, cited: list[Evidence],
                       cited_sources: set[str], snapshot: Snapshot) -> Conflict | None:
        """Another document naming someone else under the title the question asks about."""
        title = next((t for c in cited if (t := asked_title(asked, answer, c.text))), None)
        if title is None:
            return None
        passages = self.index.search(title, self.config.top_k, "keyword", vector, snapshot=snapshot)
        sentences = self.selector.run(asked, vector, passages, lambda s: self.document_text(s, snapshot))
        found = other_holder(title, answer, sentences, cited_sources)
        return Conflict(*found) if found else None

    @staticmethod
    def _abstention(question: str) -> str:
        return ("The documents don't say. None of the indexed passages answers this question; "
                "the nearest passages are listed below.")
