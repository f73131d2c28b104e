"""Disagreement between documents on the asked fact: report both sides instead of silently picking one.

Two ways a document can disagree with the cited one:
- a sentence from it, nearly as relevant, yields another answer when the generator reads it alone, and the
  generator, shown both sentences, judges that they answer the same question differently (not two moments
  of one story: "shot in Streatham Hill" and "stopped in Brixton the previous evening");
- for a question about a role ("Which Home Secretary ordered …?"), it names someone else right after the
  same title ("Home Secretary Yvette Cooper" against "Home Secretary Shabana Mahmood"), as news does.

`find_conflict` is the one entry point; it asks the generator at most `max_checks` times.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from qa.analysis import QuestionAnalysis, holds_kind
from qa.answer import Evidence
from qa.citing import key_terms
from qa.lexicon import PERSON_NAME, REFUSAL, TITLE_WORD
from qa.matching import coverage, matched, terms

Ask = Callable[[QuestionAnalysis, list[Evidence]], str]  # the generator's answer from these sentences alone
Judge = Callable[[QuestionAnalysis, Evidence, str, Evidence, str], bool]  # do the two answers really disagree?


@dataclass(frozen=True, slots=True)
class Conflict:
    evidence: Evidence
    answer: str


def find_conflict(analysis: QuestionAnalysis, answer: str, cited: list[Evidence], candidates: list[Evidence],
                  margin: float, ask: Ask, judge: Judge | None = None, max_checks: int = 1) -> Conflict | None:
    """A sentence from another document that answers the question differently, or None."""
    return (_other_answer(analysis, answer, cited, candidates, margin, ask, judge, max_checks)
            or _other_holder(analysis, answer, cited, candidates))


def _other_answer(analysis: QuestionAnalysis, answer: str, cited: list[Evidence], candidates: list[Evidence],
                  margin: float, ask: Ask, judge: Judge | None, max_checks: int) -> Conflict | None:
    wanted = key_terms(answer, analysis)
    if not wanted or not cited:
        return None
    best = max(c.score for c in cited)
    overlap = max(coverage(set(analysis.terms), terms(c.text)) for c in cited)
    sources = {c.source for c in cited}
    for candidate in candidates:
        held = terms(candidate.text)
        if candidate.source in sources or candidate.score < best - margin:
            continue
        if matched(wanted, held) == wanted or coverage(set(analysis.terms), held) < 0.8 * overlap:
            continue  # says the same, or is about something else
        if not holds_kind(candidate.text, analysis) or not _holds_a_value(wanted, held, analysis):
            continue
        if max_checks <= 0:
            return None
        max_checks -= 1
        other = ask(analysis, [candidate]).strip()
        if REFUSAL.search(other) or len(other.split()) > 8 or not holds_kind(other, analysis):
            continue
        others = key_terms(other, analysis)
        if not others or matched(others, held) != others or matched(others, wanted):
            continue
        if judge is None or judge(analysis, cited[0], answer, candidate, other):
            return Conflict(candidate, other)
    return None


def _holds_a_value(wanted: set[str], held: set[str], analysis: QuestionAnalysis) -> bool:
    """The sentence holds a value of the answer's sort beyond the question: a number for a number, else a word."""
    beyond = held - set(analysis.terms)
    if any(t.isdigit() for t in wanted):
        return any(t.isdigit() for t in beyond)
    return bool(beyond)


def _asked_title(analysis: QuestionAnalysis, answer: str, sentence: str, max_words: int = 3) -> str | None:
    """The title written just before the answer's name in its sentence, when the question names that title."""
    at = sentence.find(answer.strip().rstrip("."))
    if at <= 0:
        return None
    words: list[str] = []
    for word in reversed(sentence[:at].split()[-max_words:]):
        if not TITLE_WORD.fullmatch(word):
            break
        words.insert(0, word)
    while words:
        title = " ".join(words)
        if re.search(rf"\b{re.escape(title)}\b", analysis.text, re.IGNORECASE):
            return title
        words = words[1:]  # "Former Home Secretary" → "Home Secretary" is tried too, longest first
    return None


def _other_holder(analysis: QuestionAnalysis, answer: str, cited: list[Evidence],
                  candidates: list[Evidence]) -> Conflict | None:
    title = next((t for c in cited if (t := _asked_title(analysis, answer, c.text))), None)
    if title is None:
        return None
    pattern = re.compile(rf"\b{re.escape(title)}\s+({PERSON_NAME})")
    answered = terms(answer)
    sources = {c.source for c in cited}
    for candidate in candidates:
        if candidate.source in sources:
            continue
        for match in pattern.finditer(candidate.text):
            if not terms(match.group(1)) & answered:
                return Conflict(candidate, match.group(1))
    return None
