"""The short answers a sentence could give: its names, dates, numbers and quoted titles, with their offsets.

The verifier (`qa.verifier`) scores each as a candidate answer to a question: the reader takes one where it is
clearly better than the generator's draft, and the verifier's training data takes the ones that are not the
answer as hard negatives (another name, place or date of the very sentence that states the answer).
English-only, like the word lists of `qa.lexicon`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.keyword import STOPWORDS
from qa.analysis import proper_names
from qa.lexicon import FULL_DATE, MONTHS, NUMBER_WORDS, TITLES

_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_DATES = [FULL_DATE,
          re.compile(rf"\b(?:{_MONTH})\.?\s+(?:1[0-9]|20)\d\d\b", re.I),  # September 2022
          re.compile(r"\b(?:1[0-9]|20)\d\d(?:s|–\d\d(?:\d\d)?)?\b")]  # 1990, 1990s, 1844–1846
_NUMBER_WORD = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
# A number, maybe with its currency and the unit or noun after it: "12mph", "£426,000", "six police cars".
_UNIT = r"(?:\s?%|(?:[\s-](?!(?:{stop})\b)[a-z]+){{0,2}})?"
_NUMBER = re.compile(rf"(?:[£$€]\s?)?(?<![\w.])(?:(?:\d[\d,.]*\d|\d)[a-z]{{1,3}}\b|(?:(?:\d[\d,.]*\d|\d)|"
                     rf"(?i:{_NUMBER_WORD}))\b" + _UNIT.format(stop="|".join(sorted(STOPWORDS))) + ")")
LOCATIVE = re.compile(r"\b(?:in|at|from|near|outside|inside|across|towards?|into)\s+(?:the\s+)?$", re.I)
_QUOTED = re.compile(r"[\"“]([^\"”]{2,80})[\"”]")
MAX_WORDS = 8


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    text: str
    kind: str  # "name", "place" (a name after in, at, from… ), "date", "number", "quoted"


def _located(text: str, pieces: list[str], kind: str) -> list[Span]:
    found, at = [], 0
    for piece in pieces:
        start = text.find(piece, at)
        if start < 0:
            continue
        at = start + len(piece)
        words = piece.split()
        while len(words) > 1 and words[0].lower().rstrip(".") in TITLES:  # "Captain Ines Marlow" names Ines Marlow
            start = text.index(words[1], start + len(words[0]))
            words = words[1:]
        found.append(Span(start, at, text[start:at], kind))
    return found


def candidate_spans(text: str) -> list[Span]:
    """Every name, date, number and short quoted title of `text`, longest first where two overlap, in text order."""
    spans = [Span(m.start(), m.end(), m.group(), "date") for pattern in _DATES for m in pattern.finditer(text)]
    spans += [Span(m.start(1), m.end(1), m.group(1), "quoted") for m in _QUOTED.finditer(text)
              if len(m.group(1).split()) <= MAX_WORDS]
    spans += [Span(m.start(), m.end(), m.group().strip(), "number") for m in _NUMBER.finditer(text)]
    spans += [Span(s.start, s.end, s.text, "place" if LOCATIVE.search(text[:s.start]) else "name")
              for s in _located(text, proper_names(text), "name")]
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (-(s.end - s.start), s.start)):
        if len(span.text.split()) <= MAX_WORDS and not any(s.start < span.end and span.start < s.end for s in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)
