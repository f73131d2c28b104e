"""From retrieved passages to scored sentences: the units a generator cites and a reader checks."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from index.documents import Passage
from index.keyword import tokenize
from index.sentences import Span, sentence_spans
from qa.analysis import QuestionAnalysis, holds_kind
from qa.answer import Evidence
from qa.lexicon import CAPTION, INJECTION

Encode = Callable[[list[str]], np.ndarray]


def lexical_overlap(question: str, sentence: str) -> float:
    """Share of the question's content words that the sentence contains."""
    wanted = set(tokenize(question))
    if not wanted:
        return 0.0
    return len(wanted & set(tokenize(sentence))) / len(wanted)


class EvidenceSelector:
    """Splits retrieved passages into whole document sentences and ranks them by dense + lexical match.

    `encode` embeds sentences (`Index.embed`); their vectors are kept, up to `cache_size`, because the same
    sentences come back for related questions.
    """

    def __init__(self, encode: Encode, lexical_weight: float = 0.35, passage_weight: float = 0.3,
                 short_words: int = 6, kind_weight: float = 0.15, caption_penalty: float = 0.3,
                 cache_size: int = 50_000) -> None:
        self._encode = encode
        self.cache_size = cache_size
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self.lexical_weight = lexical_weight
        self.passage_weight = passage_weight
        self.short_words = short_words
        self.kind_weight = kind_weight
        self.caption_penalty = caption_penalty
        self._spans: dict[tuple[str, int], list] = {}

    def spans(self, source: str, text: str) -> list[Span]:
        """Every sentence of a document, in order (kept per document text)."""
        key = (source, len(text), hash(text))  # an edit of the same length must not reuse spans
        with self._lock:
            found = self._spans.get(key)
        if found is None:
            found = sentence_spans(text)
            with self._lock:
                if len(self._spans) > 1024:
                    self._spans.clear()
                self._spans[key] = found
        return found

    def _sentences(self, passage: Passage, text: str) -> list[tuple[int, int]]:
        return [(s.start, s.end) for s in self.spans(passage.source, text)
                if s.end > passage.start and s.start < passage.end]

    def encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            found = {t: v for t in dict.fromkeys(texts) if (v := self._vectors.get(t)) is not None}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            vectors = self._encode(missing)
            with self._lock:
                if len(self._vectors) > self.cache_size:
                    self._vectors.clear()
                for text, vector in zip(missing, vectors, strict=True):
                    self._vectors[text] = found[text] = vector
        return np.vstack([found[t] for t in texts])

    def run(self, analysis: QuestionAnalysis, question_vector: np.ndarray, passages: list[Passage],
            document_text: Callable[[str], str]) -> list[Evidence]:
        """`document_text` reads from the generation the passages came from."""
        seen: set[tuple[str, int]] = set()
        rows: list[tuple[Passage, int, int, str]] = []
        for passage in passages:
            text = document_text(passage.source)
            for start, end in self._sentences(passage, text):
                if (passage.source, start) in seen or looks_like_injection(text[start:end]):
                    continue
                seen.add((passage.source, start))
                rows.append((passage, start, end, text[start:end]))
        if not rows:
            return []
        vectors = self.encode([r[3] for r in rows])
        dense = vectors @ question_vector.reshape(-1)
        question = analysis.text
        scored = []
        for (passage, start, end, sentence), cosine in zip(rows, dense, strict=True):
            # Headlines and captions ("Chris Kaba club shooting") echo a question without answering it.
            brevity = min(1.0, len(sentence.split()) / self.short_words)
            score = (brevity * float(cosine) + self.lexical_weight * lexical_overlap(question, sentence)
                     + self.passage_weight * (passage.dense_score or 0.0))
            # A sentence that holds the kind of value asked for ("when?" → a date) is likelier to answer.
            if holds_kind(sentence, analysis):
                score += self.kind_weight
            if CAPTION.match(sentence):
                score -= self.caption_penalty
            scored.append((score, passage, start, end, sentence))
        scored.sort(key=lambda row: -row[0])
        return [Evidence(n, p.source, p.title, s, start, end, score)
                for n, (score, p, start, end, s) in enumerate(scored, start=1)]


def looks_like_injection(sentence: str) -> bool:
    """Text that addresses the assistant rather than the reader is never offered to the generator."""
    return bool(INJECTION.search(sentence))
