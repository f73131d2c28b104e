"""The steps of one answer, in the order `Assistant` runs them over one working set (`qa.work.Work`).

understand → retrieve → select → prompt → generate → yes_no → cite → complete → support (the verifier reads
the answer in each sentence, and the one that states it is cited) → reader (a span the verifier finds clearly
better than the draft replaces it) → judge (the verification prompt for a follow-up, or with `verify` whenever
it could change the decision) → repair → conflict

Each step is a small class: plain constructor parameters, a `name`, and `run(work)`, which reads what the
steps before it left in the work and adds its own part; it returns the text it streams to the reader (only
`generate` streams). A step that finds the answer cannot be given records a rejection, and the steps after
it do not run. The optional steps (`yes_no`, `complete`, `verify`, `repair`, `conflict`) are switched on
and off by name in `Config.steps`, so that `citeqa eval` measures what each one does.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from typing import Protocol

import numpy as np

from index.corpus import Index
from qa.analysis import Form, Kind, QuestionAnalysis, analyse, holds_kind
from qa.answer import Citation, Confidence, Evidence, Redraft
from qa.citing import CitedClaim, cite, subjects
from qa.conflicts import find_conflict
from qa.evidence import EvidenceSelector
from qa.followup import standalone_question
from qa.generators import Generator
from qa.judge import Judge, verification_messages, yes_share
from qa.lexicon import REFUSAL, REFUSAL_TOKENS, YES_NO
from qa.matching import coverage, terms
from qa.prompt import disagreement_messages, sentences_prompt, windows_prompt
from qa.quoting import quote_claim
from qa.signals import measure, names_held
from qa.spans import candidate_spans
from qa.speakers import with_speakers
from qa.verifier import MAX_CANDIDATE_WORDS, Pair, Verifier
from qa.work import Work


class Step(Protocol):
    name: str

    def run(self, work: Work) -> Iterable[str]:
        """Add this step's part to `work`; the text streamed to the reader meanwhile (usually none)."""
        ...


NOTHING: tuple[str, ...] = ()


def confidence(pieces: Sequence) -> Confidence:
    """The generator's confidence in its answer, from the pieces it streamed (None where it does not say)."""
    tokens = sum(p.tokens for p in pieces)
    if not pieces or not any(p.logprob for p in pieces) or not tokens:
        return Confidence()
    first = [(text.strip().lower(), prob) for text, prob in pieces[0].alternatives if text.strip()]
    refusal = sum(prob for text, prob in first if text in REFUSAL_TOKENS)
    yes, no = (sum(prob for text, prob in first if text == word) for word in ("yes", "no"))
    return Confidence(sum(p.logprob for p in pieces) / tokens, refusal if first else None,
                      yes / (yes + no) if yes + no > 0 else None,
                      max((prob for _, prob in pieces[0].alternatives), default=None))


class Understand:
    """The question as it stands alone (a follow-up resolved against the conversation), analysed once."""

    name = "understand"

    def run(self, work: Work) -> Iterable[str]:
        work.asked = standalone_question(work.question, work.history)
        work.analysis = analyse(work.asked)
        return NOTHING


class Retrieve:
    """One search, deep enough for the conflict search too: the best `top_k` passages answer, the next ones are
    kept in reserve. One snapshot serves every read of the answer, whatever a writer publishes meanwhile."""

    name = "retrieve"

    def __init__(self, index: Index, top_k: int = 5, depth: int = 4, mode: str = "hybrid") -> None:
        if top_k < 1 or depth < 1:
            raise ValueError("top_k and depth must be at least 1")
        self.index, self.top_k, self.depth, self.mode = index, top_k, depth, mode

    def run(self, work: Work) -> Iterable[str]:
        work.vector = self.index.embed_query(work.asked)
        work.snapshot = self.index.snapshot()
        found = self.index.search(work.asked, self.top_k * self.depth, self.mode, work.vector, snapshot=work.snapshot)
        work.searches += 1
        work.passages, work.reserve = tuple(found[:self.top_k]), tuple(found[self.top_k:])
        return NOTHING


