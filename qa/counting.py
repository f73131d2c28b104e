""""How many X?" is answered by a number that counts X: "17 seconds" does not say how many officers there were.

A small model answers a count question with whatever number its context holds; the sentence it rests on
must put that number next to the thing counted, as English does ("six police cars", "dozens of officers").
"""

from __future__ import annotations

import re

from index.keyword import STOPWORDS, tokenize
from qa.citations import terms

HOW_MANY = re.compile(r"\bhow many\s+([^,;:?.!]+)", re.IGNORECASE)
WORD = re.compile(r"\S+")
NUMERIC_WORDS = frozenset("dozen dozens hundred hundreds thousand thousands million millions none".split())


def counted_terms(question: str, max_words: int = 3) -> set[str]:
    """The words naming what a "how many" question counts ("police cars"), empty for other questions."""
    match = HOW_MANY.search(question)
    if not match:
        return set()
    words: list[str] = []
    for word in match.group(1).split():
        if word.lower() in STOPWORDS or len(words) == max_words:
            break
        words.append(word)
    return set(tokenize(" ".join(words)))


def _same_word(a: str, b: str) -> bool:
    """Equal up to an inflection ("car"/"cars"), but "fire" is not "firefighter"."""
    short, long = sorted((a, b), key=len)
    return len(short) >= 3 and long.startswith(short) and len(long) - len(short) <= 2


def counts_asked(claim: str, sentence: str, question: str, reach: int = 3, max_words: int = 8) -> bool:
    """Whether the sentence states one of the claim's numbers within `reach` words of the counted thing.

    True when the question counts nothing, when the claim's number is not in this sentence (the support
    check decides about those), or when the claim is longer than `max_words`: a whole-sentence answer
    shows the reader what its numbers count.
    """
    counted = counted_terms(question)
    if len(claim.split()) > max_words:
        return True
    numbers = {t for t in terms(claim) if t.isdigit()} | {t for t in terms(claim) if t in NUMERIC_WORDS}
    if not counted or not numbers:
        return True
    words = [terms(m.group()) for m in WORD.finditer(sentence)]
    places = [i for i, held in enumerate(words) if held & numbers]
    if not places:
        return True
    return any(any(_same_word(t, c) for t in held for c in counted)
               for i in places for held in words[max(0, i - reach):i + reach + 1])

