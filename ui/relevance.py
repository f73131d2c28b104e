"""Whether a passage retrieved for an abstained question has anything to do with it. An abstention lists a
nearest passage only when it holds at least half of the question's words (stop words aside, plurals folded)
and, when the question names something ("France"), one of its names: "What is the capital of France?" is
never shown a charity's passage about a capital elsewhere as if it were near."""

from __future__ import annotations

import re
from typing import Any

from index.keyword import tokenize

MIN_CHARS = 3  # shorter words ("uk", "10") say too little on their own; a year or a name is longer
CAPITALISED = re.compile(r"\b[A-Z][\w’'\-]*")


def words(text: str) -> set[str]:
    return {w for w in tokenize(text) if len(w) >= MIN_CHARS}


def names(question: str) -> set[str]:
    """The words a question writes with a capital, its first word aside."""
    rest = question.strip().split(" ", 1)[1] if " " in question.strip() else ""
    return words(" ".join(CAPITALISED.findall(rest)))


def related_passages(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The answer's passages that hold at least half of the question's words (as asked, or as understood),
    and one of its names if it has any."""
    asked_as = [answer.get("question", ""), answer.get("standalone_question") or ""]
    asked = set().union(*map(words, asked_as))
    named = set().union(*map(names, asked_as))
    needed = max(1, -(-len(asked) // 2))
    related = []
    for passage in answer["passages"]:
        held = words(passage["text"])
        if asked and len(asked & held) >= needed and (not named or named & held):
            related.append(passage)
    return related