class Select:
    """The retrieved passages as ranked sentences; nothing relevant enough means nothing to answer from."""

    name = "select"

    def __init__(self, selector: EvidenceSelector, min_relevance: float = 0.55) -> None:
        self.selector, self.min_relevance = selector, min_relevance

    def run(self, work: Work) -> Iterable[str]:
        work.sentences = self.selector.run(work.analysis, work.vector, list(work.passages), work.text_of)
        best = work.sentences[0].score if work.sentences else 0.0
        if best < self.min_relevance:
            work.reject("relevant", "Nothing in the documents is about this question.",
                        f"best sentence score {best:.2f} < {self.min_relevance}")
        elif work.analysis.kind is Kind.PERSON or work.analysis.asks_speaker:
            work.sentences = with_speakers(work.sentences, work.text_of)
        return NOTHING


class BuildPrompt:
    """The generator's prompt: the question over the best sentences with their neighbours (`windows`), or over
    lone sentences, within a token budget."""

    name = "prompt"

    def __init__(self, generator: Generator, selector: EvidenceSelector, context: str = "windows", budget: int = 400,
                 limit: int = 8) -> None:
        self.generator, self.selector, self.context = generator, selector, context
        self.budget, self.limit = budget, limit

    def run(self, work: Work) -> Iterable[str]:
        count = self.generator.count_tokens
        if self.context == "windows":
            work.prompt = windows_prompt(work.analysis, work.sentences,
                                         lambda source: self.selector.spans(source, work.text_of(source)),
                                         work.text_of, count, self.budget, self.limit)
        else:
            work.prompt = sentences_prompt(work.analysis, work.sentences, count, self.budget, self.limit)
        return NOTHING


class Generate:
    """The draft, streamed to the reader piece by piece; closing the stream stops the model within a token."""

    name = "generate"

    def __init__(self, generator: Generator, lock: threading.Lock) -> None:
        self.generator, self.lock = generator, lock

    def run(self, work: Work) -> Iterator[str]:
        work.pieces = []
        again = bool(work.draft)  # a second draft: its first piece says the first one is withdrawn
        with self.lock, closing(self.generator.stream(work.prompt)) as generated:
            for piece in generated:
                if not work.pieces:
                    work.timings.setdefault("first_token", time.perf_counter() - work.started)
                work.pieces.append(piece)
                if piece.text:
                    yield Redraft(piece.text) if again else piece.text
                    again = False
        work.calls += self.generator.name != "extractive"
        work.draft = "".join(p.text for p in work.pieces).strip()
        work.answer = work.draft
        work.confidence = confidence(work.pieces)


class DecideYesNo:
    """A yes/no answer decided by the calibrated share of "yes", not by greedy decoding.

    The packaged Qwen2.5-Coder models begin "yes" far more often than the documents warrant: on HotpotQA
    dev questions given their own passages, greedy decoding was right on 30 of 65 (tune half) and 25 of 56
    (check half); answering yes only when "yes" holds at least 90% of the yes-or-no probability, 52 and 41.
    """

    name = "yes_no"

    def __init__(self, threshold: float = 0.9) -> None:
        self.threshold = threshold

    def run(self, work: Work) -> Iterable[str]:
        sure = work.confidence
        if work.analysis.form is Form.YES_NO and sure.yes is not None and YES_NO.match(work.answer):
            decided = "Yes" if sure.yes >= self.threshold else "No"
            if not work.answer.strip().lower().startswith(decided.lower()):
                work.answer = decided
        return NOTHING


