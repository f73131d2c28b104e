"""Turn a follow-up ("How old was he?") into a question that stands alone, using the conversation.

A question is rewritten only when it cannot stand alone: it has a pronoun with no name before it in the
question itself ("How old was Chris Kaba when he was shot?" stands alone), or it is a fragment ("And the
mayor?"). Only the previous turn is used: a name is never taken from an older, unrelated turn.
"""

from __future__ import annotations

import re

from qa.analysis import proper_names
from qa.citing import strip_markers
from qa.lexicon import PERSONAL_PRONOUN, VAGUE_REFERENCE

THING_PRONOUN = re.compile(r"\b(it|its|they|them|their|this|that)\b", re.IGNORECASE)
WHO = re.compile(r"^\s*(who|whom|whose)\b", re.IGNORECASE)
FRAGMENT_WORDS = 3


def _people(text: str) -> list[str]:
    """Names of two or more words: "Martyn Blake", not a role ("the Home Secretary") or a single word."""
    names = []
    for name in proper_names(text):
        at = text.find(name)
        if re.search(r"\bthe\s+$", text[:at], re.IGNORECASE) or len(name.split()) < 2:
            continue
        names.append(name)
    return names


def stands_alone(question: str) -> bool:
    """No pronoun lacks a name before it in the question, and it is more than a fragment."""
    if len(question.split()) <= FRAGMENT_WORDS:
        return False
    for pronoun in (*PERSONAL_PRONOUN.finditer(question), *VAGUE_REFERENCE.finditer(question)):
        if not proper_names(question[:pronoun.start()]):
            return False
    return True


def standalone_question(question: str, history: list[tuple[str, str]] | None) -> str:
    """The question as it stands alone: unchanged; a pronoun replaced by the previous turn's person, or "it"
    by the thing the previous question named; or else the previous question added after it, so that what is
    asked still comes first (its question word decides what kind of answer is wanted)."""
    if not history or stands_alone(question):
        return question
    asked, answered = history[-1]
    answered = strip_markers(answered)
    # "Who …?" is answered with a person: that answer is who "he" is next. Otherwise the question's person.
    people = (_people(answered) + _people(asked)) if WHO.match(asked) else (_people(asked) or _people(answered))
    if people and PERSONAL_PRONOUN.search(question):
        person = people[0] if WHO.match(asked) else people[-1]

        def swap(match: re.Match) -> str:
            return f"{person}’s" if match.group(1).lower() in {"his", "hers"} else person

        return PERSONAL_PRONOUN.sub(swap, question, count=1)
    thing = _thing(asked) if not PERSONAL_PRONOUN.search(question) else None
    if thing and THING_PRONOUN.search(question):
        return THING_PRONOUN.sub(lambda m: f"{thing}’s" if m.group(1).lower() in {"its", "their"} else thing,
                                 question, count=1)
    return f"{question.rstrip('?')}? (following: {asked.rstrip('?')}?)"


def _thing(question: str) -> str | None:
    """The last thing a question names, with its article ("the Harbour Bridge"), for "it" in the next one."""
    names = proper_names(question)
    if not names:
        return None
    at = question.rfind(names[-1])
    return f"the {names[-1]}" if re.search(r"\bthe\s+$", question[:at], re.IGNORECASE) else names[-1]
