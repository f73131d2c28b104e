"""Quote numbers as the source writes them: a reader checking "6" against "six police cars" should not have to
translate, and "3 hours", "12 mph" or "September 5, 2022" are the model's rewording of the cited words."""

from __future__ import annotations

import re
from dataclasses import replace

from qa.citing import CitedClaim
from qa.lexicon import NUMBER_WORDS
from qa.matching import terms

WORD = re.compile(r"\S+")
EDGE = "\"'“”‘’()[],.;:!?"
NUMERIC = re.compile(r"\d")


def is_numeric(text: str) -> bool:
    """Whether a short answer states a number or a date, the values a model reformats."""
    return bool(NUMERIC.search(text)) or any(w.lower().strip(EDGE) in NUMBER_WORDS for w in text.split())


def source_wording(claim: str, sentence: str, max_words: int = 6, slack: int = 2) -> str | None:
    """The shortest run of the sentence's words that states all of a short numeric claim, or None.

    None when the claim is long, not numeric, already quoted verbatim, or not stated compactly: a run
    longer than the claim by more than `slack` words would quote more than the claim says.
    """
    body = claim.strip().rstrip(".").strip()
    words = body.split()
    if not words or len(words) > max_words or not is_numeric(body) or body.lower() in sentence.lower():
        return None
    wanted = terms(body)
    spans = [(m.start(), m.end(), terms(m.group())) for m in WORD.finditer(sentence)]
    best: tuple[int, int] | None = None
    for i in range(len(spans)):
        held: set[str] = set()
        for j in range(i, min(len(spans), i + len(words) + slack)):
            held |= spans[j][2]
            if wanted <= held:
                if best is None or j - i < best[1] - best[0]:
                    best = (i, j)
                break
    if best is None:
        return None
    quoted = sentence[spans[best[0]][0]:spans[best[1]][1]].strip(EDGE)
    return quoted if terms(quoted) >= wanted else None


def quote_claim(claim: CitedClaim) -> CitedClaim:
    """The claim in its cited sentence's own words when it is a reworded number or date."""
    for citation in claim.citations:
        quoted = source_wording(claim.text, citation.text)
        if quoted is not None:
            return replace(claim, text=quoted)
    return claim