class Cite:
    """The sentences that state the answer: those the generator saw first, then the rest by rank."""

    name = "cite"

    def __init__(self, min_support: float = 1.0) -> None:
        self.min_support = min_support

    def run(self, work: Work) -> Iterable[str]:
        offered = list(work.prompt.evidence)
        seen = {(e.source, e.start) for e in offered}
        pool = offered + [e for e in work.sentences if (e.source, e.start) not in seen]
        work.claim = cite(work.answer, work.analysis, pool, self.min_support, offered=offered)
        return NOTHING


class Complete:
    """The answer in its cited sentence's own, complete words: the whole name, the unit, the full date."""

    name = "complete"

    def run(self, work: Work) -> Iterable[str]:
        work.claim = quote_claim(work.claim, work.analysis)
        return NOTHING


def before(work: Work, selector: EvidenceSelector, evidence: Evidence) -> str:
    """The sentence before `evidence` in its document: who "he" is, what "it" was."""
    text = work.text_of(evidence.source)
    earlier = [s for s in selector.spans(evidence.source, text) if s.end <= evidence.start]
    return text[earlier[-1].start:earlier[-1].end] if earlier else ""


# The spans a question of each kind can be answered with (qa.spans kinds); a kind missing here is not read.
# A name after "in", "at", "from"… is read as a place: never a person's name ("shot in Streatham Hill").
READABLE = {Kind.PERSON: ("name",), Kind.PLACE: ("name", "place"), Kind.NAME: ("name", "place", "quoted"),
            Kind.DATE: ("date",), Kind.YEAR: ("date",), Kind.NUMBER: ("number",),
            Kind.OTHER: ("name", "place", "quoted", "date", "number")}


class Support:
    """The verifier reads the answer in each sentence it could rest on (`qa.verifier`): P(this sentence states
    that this answers the question). The best is the judge's main signal, and among the sentences that hold the
    answer, the one the verifier reads as stating it is cited first, not one that merely shares its words.

    It reads the names, places, dates and numbers of the best `sentences` the same way, as answers of the kind
    asked (`readings`): the best of them says whether anything retrieved states an answer at all (the judge's
    `span_top`), and `reader` may answer with one. Open questions only: a yes/no answer or a choice rests on the
    sentences about each thing compared."""

    name = "support"

    def __init__(self, verifier: Verifier | None, selector: EvidenceSelector, min_support: float = 1.0,
                 depth: int = 8, sentences: int = 4) -> None:
        self.verifier, self.selector, self.min_support = verifier, selector, min_support
        self.depth, self.sentences = depth, sentences

    def pool(self, work: Work) -> list[Evidence]:
        """The cited sentences, those the generator saw, then the best of the rest: each once."""
        by_place = {(e.source, e.start): e for e in work.sentences}
        cited = [by_place[(c.source, c.start)] for c in work.citations() if (c.source, c.start) in by_place]
        offered = list(work.prompt.evidence) if work.prompt is not None else []
        seen: set[tuple[str, int]] = set()
        out = []
        for e in cited + offered + work.sentences[:self.depth]:
            if (e.source, e.start) not in seen:
                seen.add((e.source, e.start))
                out.append(e)
        return out

    def spans(self, work: Work) -> list[tuple[str, Evidence]]:
        """The spans of the kind asked in the best sentences, but the question's own words."""
        kinds, asked = READABLE.get(work.analysis.kind, ()), set(work.analysis.terms)
        return [(span.text, e) for e in work.sentences[:self.sentences] for span in candidate_spans(e.text)
                if span.kind in kinds and (held := terms(span.text)) and not held <= asked]

    def run(self, work: Work) -> Iterable[str]:
        work.support, work.readings = (), ()
        if self.verifier is None or work.analysis.form is not Form.OPEN:
            return NOTHING
        claim = work.claim
        answered = claim is not None and claim.text.strip() and not REFUSAL.search(claim.text) \
            and len(claim.text.split()) <= MAX_CANDIDATE_WORDS
        pool = self.pool(work) if answered else []
        spans = self.spans(work)
        pairs = [Pair(work.asked, claim.text, e.text, before(work, self.selector, e)) for e in pool] + \
                [Pair(work.asked, text, e.text, before(work, self.selector, e)) for text, e in spans]
        if not pairs:
            return NOTHING
        scores = [float(x) for x in self.verifier.score(pairs)]
        work.readings = tuple(sorted(((text, e, p) for (text, e), p in zip(spans, scores[len(pool):], strict=True)),
                                     key=lambda row: -row[2]))
        if not pool:
            return NOTHING
        work.support = tuple(sorted(zip(pool, scores[:len(pool)], strict=True), key=lambda row: -row[1]))
        if claim.supported:
            ranked = [e for e, _ in work.support] + [e for e in work.sentences if e not in pool]
            again = cite(claim.text, work.analysis, ranked, self.min_support)
            if again.supported:
                work.claim = CitedClaim(claim.text, again.citations, True, again.support)
        return NOTHING


