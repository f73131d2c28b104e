"""Who holds a role, as two documents tell it: news names people after their title ("Home Secretary Yvette
Cooper"), so a question about a role ("Which Home Secretary ordered …?") disagrees across documents when
another document puts a different name after the same title. The generator is not asked: the title and
the name are in the text."""

from __future__ import annotations

import re

from qa.answer import Evidence
from qa.citations import terms

NAME = r"[A-Z][\w’'\-]+(?:\s+[A-Z][\w’'\-]+){0,2}"
TITLE_WORD = re.compile(r"[A-Z][\w’'\-]+")


def asked_title(question: str, answer: str, sentence: str, max_words: int = 3) -> str | None:
    """The title written just before the answer's name in its sentence, when the question names that title."""
    at = sentence.find(answer.strip().rstrip("."))
    if at <= 0:
        return None
    before = sentence[:at].split()[-max_words:]
    words: list[str] = []
    for word in reversed(before):
        if not TITLE_WORD.fullmatch(word):
            break
        words.insert(0, word)
    while words:
        title = " ".join(words)
        if re.search(rf"\b{re.escape(title)}\b", question, re.IGNORECASE):
            return title
        words = words[1:]  # "Former Home Secretary" → "Home Secretary" is tried too, longest first
    return None


def other_holder(title: str, answer: str, candidates: list[Evidence], exclude: set[str]) -> tuple[Evidence, str] | None:
    """A sentence from a source not in `exclude` that names someone else right after the same title."""
    pattern = re.compile(rf"\b{re.escape(title)}\s+({NAME})")
    answered = terms(answer)
    for candidate in candidates:
        if candidate.source in exclude:
            continue
        for match in pattern.finditer(candidate.text):
            name = match.group(1)
            if not terms(name) & answered:
                return candidate, name
    return None
