"""Citation markers: parse them, check each against the claim it supports, and attach support where missing.

A claim's key content is what it adds to the question: its numbers, names and other content words.
A sentence supports the claim when it holds all of that key content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.keyword import tokenize
from index.sentences import sentence_spans
from qa.answer import Citation, Evidence

MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
# Words that carry no fact of their own in an answer ("24 years old", "in the Met", "source 2").
FILLER = frozenset("""year years old aged age source sources context answer mr mrs ms sir also just about around
    only some said say says according""".split())
YES_NO = re.compile(r"^\s*(yes|no)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Claim:
    text: str  # the answer sentence without markers
    markers: tuple[int, ...]


def parse_claims(answer: str) -> list[Claim]:
    """Answer sentences with the markers each carries; markers may sit in any `[1]`, `[1, 2]` or `[1][2]` form."""
    claims = []
    for span in sentence_spans(answer):
        piece = answer[span.start:span.end]
        markers = tuple(int(n) for group in MARKER.findall(piece) for n in re.split(r"\s*,\s*", group))
        text = MARKER.sub("", piece).strip()
        if text and text not in {".", "!", "?"}:
            claims.append(Claim(text, markers))
        elif markers and claims:  # a marker standing alone after the sentence it belongs to
            claims[-1] = Claim(claims[-1].text, claims[-1].markers + markers)
    return claims


def strip_markers(text: str) -> str:
    return MARKER.sub("", text).strip()


def key_terms(claim: str, question: str) -> set[str]:
    """Content of the claim that the question does not already hold."""
    asked = set(tokenize(question))
    return {t for t in tokenize(claim) if t not in asked and t not in FILLER}


def supports(terms: set[str], sentence: str) -> bool:
    return bool(terms) and terms <= set(tokenize(sentence))


def coverage(terms: set[str], sentence: str) -> float:
    return len(terms & set(tokenize(sentence))) / len(terms) if terms else 0.0


@dataclass(frozen=True, slots=True)
class CitedClaim:
    text: str
    citations: tuple[Citation, ...]
    supported: bool


def cite_claim(claim: Claim, question: str, evidence: list[Evidence], max_citations: int = 2) -> CitedClaim:
    """Keep markers whose sentence supports the claim; otherwise attach the best supporting sentence(s).

    Out-of-range markers are dropped. When no single sentence holds all key content, two sentences that
    hold it together may support it (a two-sentence answer). Unsupported claims come back supported=False.
    """
    by_marker = {e.marker: e for e in evidence}
    terms = key_terms(claim.text, question)
    if not terms and YES_NO.match(claim.text):
        terms = set(tokenize(question))  # a yes/no answer must rest on a sentence about the whole question
    given = [by_marker[m] for m in dict.fromkeys(claim.markers) if m in by_marker]
    kept = [e for e in given if supports(terms, e.text)]
    if not kept and terms:
        full = [e for e in evidence if supports(terms, e.text)]
        if full:
            kept = [full[0]]
            other = next((e for e in full[1:] if e.source != full[0].source), None)
            if other is not None and len(kept) < max_citations:
                kept.append(other)  # the same fact in a second document: cite both
        else:
            kept = _pair(terms, evidence)
    if not kept:
        return CitedClaim(claim.text, (), False)
    return CitedClaim(claim.text, tuple(Citation.of(e, 0) for e in kept), True)


def _pair(terms: set[str], evidence: list[Evidence]) -> list[Evidence]:
    """Two sentences that hold all key content between them, best ranked first, or nothing."""
    partial = [e for e in evidence if coverage(terms, e.text) > 0][:8]
    for i, first in enumerate(partial):
        for second in partial[i + 1:]:
            if terms <= set(tokenize(first.text)) | set(tokenize(second.text)):
                return [first, second]
    return []
