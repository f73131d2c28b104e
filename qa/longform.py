"""Answers of several cited sentences, for why, how, describe, summarise and what-did-X-say questions.

choose → compose → check

- `choose`: the sentences that answer, across documents: the best ranked by the evidence selector, each next
  one chosen for its score less its likeness to those already chosen (maximal marginal relevance), so that five
  sentences do not say the same thing; none far below the best.
- `compose`: quoted as a short cited list in the documents' own words, either the chosen ones (`quote`) or those
  of a larger pool the generator picks as answering (`select`), or written by the generator from the numbered
  sentences, each of its sentences ending with the number it rests on (`compose`).
- `check`: every sentence of the answer is checked against the sentences it cites; one whose content they do
  not hold is dropped. The answer declines only when no sentence is left.

A quoted sentence is its own citation; a written one is kept only when its cited sentences hold its content
(the tolerant term matching of `qa.matching`). The reader sees only sentences that passed: a draft the check
rejects is never streamed.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass

from index.sentences import sentence_spans
from qa.answer import Citation, Evidence
from qa.citing import MARKER, strip_markers
from qa.evidence import EvidenceSelector
from qa.generators import Generator
from qa.lexicon import CAPTION, FILLER, OPENING_QUOTES, REFUSAL
from qa.matching import coverage, terms
from qa.prompt import short
from qa.work import Work

MODES = ("quote", "select", "compose")
NOTHING: tuple[str, ...] = ()
PICK = ("You pick the numbered sentences that answer a question. Reply with the numbers of the sentences that "
        "answer it, most important first, separated by commas, or 0 if none does.")
SYSTEM = ("You answer questions from numbered sources. Write 2 to 5 short sentences that answer the question using "
          "only the sources. End every sentence with the number of the source it comes from, like [2]. "
          "If the sources do not answer the question, reply: unknown")


@dataclass(frozen=True, slots=True)
class Part:
    """One sentence of a long answer and the document sentences it rests on."""

    text: str
    cited: tuple[Evidence, ...]


class Choose:
    """Up to `most` sentences that answer, diverse: maximal marginal relevance over the selector's ranking,
    none scoring below `floor` of the best (a long answer is not padded with what barely matches). The
    `following` sentences after each of the best few join the pool a little below it: an explanation or a quote
    goes on after the sentence that matches the question ("… the force wants to see:" and its list)."""

    name = "choose"

    def __init__(self, selector: EvidenceSelector, most: int = 6, floor: float = 0.6, diversity: float = 0.35,
                 following: int = 1, anchors: int = 3, decay: float = 0.95, pool: int = 12, quoted: int = 3) -> None:
        if most < 1 or not 0 < floor <= 1 or not 0 <= diversity < 1:
            raise ValueError("most must be at least 1, floor in (0, 1] and diversity in [0, 1)")
        self.selector, self.most, self.floor, self.diversity = selector, most, floor, diversity
        self.following, self.anchors, self.decay, self.pool, self.quoted = following, anchors, decay, pool, quoted

    def _following(self, text: str, spans: list, at: int) -> list:
        """The sentences that go on from sentence `at`: `following` of them, and further while a quote goes on
        over paragraphs (each opening with a quotation mark) or a list follows its introduction ("…:")."""
        out = []
        for i in range(at + 1, min(len(spans), at + 1 + self.following + self.quoted)):
            sentence = text[spans[i].start:spans[i].end]
            goes_on = sentence.lstrip().startswith((*OPENING_QUOTES, "-", "•")) or \
                text[spans[i - 1].start:spans[i - 1].end].rstrip().endswith(":")
            if len(out) >= self.following and not goes_on:
                break
            out.append(spans[i])
        return out

    def _with_following(self, work: Work, ranked: list[Evidence]) -> list[Evidence]:
        seen = {(e.source, e.start) for e in ranked}
        extra = []
        for anchor in ranked[:self.anchors]:
            text = work.text_of(anchor.source)
            spans = self.selector.spans(anchor.source, text)
            at = next((i for i, s in enumerate(spans) if s.start == anchor.start), None)
            if at is None:
                continue
            for n, span in enumerate(self._following(text, spans, at), 1):
                if (anchor.source, span.start) not in seen:
                    seen.add((anchor.source, span.start))
                    extra.append(Evidence(0, anchor.source, anchor.title, text[span.start:span.end], span.start,
                                          span.end, anchor.score * self.decay ** n))
        return sorted(ranked + extra, key=lambda e: -e.score)

    def run(self, work: Work) -> Iterable[str]:
        ranked = self._with_following(work, work.sentences) if self.following or self.quoted else work.sentences
        pool = [e for e in ranked if not short(e.text) and not CAPTION.match(e.text)]
        if not pool:
            work.chosen = []
            return NOTHING
        best = pool[0].score
        pool = [e for e in pool if e.score >= self.floor * best][:4 * self.most]
        vectors = self.selector.encode([e.text for e in pool])
        chosen: list[int] = []
        while len(chosen) < min(self.most, len(pool)):
            def value(i: int) -> float:
                likeness = max((float(vectors[i] @ vectors[j]) for j in chosen), default=0.0)
                return (1 - self.diversity) * pool[i].score - self.diversity * likeness
            chosen.append(max((i for i in range(len(pool)) if i not in chosen), key=value))
        work.chosen = [pool[i] for i in chosen]
        work.pool = pool[:self.pool]
        return NOTHING


def in_reading_order(evidence: Sequence[Evidence]) -> list[Evidence]:
    """Grouped by document (the best-ranked document first), each in the order its document tells it."""
    first = {source: n for n, source in reversed(list(enumerate(e.source for e in evidence)))}
    return sorted(evidence, key=lambda e: (first[e.source], e.start))


def messages(question: str, sources: Sequence[Evidence]) -> list[dict[str, str]]:
    numbered = "\n".join(f"[{n}] {e.text}" for n, e in enumerate(sources, 1))
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Sources:\n{numbered}\n\nQuestion: {question}"}]


def pick_messages(question: str, pool: Sequence[Evidence]) -> list[dict[str, str]]:
    numbered = "\n".join(f"[{n}] {e.text}" for n, e in enumerate(pool, 1))
    return [{"role": "system", "content": PICK},
            {"role": "user", "content": f"Sentences:\n{numbered}\n\nQuestion: {question}\n"
                                        "Which sentences answer the question?"}]


def written_parts(text: str, sources: Sequence[Evidence]) -> list[Part]:
    """The generator's sentences, each with the sources its markers name (none when it named none)."""
    parts = []
    for span in sentence_spans(text):
        sentence = text[span.start:span.end]
        named = {int(n) for group in MARKER.findall(sentence) for n in re.findall(r"\d+", group)}
        cited = tuple(sources[n - 1] for n in sorted(named) if 0 < n <= len(sources))
        body = strip_markers(sentence).strip()
        if body and body not in {"[", "]"}:
            parts.append(Part(body, cited))
    return parts


