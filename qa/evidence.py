"""From retrieved passages to scored sentences: the units a generator cites and a reader checks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from index.documents import Passage
from index.keyword import tokenize
from index.sentences import sentence_spans
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
    """Splits retrieved passages into whole document sentences and ranks them by dense + lexical match."""

    def __init__(self, encode: Encode, document_text: Callable[[str], str], lexical_weight: float = 0.35,
                 passage_weight: float = 0.3, short_words: int = 6, kind_weight: float = 0.15,
                 caption_penalty: float = 0.3) -> None:
        self.encode = encode
        self.document_text = document_text
        self.lexical_weight = lexical_weight
        self.passage_weight = passage_weight
        self.short_words = short_words
        self.kind_weight = kind_weight
        self.caption_penalty = caption_penalty
        self._spans: dict[tuple[str, int], list] = {}

    def _sentences(self, passage: Passage, text: str) -> list[tuple[int, int]]:
        key = (passage.source, len(text), hash(text))  # an edit of the same length must not reuse spans
        if key not in self._spans:
            self._spans[key] = sentence_spans(text)
        return [(s.start, s.end) for s in self._spans[key] if s.end > passage.start and s.start < passage.end]

    def run(self, analysis: QuestionAnalysis, question_vector: np.ndarray, passages: list[Passage],
            document_text: Callable[[str], str] | None = None) -> list[Evidence]:
        """`document_text` reads from the generation the passages came from (default: the selector's own)."""
        document_text = document_text or self.document_text
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
