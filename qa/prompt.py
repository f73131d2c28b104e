"""Prompt text: the instruction, and the retrieved context within a token budget.

The context is the best sentences with their neighbours, under their documents' titles (`windows_prompt`,
the default), or the best single sentences, numbered (`sentences_prompt`). The generator is not asked to cite: citeqa finds the sentences that state
its answer itself (`qa.citing`), because small models cite badly (a 0.5B answered "[1]" or "12" when asked
for bracketed markers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from index.sentences import Span
from qa.analysis import Form, Kind, QuestionAnalysis
from qa.answer import Evidence
from qa.lexicon import CAPTION, INJECTION

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


@dataclass(frozen=True, slots=True)
class Prompt:
    """What a generator is given: the question's analysis, the numbered sentences a reader can check, and the
    chat turns a language model reads."""

    analysis: QuestionAnalysis
    evidence: tuple[Evidence, ...]
    messages: tuple[dict[str, str], ...]

    def with_hint(self, hint: str) -> Prompt:
        """The same prompt with one more instruction after the question (a second draft's reason)."""
        *head, last = self.messages
        return replace(self, messages=(*head, {**last, "content": f"{last['content']}\n{hint}"}))


def sentences_prompt(analysis: QuestionAnalysis, evidence: list[Evidence], count: Count, budget: int,
                     limit: int) -> Prompt:
    """The prompt over the best lone sentences, numbered, within `budget` tokens."""
    chosen = fit_evidence(evidence, count, budget, limit)
    return Prompt(analysis, tuple(chosen), tuple(messages_for(analysis, chosen)))


def short(sentence: str, words: int = 5) -> bool:
    """A caption, a credit or a headline fragment ("More from UK"): no context for the sentences around it.
    Text that addresses the assistant is never shown either, as a neighbour no more than as evidence."""
    return len(sentence.split()) < words or bool(CAPTION.match(sentence)) or bool(INJECTION.search(sentence))


def windows_prompt(analysis: QuestionAnalysis, evidence: list[Evidence], spans_of: Callable[[str], list[Span]],
                   text_of: Callable[[str], str], count: Count, budget: int, limit: int, neighbours: int = 1) -> Prompt:
    """The prompt over the best sentences, each with `neighbours` sentences either side, grouped by document under
    its title and in the document's order, within `budget` tokens.

    A sentence alone often leans on the one before it ("He was 41."); a whole chunk spends the budget on
    sentences that match nothing. The neighbours shown are offered for citing too, after the ranked sentences.
    """
    picked: dict[str, set[int]] = {}
    anchors: list[Evidence] = []
    extra: dict[tuple[str, int], Evidence] = {}
    used = 0
    for item in evidence:
        if len(anchors) >= limit:
            break
        spans = spans_of(item.source)
        at = next((i for i, s in enumerate(spans) if s.start <= item.start < s.end), None)
        if at is None:
            continue
        text = text_of(item.source)
        if anchors and short(text[spans[at].start:spans[at].end]):
            continue
        shown = picked.get(item.source, set())
        header = 0 if item.source in picked else count(item.title) + 1
        for window in ({at - n for n in range(-neighbours, neighbours + 1)}, {at}):
            new = {i for i in window
                   if 0 <= i < len(spans) and (i == at or not short(text[spans[i].start:spans[i].end]))}
            new -= shown
            cost = header + sum(count(text[spans[i].start:spans[i].end]) + 1 for i in new)
            if not anchors or used + cost <= budget:
                break
        else:
            continue
        picked.setdefault(item.source, set()).update(new)
        used += cost
        anchors.append(item)
        for i in new - {at}:
            extra[(item.source, spans[i].start)] = Evidence(0, item.source, item.title,
                                                            text[spans[i].start:spans[i].end], spans[i].start,
                                                            spans[i].end, item.score - 0.01)
    blocks = []
    for source in dict.fromkeys(e.source for e in anchors):
        spans, text = spans_of(source), text_of(source)
        lines, last = [], None
        for i in sorted(picked[source]):
            if last is not None and i > last + 1:
                lines.append("…")
            lines.append(text[spans[i].start:spans[i].end])
            last = i
        title = next(e.title for e in anchors if e.source == source).strip()
        blocks.append("\n".join(([title] if title and title not in lines[:1] else []) + lines))
    seen = {(e.source, e.start) for e in anchors}
    offered = anchors + [e for key, e in extra.items() if key not in seen]
    numbered = [replace(e, marker=n) for n, e in enumerate(offered, 1)]
    return Prompt(analysis, tuple(numbered), tuple(_message("\n\n".join(blocks), analysis)))


def disagreement_messages(analysis: QuestionAnalysis, first: str, second: str) -> list[dict[str, str]]:
    """Asks whether two sentences answer the question differently about the same thing (a real conflict) or
    speak of different things, times or places (two moments of one story)."""
    return [{"role": "system", "content": "You compare two statements. Reply yes or no."},
            {"role": "user", "content": f"Question: {analysis.text}\nStatement 1: {first}\nStatement 2: {second}\n"
                                        "Do the two statements give different answers to the question about the same "
                                        "event, person or thing? Reply yes or no."}]
