"""Scoring functions, pure and independent of citeqa's own answering code.

Why independent: a metric that reused the pipeline's tokenizer or citation checker would agree with the
system by construction. Everything here works on plain strings and offsets, so each metric can be tested
on hand-made cases.

Definitions follow SQuAD (normalisation, exact match, token F1) and ALCE (citation recall and precision),
with the key-content support test described at `supports` instead of an NLI model, which this offline
machine does not have. Normalisation also unifies number words and unit spellings, and a yes/no gold
answer is judged by the answer's first word (`answers_with`).
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from qa.citing import strip_markers

_MARKER_NUMBERS = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
# Sentence ends: . ! ? (plus closing quotes) before white space and something that starts a sentence; a line
# break (the items of a list).
_SENTENCE_END = re.compile(r"""[.!?]+["”’')\]]*(?=\s+["“‘(\[]?[A-Z0-9])|\n+""")
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "sgt", "prof", "sir", "rev", "gen", "col", "lt", "capt",
                  "no", "vs", "etc", "inc", "ltd", "co", "jr", "sr", "u.s", "u.k", "e.g", "i.e", "a.m", "p.m"}
# Words that carry no fact on their own; content words are what is left.
STOPWORDS = frozenset("""a an and are as at be been being but by did do does for from had has have he her hers him
    his how i if in into is it its me my no nor not of on or our she so than that the their them then there these
    they this those to was we were what when where which who whom whose why will with would you your also however
    another source says said""".split())


# -- SQuAD answer scores ---------------------------------------------------------------------------
def _is_punctuation(char: str) -> bool:
    # SQuAD strips string.punctuation; curly quotes, dashes and currency signs are Unicode P*/Sc and
    # must go too, or "Kaba’s" and "Kaba's" (or "£426,000" and "426,000") would never match.
    return char in string.punctuation or unicodedata.category(char)[0] == "P" or unicodedata.category(char) == "Sc"


# Variants that mean the same, written to one canonical token after SQuAD normalisation, so that
# "three" matches "3", "115 lbs" matches "115 lb" and "20 per cent" matches "20%". Only unambiguous
# words: "pound(s)" may be money and "m" metres, minutes or millions, so they stay as they are.
_NUMBER_WORDS = {word: n for n, word in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split())}
_DIGIT_WORDS = {word: n for word, n in _NUMBER_WORDS.items() if 0 < n < 10}
_TENS = {word: 10 * n for n, word in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
_ORDINALS = {word: f"{n}{'st' if n == 1 else 'nd' if n == 2 else 'rd' if n == 3 else 'th'}" for n, word in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
    "fifteenth sixteenth seventeenth eighteenth nineteenth twentieth".split(), 1)}
_UNITS = {"lbs": "lb", "mi": "mile", "miles": "mile", "feet": "ft", "foot": "ft", "kilometre": "km",
          "kilometres": "km", "kilometer": "km", "kilometers": "km", "metres": "metre", "meter": "metre",
          "meters": "metre", "kgs": "kg", "kilogram": "kg", "kilograms": "kg", "acres": "acre", "years": "year",
          "yrs": "year", "yr": "year", "months": "month", "square": "sq", "sqft": "sq ft"}
_CANONICAL = {**{word: str(n) for word, n in (_NUMBER_WORDS | _TENS).items()}, **_ORDINALS, **_UNITS,
              **{f"{tens}{unit}": str(n + d) for tens, n in _TENS.items()  # "twenty-one" loses its hyphen
                 for unit, d in _DIGIT_WORDS.items()}}


def _canonical(tokens: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        token, following = tokens[i], tokens[i + 1] if i + 1 < len(tokens) else ""
        if token in _TENS and following in _DIGIT_WORDS:  # "twenty one"
            out.append(str(_TENS[token] + _DIGIT_WORDS[following]))
            i += 2
        elif token == "per" and following == "cent":
            out.append("percent")
            i += 2
        else:
            out.extend(_CANONICAL.get(token, token).split())
            i += 1
    return out


def normalize_answer(text: str) -> str:
    """SQuAD normalisation (lower case, drop punctuation, drop articles, collapse white space), with number
    words as digits and unit variants as one spelling (see `_CANONICAL`); "%" reads as "percent"."""
    text = "".join(c for c in text.lower().replace("%", " percent ") if not _is_punctuation(c))
    text = _ARTICLES.sub(" ", text)
    return " ".join(_canonical(text.split()))


def exact_match(prediction: str, golds: Iterable[str]) -> float:
    predicted = normalize_answer(strip_markers(prediction))
    return float(any(predicted == normalize_answer(g) for g in golds))


YES_NO = frozenset({"yes", "no"})


def leading_yes_no(prediction: str) -> str | None:
    """"yes" or "no" when the answer starts with it ("No, he was not [1]."), else None."""
    tokens = normalize_answer(strip_markers(prediction)).split()
    return tokens[0] if tokens and tokens[0] in YES_NO else None


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token F1 on normalised tokens, with a Counter so repeated tokens count once per occurrence.

    A yes/no gold answer scores 1 or 0 by the answer's leading yes or no: "No, not yes" is not half right.
    """
    predicted = normalize_answer(strip_markers(prediction)).split()
    expected = normalize_answer(gold).split()
    if " ".join(expected) in YES_NO:
        return float(leading_yes_no(prediction) == expected[0])
    if not predicted or not expected:
        return float(predicted == expected)
    common = Counter(predicted) & Counter(expected)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(predicted)
    recall = same / len(expected)
    return 2 * precision * recall / (precision + recall)


def best_f1(prediction: str, golds: Iterable[str]) -> float:
    return max((token_f1(prediction, g) for g in golds), default=0.0)


def _contains_tokens(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    """Whether `needle` occurs as a contiguous run of whole tokens (so "4" is not found in "43")."""
    if not needle:
        return False
    n = len(needle)
    return any(list(haystack[i:i + n]) == list(needle) for i in range(len(haystack) - n + 1))


def mentions(text: str, phrase: str) -> bool:
    """Whether the normalised phrase occurs in the normalised text as whole tokens."""
    return _contains_tokens(normalize_answer(text).split(), normalize_answer(phrase).split())


def answers_with(prediction: str, gold: str) -> bool:
    """Whether the answer gives this gold answer: its tokens occur contiguously in the answer's tokens
    (markers stripped), or, for a yes/no gold answer, the answer starts with it: the word "no" somewhere
    in a sentence is not an answer."""
    if normalize_answer(gold) in YES_NO:
        return leading_yes_no(prediction) == normalize_answer(gold)
    return mentions(strip_markers(prediction), gold)


def containment(prediction: str, golds: Iterable[str]) -> float:
    """1.0 when the answer gives any acceptable answer (see `answers_with`), else 0.0.

    The fair score for long answers: the extractive generator answers with a whole sentence, which
    exact match and F1 punish even when the sentence states the fact.
    """
    return float(any(answers_with(prediction, g) for g in golds))


# -- retrieval --------------------------------------------------------------------------------------
def squash(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class Retrieved:
    """The part of a retrieved passage that the hit test needs."""

    source: str
    text: str
    start: int
    end: int


def is_hit(passage: Retrieved, evidence: str, source: str, spans: Sequence[tuple[int, int]],
           min_overlap: float = 0.5) -> bool:
    """A passage holds the evidence: its text contains the quote (white space normalised), or it is from
    the evidence's document and covers at least `min_overlap` of one occurrence of the quote, or lies
    wholly inside one (a quote that is a whole gold passage, split into several chunks).

    The second rule keeps a quote that straddles a chunk boundary from counting as never retrieved;
    the threshold keeps a chunk that merely touches the quote's last word from counting.
    """
    if evidence.strip() and squash(evidence) in squash(passage.text):
        return True
    if passage.source != source:
        return False
    for start, end in spans:
        covered = min(end, passage.end) - max(start, passage.start)
        if end > start and covered / (end - start) >= min_overlap:
            return True
        if start <= passage.start < passage.end <= end:  # evidence longer than a chunk, such as a whole passage
            return True
    return False


def first_hit_rank(hits: Sequence[bool]) -> int | None:
    """1-based rank of the first hit, or None."""
    return next((rank for rank, hit in enumerate(hits, start=1) if hit), None)


def recall_at(ranks: Sequence[int | None], k: int) -> float:
    """Share of questions whose first hit is within the top k."""
    if not ranks:
        return 0.0
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def mean_reciprocal_rank(ranks: Sequence[int | None]) -> float:
    if not ranks:
        return 0.0
    return sum(1 / r for r in ranks if r is not None) / len(ranks)


# -- abstention -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Abstention:
    """Abstention as a classifier: positive = abstained; gold positive = the question is unanswerable."""

    precision: float | None  # of the abstentions, the share on unanswerable questions (None: no abstentions)
    recall: float | None  # of the unanswerable questions, the share abstained on (None: none in the set)
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def f1(self) -> float | None:
        if self.precision is None or self.recall is None or self.precision + self.recall == 0:
            return None
        return 2 * self.precision * self.recall / (self.precision + self.recall)


def abstention(abstained: Sequence[bool], answerable: Sequence[bool]) -> Abstention:
    if len(abstained) != len(answerable):
        raise ValueError("abstained and answerable must have the same length")
    tp = sum(1 for a, g in zip(abstained, answerable, strict=True) if a and not g)
    fp = sum(1 for a, g in zip(abstained, answerable, strict=True) if a and g)
    fn = sum(1 for a, g in zip(abstained, answerable, strict=True) if not a and not g)
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    return Abstention(precision, recall, tp, fp, fn)


# -- citations (ALCE) -------------------------------------------------------------------------------
class CitationLike(Protocol):
    marker: int
    source: str
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Sentence:
    """One answer sentence: its text without markers and the markers it carries."""

    text: str
    markers: tuple[int, ...]


def split_sentences(answer: str) -> list[Sentence]:
    """Answer sentences with their markers; a marker standing alone after a sentence joins that sentence."""
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(answer):
        word = re.search(r"([\w.]+)\.*$", answer[start:match.start()])
        if set(match.group().rstrip("\"”’')]")) == {"."} and word and (
                word.group(1).lower().rstrip(".") in _ABBREVIATIONS
                or (len(word.group(1)) == 1 and word.group(1).isupper())):
            continue  # "Mr. Blake", "J. Smith"
        pieces.append(answer[start:match.end()])
        start = match.end()
    pieces.append(answer[start:])
    sentences: list[Sentence] = []
    for piece in pieces:
        markers = tuple(int(n) for group in _MARKER_NUMBERS.findall(piece) for n in re.split(r"\s*,\s*", group))
        text = strip_markers(piece).strip()
        if normalize_answer(text):
            sentences.append(Sentence(text, markers))
        elif markers and sentences:
            sentences[-1] = Sentence(sentences[-1].text, sentences[-1].markers + markers)
    return sentences


def content_words(text: str) -> set[str]:
    return {w for w in normalize_answer(text).split() if w not in STOPWORDS}


def supports(sentence: str, cited: Sequence[str], golds: Sequence[str]) -> bool:
    """Whether the cited sentences together hold the sentence's key content.

    Key content is a gold answer that the sentence states: the sentence is supported when one of the
    gold answers it states occurs in the cited text ("He was 24 years old" rests on "Mr Kaba, 24, died").
    Failing that, or when it states no gold answer, every content word of the sentence must occur in
    the cited text, which also accepts the same fact in another order ("5 September 2022" for
    "September 5, 2022").
    """
    if not cited:
        return False
    union = " \n ".join(cited)
    if any(mentions(union, g) for g in golds if mentions(sentence, g)):
        return True
    words = content_words(sentence)
    return bool(words) and words <= set(normalize_answer(union).split())


@dataclass(frozen=True, slots=True)
class CitationScore:
    """Counts for one answer; rates are pooled over a run (share of all sentences, of all citations)."""

    sentences: int
    supported_sentences: int
    citation_links: int  # (sentence, marker) pairs
    supporting_links: int
    citations: int
    grounded_citations: int

    @property
    def recall(self) -> float | None:
        return self.supported_sentences / self.sentences if self.sentences else None

    @property
    def precision(self) -> float | None:
        return self.supporting_links / self.citation_links if self.citation_links else None

    @property
    def grounding(self) -> float | None:
        return self.grounded_citations / self.citations if self.citations else None


def is_grounded(citation: CitationLike, document_text: Callable[[str], str | None]) -> bool:
    """The cited text is exactly the document's text at the cited offsets."""
    try:
        text = document_text(citation.source)
    except KeyError:
        return False
    return text is not None and 0 <= citation.start <= citation.end and text[citation.start:citation.end] == citation.text


def score_citations(answer: str, citations: Sequence[CitationLike], golds: Sequence[str],
                    document_text: Callable[[str], str | None]) -> CitationScore:
    """ALCE citation recall and precision plus grounding for one (non-abstained) answer.

    Recall: a sentence counts when the union of the sentences it cites supports it; a sentence with no
    marker is unsupported. Precision: a (sentence, citation) link counts when the citation supports the
    sentence alone, or when the union supports it and drops support without this citation (ALCE's
    "partial support"). A marker with no matching citation is a link that supports nothing.
    """
    by_marker = {c.marker: c for c in citations}
    sentences = split_sentences(answer)
    supported = links = good_links = 0
    for sentence in sentences:
        markers = list(dict.fromkeys(sentence.markers))
        texts = [by_marker[m].text for m in markers if m in by_marker]
        whole = supports(sentence.text, texts, golds)
        supported += whole
        for m in markers:
            links += 1
            if m not in by_marker:
                continue
            alone = supports(sentence.text, [by_marker[m].text], golds)
            rest = [by_marker[o].text for o in markers if o != m and o in by_marker]
            if alone or (whole and not supports(sentence.text, rest, golds)):
                good_links += 1
    grounded = sum(1 for c in citations if is_grounded(c, document_text))
    return CitationScore(len(sentences), supported, links, good_links, len(citations), grounded)


def cites_source(citations: Sequence[CitationLike], sources: Iterable[str]) -> bool:
    """Whether any citation points into one of the question's own documents (its gold passage)."""
    wanted = set(sources)
    return any(c.source in wanted for c in citations)


def cites_statement(citations: Sequence[CitationLike], evidence: str) -> bool:
    """Whether the first citation is the sentence that states the answer: it holds the question's evidence quote,
    or lies within it (a quote of several sentences)."""
    if not citations or not evidence.strip():
        return False
    cited, quote = normalize_answer(citations[0].text), normalize_answer(evidence)
    return bool(cited) and bool(quote) and (quote in cited or cited in quote)


# -- conflicts --------------------------------------------------------------------------------------
def _heads(variant: str) -> list[str]:
    """A conflicting answer and its head before a parenthesis or a comma clause.

    Sets describe a side as "6 September 2022 (early hours of the day after …)"; an answer that says
    "6 September 2022" names that side.
    """
    heads = [variant]
    for cut in (" (", ", "):
        if cut in variant:
            heads.append(variant.split(cut, 1)[0])
    return [h for h in heads if normalize_answer(h)]


def names_both_sides(answer: str, conflicting: Sequence[str]) -> bool:
    """Whether the answer mentions at least two of the conflicting answers."""
    text = strip_markers(answer)
    named = sum(1 for variant in conflicting if any(mentions(text, h) for h in _heads(variant)))
    return named >= 2


def conflict_reported(flagged: bool, answer: str, conflicting: Sequence[str]) -> float:
    """1.0 when the answer reports the disagreement: flagged by the system, or both sides named."""
    return float(flagged or names_both_sides(answer, conflicting))


# -- latency ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Latency:
    stage: str
    count: int
    p50: float
    p95: float
    mean: float


STAGES = ("retrieve", "select", "first_token", "generate", "verify", "total")


def latency(timings: Iterable[dict[str, float]], stages: Sequence[str] = STAGES) -> list[Latency]:
    """p50/p95/mean seconds per stage over the answers that ran that stage (an early abstention skips some)."""
    timings = list(timings)
    rows = []
    for stage in stages:
        values = [t[stage] for t in timings if stage in t]
        if values:
            array = np.asarray(values, dtype=float)
            rows.append(Latency(stage, len(values), float(np.percentile(array, 50)),
                                float(np.percentile(array, 95)), float(array.mean())))
    return rows


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are defined; None when none are."""
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None