class Reader:
    """A reader beside the generator: of the spans `support` read, one the verifier reads as clearly better
    stated than the draft (by `margin`, and at least `floor`) replaces it: a name where the draft gave a role,
    the passage's own spelling, an answer where the generator refused."""

    name = "reader"

    def __init__(self, floor: float = 0.5, margin: float = 0.25) -> None:
        self.floor, self.margin = floor, margin

    def run(self, work: Work) -> Iterable[str]:
        current = terms(work.claim.text) if work.claim is not None else set()
        best = next(((text, e, p) for text, e, p in work.readings if terms(text) != current), None)
        if best is None:
            return NOTHING
        text, evidence, score = best
        if score < self.floor or score - (work.support[0][1] if work.support else 0.0) < self.margin:
            return NOTHING
        claim = cite(text, work.analysis, [evidence] + [e for e in work.sentences if e is not evidence])
        if not claim.supported:
            return NOTHING
        work.answer, work.read = text, True
        work.claim = quote_claim(claim, work.analysis)
        work.support = ((evidence, score),) + tuple(row for row in work.support if row[0] is not evidence)
        return NOTHING


class Verify:
    """The same model asked whether the cited sentences state the answer: its share of "yes" is a signal.

    The judge asks it only when its decision hangs on it (`Judge.settled_without`)."""

    name = "verify"

    def __init__(self, generator: Generator, lock: threading.Lock, context_sentences: int = 3) -> None:
        self.generator, self.lock, self.context_sentences = generator, lock, context_sentences

    def ask(self, work: Work, question: QuestionAnalysis, answer: str, sentences: Sequence[Evidence]) -> float | None:
        stream = getattr(self.generator, "stream_messages", None)
        if stream is None or not answer.strip():
            return None
        messages = verification_messages(question.text, answer, [e.text for e in sentences[:self.context_sentences]])
        with self.lock, closing(stream(messages, max_new_tokens=1)) as generated:
            pieces = list(generated)
        work.calls += 1
        return yes_share(pieces)

    def run(self, work: Work) -> Iterable[str]:
        claim = work.claim
        if claim is None or not claim.text.strip():
            return NOTHING
        cited = [e for e in work.sentences if any((e.source, e.start) == (c.source, c.start) for c in claim.citations)]
        shown = cited or list(work.prompt.evidence) or work.sentences
        verified = self.ask(work, work.analysis, claim.text, shown)
        if verified is not None:
            work.signals["verified"] = verified
        return NOTHING


