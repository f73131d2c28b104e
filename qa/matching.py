"""Tolerant term matching: whether a sentence states what an answer says, however an article writes it.

Case, punctuation, thousands separators, number words ("six"/"6"), numbers glued to units ("12mph"), unit
spellings and abbreviations ("115 lb"/"115 lbs", "per cent"/"%"), plurals and derived forms ("Canada"/
"Canadian") all match. English-only, like the word lists in `qa.lexicon`.
"""

from __future__ import annotations

import re

from index.keyword import tokenize
from qa.lexicon import NUMBER_WORDS, ORDINAL, PHRASE_FORMS, UNIT_FORMS

_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_NUMBER_UNIT = re.compile(r"^(\d+)([a-z]+)$")


def terms(text: str) -> set[str]:
    """The normalised content terms of a text: stop words dropped, forms unified."""
    for pattern, replacement in PHRASE_FORMS:
        text = pattern.sub(f" {replacement} ", text)
    text = _THOUSANDS.sub("", text).replace("%", " % ")
    out: set[str] = set()
    for token in tokenize(text) + (["%"] if "%" in text else []):
        ordinal = ORDINAL.match(token)
        split = None if ordinal else _NUMBER_UNIT.match(token)
        if ordinal:
            out.add(ordinal.group(1))
        elif split:
            out.update((split.group(1), UNIT_FORMS.get(split.group(2), split.group(2))))
        else:
            out.add(NUMBER_WORDS.get(token) or UNIT_FORMS.get(token) or token)
    return out


def same_term(a: str, b: str) -> bool:
    """Equal, or one a derived form of the other ("director"/"directors", "canada"/"canadian")."""
    if a == b:
        return True
    if a.isdigit() or b.isdigit():
        return False
    short, long = sorted((a, b), key=len)
    return len(short) >= 4 and long.startswith(short[:-1] if short.endswith("a") else short) \
        and len(long) - len(short) <= 3


def matched(wanted: set[str], held: set[str]) -> set[str]:
    """The wanted terms that some held term matches."""
    return {w for w in wanted if w in held or any(same_term(w, h) for h in held)}


def coverage(wanted: set[str], held: set[str]) -> float:
    return len(matched(wanted, held)) / len(wanted) if wanted else 0.0


def numbers(found: set[str]) -> set[str]:
    return {t for t in found if t.isdigit()}
