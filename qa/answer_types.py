"""What kind of answer a question asks for, and whether a text holds one: a cheap guard against a small
model answering "who?" with a sentence fragment or "when?" with a name."""

from __future__ import annotations

import re
from enum import Enum

from index.keyword import tokenize


class Kind(Enum):
    NUMBER = "number"
    DATE = "date"
    YEAR = "year"
    PERSON = "person"
    PLACE = "place"
    NAME = "name"  # "What is the name of …?": a proper name, of anything
    OTHER = "other"


_RULES: list[tuple[re.Pattern[str], Kind]] = [
    (re.compile(r"\b(how (many|much|old|long|far|fast)|what (age|speed|percentage|number|amount|sum))\b", re.I),
     Kind.NUMBER),
    (re.compile(r"\b(what|which) year\b", re.I), Kind.YEAR),
    (re.compile(r"\b(when|what (date|year|day|month|time)|which (date|year|day|month))\b", re.I), Kind.DATE),
    (re.compile(r"^\s*(who|whom|whose)\b|\b(who|whom) (said|is|was|were|will|has|had|did|called|accused|told)\b",
                re.I), Kind.PERSON),
    (re.compile(r"\bwhat (is|was|are|were) (the|a|an|his|her|its|their|\w+['’]s) (\w+ )?names?\b", re.I), Kind.NAME),
    (re.compile(r"^\s*where\b|\bin which (area|town|city|street|country|part)\b|\bwhich (street|town|city)\b",
                re.I), Kind.PLACE),
]
MONTHS = ("january february march april may june july august september october november december "
          "jan feb mar apr jun jul aug sep sept oct nov dec").split()
WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
NUMBER_WORDS = set("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
                   "sixteen seventeen eighteen nineteen twenty thirty forty fifty hundred thousand million billion "
                   "dozen dozens half".split())
DATE_WORDS = set(MONTHS + WEEKDAYS + "yesterday today tomorrow evening morning night week weekend month year "
                 "decade".split())
YEAR = re.compile(r"(1[89]|20)\d\d")
# "On what date …?" asks for a day: a bare year or month answers "when?" but not this.
DAY_QUESTION = re.compile(r"\b(what|which) (date|day)\b", re.I)
DAY_WORDS = set(WEEKDAYS + "yesterday today tomorrow".split())
DAY_NUMBER = re.compile(r"([1-9]|[12]\d|3[01])(st|nd|rd|th)?")
CAPITALISED = re.compile(r"\b[A-Z][a-zA-Z’'\-]+")
NOT_NAMES = {"The", "A", "An", "In", "On", "At", "He", "She", "It", "They", "We", "I", "But", "And", "Image",
             "Pic", "Video", "Read", "More", "Mr", "Mrs", "Ms", "Sir", "Dr", "This", "That", "His", "Her"}


def question_kind(question: str) -> Kind:
    for pattern, kind in _RULES:
        if pattern.search(question):
            return kind
    return Kind.OTHER


def holds_kind(text: str, kind: Kind, question: str = "") -> bool:
    """Whether `text` holds a value of `kind` that the question does not already hold."""
    if kind is Kind.OTHER:
        return True
    asked = set(tokenize(question)) | {w.lower() for w in CAPITALISED.findall(question)}
    words = [w for w in tokenize(text) if w not in asked]
    if kind is Kind.NUMBER:
        return any(any(c.isdigit() for c in w) or w in NUMBER_WORDS for w in words)
    if kind is Kind.YEAR:
        return any(YEAR.fullmatch(w) for w in words)
    if kind is Kind.DATE and DAY_QUESTION.search(question):
        return any(w in DAY_WORDS or DAY_NUMBER.fullmatch(w) for w in words)
    if kind is Kind.DATE:
        return any(w in DATE_WORDS or re.fullmatch(r"(1[89]|20)\d\d|\d{1,2}(st|nd|rd|th)?", w) for w in words)
    matches = list(CAPITALISED.finditer(text))
    if matches and len(text.split()) > 5 and not text[:matches[0].start()].strip():
        matches = matches[1:]  # a sentence's first word is capitalised whatever it is
    names = [m.group() for m in matches if m.group() not in NOT_NAMES and m.group().lower() not in asked]
    return bool(names)
