"""Turn a follow-up ("How old was he?") into a question that stands alone, using the conversation."""

from __future__ import annotations

import re

PERSONAL = re.compile(r"\b(he|she|him|her|his|hers)\b", re.IGNORECASE)
VAGUE = re.compile(r"\b(they|them|their|it|its|this|that|there|then)\b", re.IGNORECASE)
NAME = re.compile(r"\b([A-Z][a-z’']+(?:\s+[A-Z][a-z’']+)+)\b")
MARKERS = re.compile(r"\[\d+\]")
WHO = re.compile(r"^\s*(who|whom|whose)\b", re.IGNORECASE)
QUESTION_WORDS = {"how", "what", "when", "where", "who", "why", "which", "was", "is", "did", "does", "do", "were"}


def _names(text: str) -> list[str]:
    names = []
    for match in NAME.finditer(text):
        if re.search(r"\bthe\s+$", text[:match.start()], re.IGNORECASE):
            continue  # "the Home Secretary" is a role, not a name
        words = match.group(1).split()
        while words and words[0].lower() in QUESTION_WORDS:
            words = words[1:]
        if len(words) >= 2:
            names.append(" ".join(words))
    return names


def standalone_question(question: str, history: list[tuple[str, str]] | None) -> str:
    """Replace a personal pronoun by the last person named in the conversation, or lean on the last question."""
    if not history:
        return question
    if PERSONAL.search(question):
        for asked, answered in reversed(history):
            names = _names(MARKERS.sub("", answered)) + _names(asked) if WHO.match(asked) else \
                _names(asked) or _names(MARKERS.sub("", answered))
            if names:
                name = names[0] if WHO.match(asked) else names[-1]

                def swap(match: re.Match) -> str:
                    word = match.group(1).lower()
                    return f"{name}’s" if word in {"his", "hers"} else name

                return PERSONAL.sub(swap, question, count=1)
    if PERSONAL.search(question) or VAGUE.search(question) or len(question.split()) <= 3:
        return f"{history[-1][0].rstrip('?')}: {question}"
    return question
