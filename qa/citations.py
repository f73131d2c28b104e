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
NUMBER_WORDS = {w: str(n) for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_NUMBER_UNIT = re.compile(r"^(\d+)([a-z]+)$")


def terms(text: str) -> set[str]:
    """Tokens for support checks: "six" and "6" match, and so do "12mph" and "12 mph"."""
    out: set[str] = set()
    for token in tokenize(text):
        split = _NUMBER_UNIT.match(token)
        if split:
            out.update(split.groups())
        else:
            out.add(NUMBER_WORDS.get(token, token))
    return out


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
    asked = terms(question)
    return {t for t in terms(claim) if t not in asked and t not in FILLER}


def supports(wanted: set[str], sentence: str) -> bool:
    return bool(wanted) and wanted <= terms(sentence)


def coverage(wanted: set[str], sentence: str) -> float:
    return len(wanted & terms(sentence)) / len(wanted) if wanted else 0.0


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
    wanted = key_terms(claim.text, question)
    if not wanted and YES_NO.match(claim.text):
        wanted = terms(question)  # a yes/no answer must rest on a sentence about the whole question
    given = [by_marker[m] for m in dict.fromkeys(claim.markers) if m in by_marker]
    kept = [e for e in given if supports(wanted, e.text)]
    if not kept and wanted:
        full = [e for e in evidence if supports(wanted, e.text)]
        if full:
            kept = [full[0]]
            other = next((e for e in full[1:] if e.source != full[0].source), None)
            if other is not None and len(kept) < max_citations:
                kept.append(other)  # the same fact in a second document: cite both
        else:
            kept = _pair(wanted, evidence)
    if not kept:
        return CitedClaim(claim.text, (), False)
    return CitedClaim(claim.text, tuple(Citation.of(e, 0) for e in kept), True)


def _pair(wanted: set[str], evidence: list[Evidence]) -> list[Evidence]:
    """Two sentences that hold all key content between them, best ranked first, or nothing."""
    partial = [e for e in evidence if coverage(wanted, e.text) > 0][:8]
    for i, first in enumerate(partial):
        for second in partial[i + 1:]:
            if wanted <= terms(first.text) | terms(second.text):
                return [first, second]
    return []