class JudgeStep:
    """One calibrated judge over every signal decides whether the answer is shown (`qa.judge`).

    The verification prompt (`verify`) is asked for every follow-up, whose premise a rewrite supplied, and
    for every answer of a run that trains the judge. `verify_when_it_matters` asks it too whenever it could
    change the decision: off by default, because on the held-out general half it cost a question each way
    and 0.58 model calls an answer, for a question or two on the seeds (README)."""

    name = "judge"

    def __init__(self, judge: Judge, generator: Generator, verify: Verify | None = None,
                 verify_when_it_matters: bool = False) -> None:
        self.judge, self.generator, self.verify = judge, generator, verify
        self.verify_when_it_matters = verify_when_it_matters

    def run(self, work: Work) -> Iterable[str]:
        work.signals = measure(work)  # afresh: a second draft is weighed on its own
        follow_up = work.asked != work.question
        if self.verify is not None and (self.judge.record_only or follow_up or (
                self.verify_when_it_matters
                and not self.judge.settled_without(work.signals, "verified", self.generator.name))):
            list(self.verify.run(work))
        answer = work.claim.text if work.claim is not None else work.answer
        decision = self.judge.decide(answer, work.signals, work.analysis, self.generator.name)
        work.probability = decision.probability
        work.verdicts.append(decision.verdict)
        return NOTHING


class Repair:
    """When the judge's main reason can be fixed, ask once more; abstain only if the second draft fails too.

    - a refusal ("unknown") where the documents most likely answer, a description where a person was asked, a
      date missing: the second draft is told what to answer with;
    - one side of a comparison missing from the passages: each side without a cited sentence is searched for
      (in the answer's snapshot) and its best sentences join the prompt.

    An answer the judge kept is asked again too when it lacks the kind of value asked for ("The officer" for
    "Who shot …?"): the second draft replaces it only if the judge keeps that one and it holds a name or date.
    """

    name = "repair"
    after_rejection = True  # it runs after a rejection as well

    def __init__(self, generator: Generator, judge: Judge, redo: Sequence[Step], index: Index | None = None,
                 selector: EvidenceSelector | None = None, prompt: BuildPrompt | None = None,
                 per_side: int = 2) -> None:
        self.generator, self.judge, self.redo, self.index, self.selector = generator, judge, list(redo), index, selector
        self.prompt, self.per_side = prompt, per_side

    def _add_missing_sides(self, work: Work) -> bool:
        if self.index is None or self.selector is None or self.prompt is None:
            return False
        found = [terms(e.text) for e in work.sentences]
        missing = [s for s in subjects(work.answer, work.analysis)
                   if not any(coverage(terms(s), held) >= 0.5 for held in found)]
        have = {(e.source, e.start) for e in work.sentences}
        added = []
        for side in missing:
            passages = self.index.search(side, self.per_side, "hybrid", snapshot=work.snapshot)
            work.searches += 1
            added += [e for e in self.selector.run(analyse(side), self.index.embed_query(side), passages,
                                                   work.text_of)[:self.per_side] if (e.source, e.start) not in have]
        if not added:
            return False
        work.sentences = sorted(work.sentences + added, key=lambda e: -e.score)
        list(self.prompt.run(work))
        return True

    def run(self, work: Work) -> Iterator[str]:
        rejected = work.rejected
        if work.prompt is None or self.generator.name == "extractive":
            return
        if rejected is None:
            yield from self._complete_kind(work)
            return
        hint = self.judge.repair_hint(rejected, work.analysis, work.signals, self.generator.name)
        if hint is None and not (Judge.missing_side(rejected, work.analysis) and self._add_missing_sides(work)):
            return
        work.repaired = Judge.main_reason(rejected) or rejected.check
        work.verdicts = [v for v in work.verdicts if v is not rejected]
        if hint is not None:
            work.prompt = work.prompt.with_hint(hint)
        for step in self.redo:
            yield from step.run(work)
            if work.rejected is not None:
                return

    KEPT = ("prompt", "pieces", "draft", "confidence", "answer", "claim", "signals", "probability", "verdicts")

    def _complete_kind(self, work: Work) -> Iterator[str]:
        hint = Judge.kind_hint(work.analysis)
        if hint is None or work.signals.get("kind", 1.0) >= 1.0:
            return
        first = {name: getattr(work, name) for name in self.KEPT}
        work.prompt, work.verdicts = work.prompt.with_hint(hint), list(work.verdicts)
        for step in self.redo:
            yield from step.run(work)
            if work.rejected is not None:
                break
        if work.rejected is None and work.signals.get("kind") == 1.0:
            work.repaired = "kind"
            return
        for name, value in first.items():  # the second draft is no better: the first stands
            setattr(work, name, value)


