"""What a question asks, worked out once per question and shared by every step after retrieval.

The form decides how an answer is judged: an open question ("Where was X born?") is answered by words the
documents hold; a yes/no question ("Are X and Y both American bands?") and a choice ("Which was founded
first, X or Y?") are answered from the question's own words, and rest on the sentences about each thing
they compare; an explanation or a summary ("Why …?", "Summarise …", "What did X say?") is answered by
several sentences, each cited (`qa.longform`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from index.keyword import STOPWORDS
from qa.lexicon import (
    ASKS_SPEAKER,
    AUXILIARIES,
    CAPITALISED,
    CHOICE_JOINER,
    DATE_WORDS,
    DAY_NUMBER,
    DAY_QUESTION,
    DAY_WORDS,
    EXPLAIN,
    HOW_MANY,
    KIND_RULES,
    NAME_CONNECTORS,
    NOT_NAMES,
    NUMBER_WORDS,
    ORDINAL_DAY,
    QUANTITY_WORDS,
    QUESTION_WORDS,
    YEAR,
    foreign_function_words,
)
from qa.matching import terms


class Kind(Enum):
    NUMBER = "number"
    DATE = "date"
    YEAR = "year"
    PERSON = "person"
    PLACE = "place"
    NAME = "name"  # "What is the name of …?": a proper name, of anything
    DESCRIPTION = "description"  # "Who is Martyn Blake?": what a named person is, not a name
    OTHER = "other"


class Form(Enum):
    OPEN = "open"
    YES_NO = "yes/no"
    CHOICE = "choice"
    EXPLAIN = "explain"  # why, how, describe, summarise, what did X say: an answer of several cited sentences


@dataclass(frozen=True, slots=True)
class QuestionAnalysis:
    text: str
    kind: Kind
    form: Form
    options: tuple[str, ...]  # the alternatives of a choice question, as written
    names: tuple[str, ...]  # proper names the question mentions
    terms: frozenset[str]  # its content terms, normalised (qa.matching)
    counted: frozenset[str]  # what "how many …?" counts
    asks_day: bool  # "on what date/day?": a bare year or month does not answer it
    asks_speaker: bool  # who said or did something by speaking: the speaker may be the answer


BREAK = re.compile(r"[,;:()\[\]\"“”]")


def question_kind(question: str) -> Kind:
    for pattern, kind in KIND_RULES:
        if pattern.search(question):
            return Kind(kind)
    return Kind.OTHER


def proper_names(text: str) -> list[str]:
    """Runs of capitalised words ("Frederic Zelnik", "Bank of England"), without sentence-opening words.

    Punctuation between two words ends a run: "Des Moines, Iowa" is two names, not one."""
    names: list[str] = []
    matches = list(re.finditer(r"[\w’'\-.&]+", text))
    run: list[str] = []
    for n, word in enumerate([m.group() for m in matches] + [""]):
        gap = text[matches[n - 1].end():matches[n].start()] if 0 < n < len(matches) else ""
        if run and BREAK.search(gap):
            while run and run[-1].lower() in NAME_CONNECTORS:
                run.pop()
            if run:
                names.append(" ".join(run).rstrip("."))
            run = []
        capital = bool(CAPITALISED.fullmatch(word)) and word not in NOT_NAMES
        if capital or (run and word.lower() in NAME_CONNECTORS):
            run.append(word)
            continue
        while run and run[-1].lower() in NAME_CONNECTORS:
            run.pop()
        if run:
            names.append(" ".join(run).rstrip("."))
        run = []
    return names


def choice_options(question: str) -> tuple[str, ...]:
    """The alternatives of "…, A or B?" (or "… A or B?" where A is a run of capitalised words), else ()."""
    body = question.strip().rstrip("?").strip()
    parts = CHOICE_JOINER.split(body)
    if len(parts) != 2 or not parts[1].strip():
        return ()
    head, second = parts
    if "," in head or ":" in head:
        first = re.split(r"[,:]", head)[-1].strip()
    else:
        names = proper_names(head)
        first = names[-1] if names and head.rstrip().endswith(names[-1]) else ""
    second = second.strip()
    if not first or len(first.split()) > 12 or len(second.split()) > 12:
        return ()
    return first, second


def analyse(question: str) -> QuestionAnalysis:
    words = question.strip().split()
    opening = words[0].lower().strip("\"'“‘(") if words else ""
    options = choice_options(question) if opening in QUESTION_WORDS | AUXILIARIES else ()
    if options:
        form = Form.CHOICE
    elif opening in AUXILIARIES:
        form = Form.YES_NO
    elif EXPLAIN.search(question) and not (question_kind(question) is Kind.DESCRIPTION and len(words) <= 4):
        form = Form.EXPLAIN
    else:
        form = Form.OPEN
    counted: set[str] = set()
    if match := HOW_MANY.search(question):
        kept: list[str] = []
        for word in match.group(1).split():
            if word.lower() in STOPWORDS or len(kept) == 3:
                break
            kept.append(word)
        counted = terms(" ".join(kept))
    return QuestionAnalysis(
        text=question, kind=question_kind(question) if form is Form.OPEN else Kind.OTHER, form=form,
        options=options, names=tuple(proper_names(" ".join(words[1:]))),
        terms=frozenset(terms(question) - foreign_function_words(question)),
        counted=frozenset(counted), asks_day=bool(DAY_QUESTION.search(question)),
        asks_speaker=bool(ASKS_SPEAKER.search(question)),
    )


def _words(text: str, question: QuestionAnalysis) -> list[str]:
    asked = set(question.terms)
    return [w for w in sorted(terms(text)) if w not in asked]


def holds_kind(text: str, question: QuestionAnalysis) -> bool:
    """Whether `text` holds a value of the kind asked for that the question does not already hold."""
    kind = question.kind
    if kind in (Kind.OTHER, Kind.DESCRIPTION) or question.form is not Form.OPEN:
        return True
    words = _words(text, question)
    raw = {w.lower().strip(".,;:") for w in text.split()}
    if kind is Kind.NUMBER:
        return any(any(c.isdigit() for c in w) for w in words) or bool(raw & (set(NUMBER_WORDS) | QUANTITY_WORDS))
    if kind is Kind.YEAR:  # read from the text as written: "1,200 officers" holds no year
        return any(w not in question.terms for w in re.findall(r"(?<![\d,.])\d{4}(?![\d,])", text)
                   if YEAR.fullmatch(w))
    if kind is Kind.DATE and question.asks_day:
        return any(w in DAY_WORDS or DAY_NUMBER.fullmatch(w) for w in raw | set(words))
    if kind is Kind.DATE:
        return any(w in DATE_WORDS or YEAR.fullmatch(w) or ORDINAL_DAY.fullmatch(w) for w in raw | set(words))
    return any(not (terms(name) <= set(question.terms)) for name in proper_names(f"x {text}"))
