"""Scoring functions, pure and independent of citeqa's own answering code.

Why independent: a metric that reused the pipeline's tokenizer or citation checker would agree with the
system by construction. Everything here works on plain strings and offsets, so each metric can be tested
on hand-made cases.

Definitions follow SQuAD (normalisation, exact match, token F1) and ALCE (citation recall and precision),
with the key-content support test described at `supports` instead of an NLI model, which this offline
machine does not have.
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

MARKER = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
_MARKER_NUMBERS = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
# Sentence ends: . ! ? (plus closing quotes) before white space and something that starts a sentence.
_SENTENCE_END = re.compile(r"""[.!?]+["”’')\]]*(?=\s+["“‘(\[]?[A-Z0-9])""")
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


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, drop punctuation, drop articles, collapse white space."""
    text = "".join(c for c in text.lower() if not _is_punctuation(c))
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def strip_markers(text: str) -> str:
    """Answer text without its `[n]` citation markers."""
    return MARKER.sub("", text).strip()


def exact_match(prediction: str, golds: Iterable[str]) -> float:
    predicted = normalize_answer(strip_markers(prediction))
    return float(any(predicted == normalize_answer(g) for g in golds))


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token F1 on normalised tokens, with a Counter so repeated tokens count once per occurrence."""
    predicted = normalize_answer(strip_markers(prediction)).split()
    expected = normalize_answer(gold).split()
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


def containment(prediction: str, golds: Iterable[str]) -> float:
    """1.0 when any acceptable answer occurs in the answer text (markers stripped), else 0.0.

    The fair score for long answers: the extractive generator answers with a whole sentence, which
    exact match and F1 punish even when the sentence states the fact.
    """
    text = strip_markers(prediction)
    return float(any(mentions(text, g) for g in golds))


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
    the evidence's document and covers at least `min_overlap` of one occurrence of the quote.

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
