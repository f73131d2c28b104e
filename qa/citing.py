"""Which sentences state an answer: the citations a reader checks it against.

An open answer ("Delhi", "115 lb", "five years") rests on a sentence that holds its content beyond the
question's own words, matched tolerantly (`qa.matching`); when no one sentence holds it all, two may. A
yes/no answer or a choice rests on the sentences about each thing the question names or compares: those
are what decide it. A claim that nothing supports comes back with `supported=False`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from qa.analysis import Form, QuestionAnalysis
from qa.answer import Citation, Evidence
from qa.lexicon import FILLER, YES_NO
from qa.matching import coverage, matched, numbers, terms

MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")


@dataclass(frozen=True, slots=True)
class CitedClaim:
    text: str  # the answer as it will be shown, without markers
    citations: tuple[Citation, ...]
    supported: bool
    support: float = 0.0  # share of the claim's key content its citations hold


def strip_markers(text: str) -> str:
    """The text without `[n]` markers, removed until none is left: "[[0]0]" hides a second one."""
    while (stripped := MARKER.sub("", text)) != text:
        text = stripped
    return " ".join(text.split())


def words(text: str) -> set[str]:
    """Every lower-cased word, stop words included: what a name made of common words is matched against."""
    return {w.lower() for w in re.findall(r"\w+", text)}


def key_terms(claim: str, analysis: QuestionAnalysis) -> set[str]:
    """What the claim adds to the question: its content beyond the question's own words and filler.

    A name made only of common words ("She & Him", "The Who") keeps those words: they are all it says.
    """
    kept = " ".join(w for w in claim.split() if w.lower().strip(".,;:!?") not in FILLER)
    found = terms(kept)
    if not found:
        found = words(kept) - words(analysis.text)
    return found - matched(found, set(analysis.terms))


def _cited(evidence: list[Evidence], support: float, text: str) -> CitedClaim:
    return CitedClaim(text, tuple(Citation.of(e, 0) for e in evidence), bool(evidence), support)


def cite(answer: str, analysis: QuestionAnalysis, sentences: list[Evidence], min_support: float = 1.0,
         max_citations: int = 2, offered: list[Evidence] | None = None) -> CitedClaim:
    """The answer with the sentences that state it, best ranked first (`sentences` come ranked).

    Markers the generator wrote ("… [2]") point into `offered`, the numbered sentences it was given: a
    marked sentence that states the answer is cited first.
    """
    text = strip_markers(answer)
    marked = {int(n) for group in MARKER.findall(answer) for n in group.split(",")}
    first = [e for e in offered or [] if e.marker in marked]
    sentences = first + [e for e in sentences if all((e.source, e.start) != (f.source, f.start) for f in first)]
    if analysis.form is Form.YES_NO or (analysis.form is Form.CHOICE and not YES_NO.match(text)):
        return cite_comparison(text, analysis, sentences)
    wanted = key_terms(text, analysis)
    if not wanted:
        return CitedClaim(text, (), False)
    held = [(e, terms(e.text) | words(e.text)) for e in sentences]
    wanted_numbers = numbers(wanted)
    scored = [(coverage(wanted, t), e) for e, t in held if wanted_numbers <= t]
    full = [e for score, e in scored if score >= 1.0]
    chosen = [e for e in full if e in first][:max_citations]
    if chosen:  # the generator's own markers, where they hold
        return _cited(chosen, 1.0, text)
    if full:
        other = next((e for e in full[1:] if e.source != full[0].source), None)
        return _cited([full[0], other][:max_citations] if other else [full[0]], 1.0, text)
    pair = _pair(wanted, held)
    if pair:
        return _cited(pair, 1.0, text)
    best = max(scored, key=lambda row: row[0], default=(0.0, None))
    if best[1] is not None and best[0] >= min_support:
        return _cited([best[1]], best[0], text)
    return CitedClaim(text, (), False, best[0])


def _pair(wanted: set[str], held: list[tuple[Evidence, set[str]]], window: int = 8) -> list[Evidence]:
    """Two sentences that hold all the key content between them, best ranked first, or nothing."""
    partial = [(e, t) for e, t in held if matched(wanted, t)][:window]
    for i, (first, a) in enumerate(partial):
        for second, b in partial[i + 1:]:
            if matched(wanted, a | b) == wanted:
                return [first, second]
    return []


def subjects(text: str, analysis: QuestionAnalysis) -> list[str]:
    """What a yes/no question or a choice is about: its options, else the names it mentions."""
    if analysis.options:
        return list(analysis.options)
    return list(analysis.names) or [analysis.text]


def cite_comparison(text: str, analysis: QuestionAnalysis, sentences: list[Evidence]) -> CitedClaim:
    """The best sentence about each subject; supported when every subject has one.

    A sentence is about a subject when it holds most of the subject's words; among those, the one that
    also holds most of the question's other words decides it.
    """
    chosen: list[Evidence] = []
    scores: list[float] = []
    for subject in subjects(text, analysis):
        wanted = terms(subject)
        about = [(coverage(wanted, terms(e.text)), e) for e in sentences]
        about = [(score, e) for score, e in about if score >= 0.5]
        if not about:
            return CitedClaim(text, (), False, 0.0)
        rest = set(analysis.terms) - wanted
        score, best = max(about, key=lambda row: (row[0], coverage(rest, terms(row[1].text))))
        scores.append(score)
        if all((best.source, best.start) != (c.source, c.start) for c in chosen):
            chosen.append(best)
    return _cited(chosen, min(scores), text)


def render(claim: CitedClaim) -> tuple[str, tuple[Citation, ...]]:
    """Answer text with markers numbered 1..n, one per distinct cited sentence, before a final full stop."""
    citations = tuple(replace(c, marker=n) for n, c in enumerate(claim.citations, 1))
    marks = "".join(f"[{c.marker}]" for c in citations)
    body = claim.text.rstrip()
    tail = ""
    if body.endswith((".", "!", "?")) and len(body.split()) > 3:
        body, tail = body[:-1], body[-1]
    return f"{body} {marks}{tail}".strip(), citations
