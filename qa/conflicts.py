"""Disagreement between documents on the asked fact: report both sides instead of silently picking one."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from index.keyword import tokenize
from qa.answer import Evidence
from qa.answer_types import holds_kind, question_kind
from qa.citations import key_terms, supports
from qa.evidence import lexical_overlap
from qa.prompt import is_refusal

CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+")


@dataclass(frozen=True, slots=True)
class Conflict:
    evidence: Evidence
    answer: str


def _same_kind_value(terms: set[str], question: str, sentence: str) -> bool:
    """Whether the sentence holds a value of the answer's kind (a number, or a name) beyond the question."""
    asked = set(tokenize(question))
    if any(t.isdigit() for t in terms):
        return any(t.isdigit() and t not in asked for t in tokenize(sentence))
    names = {w.lower() for w in CAPITALISED.findall(sentence)} - asked
    return bool(names)


def find_conflict(question: str, answer: str, cited: list[Evidence], evidence: list[Evidence], margin: float,
                  answer_from: Callable[[str, list[Evidence]], str], max_checks: int = 1) -> Conflict | None:
    """A sentence from another document, nearly as relevant, whose own answer to the question differs.

    At most `max_checks` candidates are asked about, so a conflict check costs a bounded number of calls.

    `answer_from` asks the generator again with that one sentence as the only context.
    """
    terms = key_terms(answer, question)
    if not terms or not cited:
        return None
    best = max(c.score for c in cited)
    overlap = max(lexical_overlap(question, c.text) for c in cited)
    cited_sources = {c.source for c in cited}
    for candidate in evidence:
        if candidate.source in cited_sources or candidate.score < best - margin:
            continue
        if supports(terms, candidate.text) or lexical_overlap(question, candidate.text) < 0.8 * overlap:
            continue
        if not _same_kind_value(terms, question, candidate.text):
            continue
        if max_checks <= 0:
            return None
        max_checks -= 1
        other = answer_from(question, [candidate]).strip()
        if is_refusal(other) or len(other.split()) > 8 or not holds_kind(other, question_kind(question), question):
            continue
        other_terms = key_terms(other, question)
        if other_terms and supports(other_terms, candidate.text) and not (other_terms & terms):
            return Conflict(candidate, other)
    return None
