"""Sentence spans with exact offsets, so that a citation can point at one sentence of a document."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A sentence ends at . ! ? (optionally followed by closing quotes or brackets) before whitespace and a likely
# sentence start (a capital letter of any script, a digit or a currency sign, maybe after an opening quote),
# or at a line break.
# Abbreviations such as "Mr." and "St." do not end one.
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "sgt", "prof", "sir", "rev", "gen", "col", "lt", "capt",
                  "no", "vs", "etc", "inc", "ltd", "co", "jr", "sr", "u.s", "u.k", "e.g", "i.e", "a.m", "p.m"}
_END = re.compile(r"""[.!?]+["”’')\]]*(?=\s+["“‘(\[]?(?P<next>\S))|\n+""")
_CURRENCY = "£$€¥₹"


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int


def sentence_spans(text: str, offset: int = 0) -> list[Span]:
    """Split `text` into sentences; each span is trimmed of surrounding white space and shifted by offset."""
    spans: list[Span] = []
    start = 0
    for match in _END.finditer(text):
        following = match.group("next")
        if following is not None and not (following.isupper() or following.isdigit() or following in _CURRENCY):
            continue
        if "\n" not in match.group() and set(re.match(r"[.!?]*", match.group()).group()) == {"."}:
            word = re.search(r"([\w.]+)\.*$", text[start:match.start()])
            if word and word.group(1).lower().rstrip(".") in _ABBREVIATIONS:
                continue
            if word and len(word.group(1)) == 1 and word.group(1).isupper():  # an initial: "J. Smith"
                continue
        end = match.end() if "\n" not in match.group() else match.start()
        _append(spans, text, start, end, offset)
        start = match.end()
    _append(spans, text, start, len(text), offset)
    return spans


def _append(spans: list[Span], text: str, start: int, end: int, offset: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return
    lead = len(piece) - len(piece.lstrip())
    spans.append(Span(offset + start + lead, offset + start + lead + len(stripped)))
