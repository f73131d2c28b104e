"""Turn a follow-up ("How old was he?") into a question that stands alone, using the conversation.

A question is rewritten only when it cannot stand alone: it has a pronoun with no name before it in the
question itself ("How old was Chris Kaba when he was shot?" stands alone), or it is a fragment ("And the
mayor?"). Only the previous turn is used: a name is never taken from an older, unrelated turn.
"""

from __future__ import annotations

import re

from qa.analysis import proper_names
from qa.citing import strip_markers
from qa.matching import terms
from qa.spans import LOCATIVE
from qa.lexicon import PERSONAL_PRONOUN, THING_PRONOUN, VAGUE_REFERENCE, WHO

FRAGMENT_WORDS = 3
OTHER_SOURCE = "However, another source says"
SAYS_ENOUGH = 4  # content terms besides a vague pronoun that make a question stand alone


def _people(text: str) -> list[str]:
    """Names of two or more words: "Martyn Blake", not a role ("the Home Secretary"), a single word or a place
    ("in Streatham Hill")."""
    names = []
    for name in proper_names(text):
        at = text.find(name)
        if re.search(r"\bthe\s+$", text[:at], re.IGNORECASE) or len(name.split()) < 2 or LOCATIVE.search(text[:at]):
            continue
        names.append(name)
    return names


def stands_alone(question: str) -> bool:
    """No pronoun lacks a name before it in the question, and it is more than a fragment.

    "it", "its", "they" and the like lean on the conversation only in a question that says little else
    ("When did it reopen?"): "Which ferry resumed its crossings on Monday after a storm?" names what "its"
    is, though not with a capital."""
    if len(question.split()) <= FRAGMENT_WORDS:
        return False
    if any(not proper_names(question[:p.start()]) for p in PERSONAL_PRONOUN.finditer(question)):
        return False
    vague = [p for p in VAGUE_REFERENCE.finditer(question) if not proper_names(question[:p.start()])]
    return not vague or len(terms(VAGUE_REFERENCE.sub(" ", question))) >= SAYS_ENOUGH


def standalone_question(question: str, history: list[tuple[str, str]] | None) -> str:
    """The question as it stands alone: unchanged; a pronoun replaced by the previous turn's person (`referent`),
    or "it" by the thing the previous question named; or else the previous question added after it, so that
    what is asked still comes first (its question word decides what kind of answer is wanted)."""
    if not history or stands_alone(question):
        return question
    asked, answered = history[-1]
    answered = answered.split(OTHER_SOURCE, 1)[0]  # the answer, not another source's (qa.assistant)
    asked = standalone_question(asked, history[:-1])  # the previous question may have been a follow-up too
    pronoun = PERSONAL_PRONOUN.search(question)
    person = again(question, asked) or referent(asked, strip_markers(answered))
    possessive = pronoun is not None and pronoun.group(1).lower() in {"his", "hers"}
    if person and pronoun and not (possessive and person.startswith("the person who ")):
        return PERSONAL_PRONOUN.sub(lambda m: f"{person}’s" if possessive else person, question, count=1)
    thing = _thing(asked) if not PERSONAL_PRONOUN.search(question) else None
    if thing and THING_PRONOUN.search(question):
        return THING_PRONOUN.sub(lambda m: f"{thing}’s" if m.group(1).lower() in {"its", "their"} else thing,
                                 question, count=1)
    return f"{question.rstrip('?')}? (following: {asked.rstrip('?')}?)"


def again(question: str, asked: str) -> str | None:
    """The person of the previous question when the new one asks it again with a pronoun in their place
    ("Who shot Chris Kaba?" → "Who shot him?": him is Chris Kaba, not whoever the answer named)."""
    for person in _people(asked):
        if terms(PERSONAL_PRONOUN.sub(person, question, count=1)) == terms(asked):
            return person
    return None


def referent(asked: str, answered: str) -> str | None:
    """Who "he" or "she" is after the turn (asked, answered).

    After "Who …?" it is whoever the answer named, not the question's subject: after "Who shot Chris Kaba?" →
    "Martyn Blake", "How old is he?" asks Martyn Blake's age. An answer that named nobody still tells who is
    meant: "the person who shot Chris Kaba". After any other question it is the person the question named
    (or else the one its answer named).
    """
    if WHO.match(asked):
        named = [n for n in _people(answered) if n.lower() not in asked.lower()]  # not whom the question named
        if named:
            return named[0]
        rest = WHO.sub("", asked, count=1).strip().rstrip("?").strip()
        return f"the person who {rest}" if rest and not PERSONAL_PRONOUN.search(rest) else None
    people = _people(asked) or _people(answered)
    return people[-1] if people else None


def _thing(question: str) -> str | None:
    """The last thing a question names, with its article ("the Harbour Bridge"), for "it" in the next one."""
    names = proper_names(question)
    if not names:
        return None
    at = question.rfind(names[-1])
    return f"the {names[-1]}" if re.search(r"\bthe\s+$", question[:at], re.IGNORECASE) else names[-1]