class Compose:
    """The answer's sentences from the chosen ones: quoted as they stand, or written by the generator."""

    name = "compose"

    def __init__(self, generator: Generator, lock: threading.Lock, mode: str = "quote", max_new_tokens: int = 160) -> None:
        if mode not in MODES:
            raise ValueError(f"long answers are one of {', '.join(MODES)}, not {mode!r}")
        self.generator, self.lock, self.mode, self.max_new_tokens = generator, lock, mode, max_new_tokens

    def _ask(self, work: Work, messages: list[dict[str, str]], max_new_tokens: int) -> str:
        with self.lock, closing(self.generator.stream_messages(messages, max_new_tokens=max_new_tokens)) as pieces:
            text = "".join(p.text for p in pieces)
        work.calls += 1
        return text

    def run(self, work: Work) -> Iterable[str]:
        sources = in_reading_order(work.chosen)
        if self.mode == "quote" or not hasattr(self.generator, "stream_messages") or not sources:
            work.parts = [Part(e.text, (e,)) for e in sources]
            return NOTHING
        if self.mode == "select":
            pool = work.pool or work.chosen
            reply = self._ask(work, pick_messages(work.asked, pool), 24)
            picked = [pool[n - 1] for n in dict.fromkeys(int(n) for n in re.findall(r"\d+", reply)) if 0 < n <= len(pool)]
            work.draft = reply.strip()
            places = {(e.source, e.start) for e in picked}
            filled = picked + [e for e in work.chosen if (e.source, e.start) not in places]
            work.parts = [Part(e.text, (e,)) for e in in_reading_order(filled[:len(work.chosen)])]
            return NOTHING
        text = self._ask(work, messages(work.asked, sources), self.max_new_tokens)
        work.draft = text.strip()
        work.parts = [] if REFUSAL.search(text) and len(text.split()) < 8 else written_parts(text, sources)
        return NOTHING


def holds(part: Part, cited: Sequence[Evidence], question: set[str], share: float) -> bool:
    """Whether the cited sentences hold `share` of what the part says beyond the question's words."""
    wanted = {t for t in terms(part.text) if t not in FILLER} - question
    if not wanted:
        return False
    return coverage(wanted, terms(" ".join(e.text for e in cited))) >= share


class Check:
    """Each sentence of the answer against the sentences it cites: kept when they hold its content (`share` of
    its content terms), else cited to the one chosen sentence that holds it, else dropped. No sentence left:
    the answer declines. Kept sentences are streamed as they pass."""

    name = "check"

    def __init__(self, share: float = 0.7) -> None:
        self.share = share

    def run(self, work: Work) -> Iterator[str]:
        question = set(work.analysis.terms)
        kept: list[Part] = []
        for part in work.parts:
            if part.cited and holds(part, part.cited, question, self.share):
                kept.append(part)
            elif (one := next((e for e in work.chosen if holds(part, (e,), question, self.share)), None)) is not None:
                kept.append(Part(part.text, (one,)))
            else:
                continue
            if len(kept) == 1:
                work.timings.setdefault("first_token", time.perf_counter() - work.started)
            yield ("" if len(kept) == 1 else "\n") + kept[-1].text
        work.dropped = len(work.parts) - len(kept)
        work.parts = kept
        if not kept:
            work.reject("check", "The documents found do not explain this.",
                        f"none of {len(work.parts) + work.dropped} sentences is held by the sentences it cites")



def render_parts(parts: Sequence[Part], listed: bool) -> tuple[str, tuple[Citation, ...]]:
    """The answer's text with markers after each sentence, numbered 1..n by first citation, and its citations:
    a list of quoted sentences (`listed`), or a paragraph of written ones."""
    numbers: dict[tuple[str, int], int] = {}
    citations: list[Citation] = []
    lines = []
    for part in parts:
        marks = ""
        for e in part.cited:
            key = (e.source, e.start)
            if key not in numbers:
                numbers[key] = len(numbers) + 1
                citations.append(Citation.of(e, numbers[key]))
            marks += f"[{numbers[key]}]"
        body = part.text.rstrip()
        end = body[-1] if body[-1:] in ".!?" else ""
        lines.append(f"{body[:-1] if end else body} {marks}{end}")
    text = "\n".join(f"- {line}" for line in lines) if listed else " ".join(lines)
    return text, tuple(citations)
