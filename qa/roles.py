"""Who holds a role: "Who is the Home Secretary?" is answered with a name, which English text writes next to
the title ("Home Secretary Yvette Cooper said …", "Yvette Cooper, the Home Secretary, …"). A model often
answers such a question with a description instead ("the person who …"); the name is in the text."""

from __future__ import annotations

import re

from qa.analysis import Kind, QuestionAnalysis
from qa.answer import Evidence
from qa.lexicon import NOT_NAMES, PERSON_NAME, ROLE_QUESTION



def asked_role(analysis: QuestionAnalysis) -> str | None:
    """The title a "Who is the …?" question asks about, or None ("Who is Martyn Blake?" names no title)."""
    if analysis.kind is Kind.DESCRIPTION:
        return None
    match = ROLE_QUESTION.match(analysis.text)
    return match.group("title") if match else None


def holder(title: str, sentences: list[Evidence]) -> tuple[str, Evidence] | None:
    """The first name written as holding `title` in the ranked sentences, with its sentence."""
    escaped = r"\s+".join(re.escape(w) for w in title.split())
    before = re.compile(rf"\b(?i:{escaped})\s+(?P<name>{PERSON_NAME})")  # Home Secretary Yvette Cooper
    after = re.compile(rf"(?P<name>{PERSON_NAME}),\s+(?i:(?:the\s+|a\s+)?{escaped})\b")  # Yvette Cooper, the …
    for sentence in sentences:
        for pattern in (before, after):
            for match in pattern.finditer(sentence.text):
                name = match.group("name")
                if name.split()[0] not in NOT_NAMES:
                    return name, sentence
    return None
