"""Prompt text: the instruction, and the retrieved context within a token budget.

The context is either the retrieved passages (the text around each match, as a reader would see it) or the
best single sentences, numbered. The generator is not asked to cite: citeqa finds the sentences that state
its answer itself (`qa.citing`), because small models cite badly (a 0.5B answered "[1]" or "12" when asked
for bracketed markers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from index.documents import Passage
from qa.analysis import Form, Kind, QuestionAnalysis
from qa.answer import Evidence

SYSTEM = (
    "Answer the question with a short answer using only the context. "
    "If the context does not contain the answer, reply: unknown"
)
# Format hints by what the question asks; none for people: "Answer with the name…" made a 0.5B echo the hint.
HINTS = {
    Kind.NUMBER: "Answer with the number.",
    Kind.DATE: "Answer with the date or time.",
    Kind.YEAR: "Answer with the year.",
    Kind.PLACE: "Answer with the place.",
    Kind.DESCRIPTION: "Answer with their role or job, as the context gives it.",
}
FORM_HINTS = {
    Form.YES_NO: "Answer yes or no.",
    Form.CHOICE: "Answer with one of the two.",
}
Count = Callable[[str], int]


def fit_evidence(evidence: list[Evidence], count_tokens: Count, budget: int, limit: int) -> list[Evidence]:
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
    return [replace(e, marker=n) for n, e in enumerate(chosen, 1)]


def fit_passages(passages: list[Passage], count_tokens: Count, budget: int) -> list[Passage]:
    """The best passages that fit the budget, in rank order (the first always, cut to the budget if need be)."""
    chosen: list[Passage] = []
    used = 0
    for passage in passages:
        cost = count_tokens(passage.text) + 2
        if chosen and used + cost > budget:
            continue
        chosen.append(passage)
        used += cost
    return chosen


def hint(analysis: QuestionAnalysis) -> str:
    return FORM_HINTS.get(analysis.form) or HINTS.get(analysis.kind, "")


def _message(context: str, analysis: QuestionAnalysis) -> list[dict[str, str]]:
    extra = hint(analysis)
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Context:\n{context}\n\nQuestion: {analysis.text}"
                                        + (f"\n{extra}" if extra else "")}]


def sentences_block(evidence: list[Evidence]) -> str:
    return "\n".join(f"Source {e.marker}: {e.text}" for e in evidence)


def messages_for(analysis: QuestionAnalysis, evidence: list[Evidence]) -> list[dict[str, str]]:
    """The chat turns of one question over numbered sentences."""
    return _message(sentences_block(evidence), analysis)


def messages_for_passages(analysis: QuestionAnalysis, passages: list[Passage]) -> list[dict[str, str]]:
    """The chat turns of one question over whole passages, each under its document's title."""
    blocks = []
    for passage in passages:
        text = passage.text.strip()
        title = passage.title.strip()
        blocks.append(text if not title or text.startswith(title[:40]) else f"{title}\n{text}")
    return _message("\n\n".join(blocks), analysis)


@dataclass(frozen=True, slots=True)
class Prompt:
    """What a generator is given: the question's analysis, the numbered sentences a reader can check, and the
    chat turns a language model reads (over those sentences, or over whole passages)."""

    analysis: QuestionAnalysis
    evidence: tuple[Evidence, ...]
    messages: tuple[dict[str, str], ...]


def build_prompt(analysis: QuestionAnalysis, evidence: list[Evidence], passages: list[Passage], count: Count,
                 context: str, budget: int, limit: int) -> Prompt:
    """The prompt over `context` ("passages" or "sentences") within `budget` tokens."""
    chosen = fit_evidence(evidence, count, budget, limit)
    if context == "passages":
        return Prompt(analysis, tuple(chosen), tuple(messages_for_passages(analysis, fit_passages(passages, count,
                                                                                                  budget))))
    return Prompt(analysis, tuple(chosen), tuple(messages_for(analysis, chosen)))


def disagreement_messages(analysis: QuestionAnalysis, first: str, second: str) -> list[dict[str, str]]:
    """Asks whether two sentences answer the question differently about the same thing (a real conflict) or
    speak of different things, times or places (two moments of one story)."""
    return [{"role": "system", "content": "You compare two statements. Reply yes or no."},
            {"role": "user", "content": f"Question: {analysis.text}\nStatement 1: {first}\nStatement 2: {second}\n"
                                        "Do the two statements give different answers to the question about the same "
                                        "event, person or thing? Reply yes or no."}]
