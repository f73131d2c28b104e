"""Answers in the words of the sentence they cite, as complete as the source gives them.

A reader checking "6" against "six police cars" should not have to translate, and "3 hours", "12 mph" or
"September 5, 2022" are the model's rewording of the cited words. A small model also clips what it copies:
"Chenango" for "the Chenango Canal", "5.245" for "5.245 km", "1968" for "born 28 May 1968" when asked
when. The answer is completed from the cited sentence: the whole name, the unit, the full date, or the
option of a choice question as the question wrote it.
"""

from __future__ import annotations

import re
from dataclasses import replace

from index.keyword import STOPWORDS
from qa.analysis import Form, Kind, QuestionAnalysis, proper_names
from qa.citing import CitedClaim
from qa.lexicon import FULL_DATE, MONTHS, NUMBER_WORDS, SENTENCE_OPENERS, TITLES, UNIT_FORMS, YES_NO
from qa.matching import coverage, terms

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


UNIT_AFTER = re.compile(r"^\s*([A-Za-z%][\w%/.-]{0,14})")
BARE_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def with_unit(answer: str, sentence: str) -> str:
    """A bare number followed in the sentence by its unit or counted noun ("5.245 km", "twelve seasons")."""
    at = sentence.lower().find(answer.lower())
    if at < 0 or not BARE_NUMBER.fullmatch(answer) and answer.lower() not in NUMBER_WORDS:
        return answer
    unit = UNIT_AFTER.match(sentence[at + len(answer):])
    word = unit.group(1).rstrip(".,").lower() if unit else ""
    plural = len(word) > 3 and word.endswith("s") and not word.endswith("ss")
    if not word or word in STOPWORDS or not (word in UNIT_FORMS or word in UNIT_FORMS.values() or plural):
        return answer
    return f"{answer} {unit.group(1).rstrip('.,')}"


def full_date(answer: str, sentence: str) -> str:
    """The sentence's whole date holding a bare-year answer to "when?"."""
    if not re.fullmatch(r"\d{4}", answer.strip()):
        return answer
    return next((m.group(0) for m in FULL_DATE.finditer(sentence) if answer.strip() in m.group(0)), answer)


def _bare(word: str) -> str:
    """A name's word as compared: lower case, no edge punctuation, no possessive ("Stoker's" → "stoker")."""
    return re.sub(r"[’']s$", "", word.strip(EDGE)).strip(EDGE).lower()


def full_name(answer: str, sentence: str, analysis: QuestionAnalysis | None = None) -> str:
    """The sentence's whole name holding a one-word answer ("Chenango" → "Chenango Canal", "Varga" → "Ines Varga").

    An answer of two words or more is a name already: "Vincent Kompany" is not made "Vincent Jean Mpoy
    Kompany" (on the general dev set, lengthening such names cost F1 and broke the gold answer's words).
    Every word of the answer must be a word of the name, exactly: "World War I" is no part of "World War II".
    Leading titles ("Mayor"), words the question already holds ("Transport Minister"), a capitalised
    sentence opener ("During") and a trailing month or possessive are not part of it.
    """
    if not terms(answer) or not proper_names(answer) or len(answer.split()) > 1:
        return answer
    wanted = {_bare(w) for w in answer.split()} - {""}
    asked = set(analysis.terms) if analysis else set()
    names = []
    for name in proper_names(sentence):
        words = name.split()
        while words and (words[0].lower().rstrip(".") in TITLES or words[0].lower() in STOPWORDS | SENTENCE_OPENERS
                         or terms(words[0]) <= asked and terms(words[0])):
            words = words[1:]
        while words and words[-1].lower() in MONTHS and _bare(words[-1]) not in wanted:
            words = words[:-1]
        if words:
            words[-1] = re.sub(r"[’']s$", "", words[-1])
        name = " ".join(words)
        if wanted <= {_bare(w) for w in words} and len(name) > len(answer):
            names.append(name)
    return min(names, key=len) if names else answer


def chosen_option(answer: str, analysis: QuestionAnalysis) -> str:
    """The option of a choice question that the answer names, as the question wrote it."""
    named = [o for o in analysis.options if coverage(terms(o), terms(answer)) >= 0.5]
    return named[0] if len(named) == 1 else answer


def quote_claim(claim: CitedClaim, analysis: QuestionAnalysis | None = None) -> CitedClaim:
    """The claim in its cited sentence's own, complete words."""
    text = claim.text.strip().rstrip(".").strip()
    if analysis is not None and analysis.form is Form.CHOICE and not YES_NO.match(text):
        option = chosen_option(text, analysis)
        return replace(claim, text=option) if option != text else claim
    for citation in claim.citations:
        quoted = source_wording(claim.text, citation.text)
        if quoted is not None:
            text = quoted
            break
    if analysis is None or analysis.form is not Form.OPEN or len(text.split()) > 6:
        return replace(claim, text=text) if text != claim.text.strip().rstrip(".").strip() else claim
    for citation in claim.citations:
        completed = text
        if analysis.kind is Kind.DATE:
            completed = full_date(completed, citation.text)
        completed = full_name(with_unit(completed, citation.text), citation.text, analysis)
        if completed != text:
            return replace(claim, text=completed)
    return replace(claim, text=text) if text != claim.text.strip().rstrip(".").strip() else claim