class Conflict:
    """Another document that answers the question differently, reported beside the answer. Only a real
    disagreement counts: the other answer is stated by its own sentence, accepted by the same judge, and the
    model, shown both sentences, says they answer the same question differently.

    A differing answer the judge does not accept is not reported. Withholding the answer then, as a sign that
    the model guesses, was measured and dropped: with the judge in place it cost 3.3 points of containment on
    the general check half and 5 on the seeds for 4 and 0 points of abstention on unanswerable questions."""

    name = "conflict"

    def __init__(self, selector: EvidenceSelector, generator: Generator, lock: threading.Lock, verify: Verify,
                 judge: Judge, margin: float = 0.35, top_k: int = 5, verifier: Verifier | None = None) -> None:
        self.selector, self.generator, self.lock, self.verify = selector, generator, lock, verify
        self.judge, self.margin, self.top_k, self.verifier = judge, margin, top_k, verifier

    def _generate(self, work: Work, messages) -> str:
        with self.lock:
            text = "".join(p.text for p in self.generator.stream_messages(messages))
        work.calls += 1
        return text

    def run(self, work: Work) -> Iterable[str]:
        if work.claim is None or not work.claim.citations or self.generator.name == "extractive":
            return NOTHING
        analysis = work.analysis
        model = hasattr(self.generator, "stream_messages")  # one that reads any prompt: it can be asked again
        by_place = {(e.source, e.start): e for e in work.sentences}
        cited = [by_place[(c.source, c.start)] for c in work.claim.citations if (c.source, c.start) in by_place]
        sources = {c.source for c in work.claim.citations}
        others = [p for p in work.passages + work.reserve if p.source not in sources][:self.top_k]
        extra = [e for e in self.selector.run(analysis, work.vector, others, work.text_of)
                 if (e.source, e.start) not in by_place]
        retrieved = work.passages + work.reserve

        def held(source_set: set[str]) -> set[str]:
            return terms(" ".join(p.text for p in retrieved if p.source in source_set))

        # Another document answers the same question only when it is about the same subject: it holds every
        # name of the question that the cited documents hold (on the general check half, documents about
        # another singer, another casino, another quarterback were shown as conflicts before).
        named = names_held(analysis.names, held(sources))
        candidates = sorted((e for e in work.sentences + extra
                             if e.source in sources or names_held(analysis.names, held({e.source})) >= named),
                            key=lambda e: -e.score)

        def ask(question: QuestionAnalysis, sentences: list[Evidence]) -> str:
            if not model:
                return ""
            prompt = sentences_prompt(question, sentences, self.generator.count_tokens, 400, 1)
            return self._generate(work, prompt.messages)

        def disagree(question: QuestionAnalysis, first: Evidence, _: str, second: Evidence, other: str) -> bool:
            reply = self._generate(work, disagreement_messages(question, first.text, second.text))
            if not (YES_NO.match(reply) and reply.strip().lower().startswith("yes")):
                return False
            verified = self.verify.ask(work, question, other, [second])
            signals = dict(work.signals, verified=verified, kind=float(holds_kind(other, question)), supported=1.0,
                           support=1.0, answer_words=math.log1p(len(other.split())))
            if self.verifier is not None and question.form is Form.OPEN:
                pair = Pair(work.asked, other, second.text, before(work, self.selector, second))
                signals["verifier"] = float(self.verifier.score([pair])[0])
            return verified is not None and self.judge.accepts(signals, self.generator.name)

        found = find_conflict(analysis, work.claim.text, cited, candidates, self.margin, ask, disagree)
        if found is not None:
            work.conflict = (found.evidence, found.answer)
        return NOTHING
