"""Prompt text: numbered source sentences within a token budget, and the instruction around them."""

from __future__ import annotations

import re
from collections.abc import Callable

from qa.answer import Evidence

# A 0.5B model follows this plain request far better than one asking for inline [n] markers (measured on
# seed questions: bracketed numbering made it answer "[1]" or "12"). citeqa attaches and checks citations itself.
SYSTEM = (
    "Answer the question with a short answer using only the context. "
    "If the context does not contain the answer, reply: unknown"
)
REFUSAL = re.compile(
    r"\b(i don'?t know|i do not know|unknown|cannot (?:be )?(?:answer|determine)ed?|can't (?:answer|determine)|"
    r"not (?:mentioned|stated|provided|specified|given|available)|no information|"
    r"(?:do|does) not (?:say|mention|specify|contain|provide|state))\b",
    re.IGNORECASE,
)


def is_refusal(text: str) -> bool:
    return not text.strip() or bool(REFUSAL.search(text))


def fit_evidence(evidence: list[Evidence], count_tokens: Callable[[str], int], budget: int,
                 limit: int) -> list[Evidence]:
    """The best sentences that fit the budget, renumbered 1..n in rank order."""
    chosen: list[Evidence] = []
    used = 0
    for item in evidence:
        if len(chosen) >= limit:
            break
        cost = count_tokens(f"Source {len(chosen) + 1}: {item.text}\n")
        if chosen and used + cost > budget:
            continue
        chosen.append(item)
        used += cost
    return [Evidence(n, e.source, e.title, e.text, e.start, e.end, e.score) for n, e in enumerate(chosen, 1)]


def sources_block(evidence: list[Evidence]) -> str:
    return "\n".join(f"Source {e.marker}: {e.text}" for e in evidence)


# Format hints by question kind; none for people: "Answer with the name…" made the model echo the hint.
HINTS = {
    "number": "Answer with the number.",
    "date": "Answer with the date or time.",
    "year": "Answer with the year.",
    "place": "Answer with the place.",
}


def user_message(question: str, evidence: list[Evidence]) -> str:
    from qa.answer_types import question_kind

    hint = HINTS.get(question_kind(question).value, "")
    return f"Context:\n{sources_block(evidence)}\n\nQuestion: {question}" + (f"\n{hint}" if hint else "")


def messages_for(question: str, evidence: list[Evidence]) -> list[dict[str, str]]:
    """The chat turns of one question: the instruction, then the numbered sources and the question."""
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user_message(question, evidence)}]
