"""Answer checks: one interface, one pipeline, each check switched on or off by name in `Config.checks`.

A check judges a `Draft` (the question's analysis, the generated answer with its citations, the evidence
and the generator's confidence) and keeps it or rejects it with two reasons: one sentence a reader
understands, and the technical detail. Every check runs on every answer and its verdict is recorded, so
that `citeqa eval` can show what each check does by switching it off (the ablation table), from one run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from qa.analysis import Form, QuestionAnalysis, holds_kind
from index.documents import Passage
from qa.answer import Confidence, Evidence, Verdict
from qa.citing import CitedClaim
from qa.lexicon import REFUSAL, SPEECH_VERB, YES_NO
from qa.matching import coverage, same_term, terms


@dataclass(frozen=True, slots=True)
class Draft:
    question: QuestionAnalysis
    answer: str  # the generated text, markers stripped
    claim: CitedClaim
    evidence: tuple[Evidence, ...]  # the sentences the generator was given, best first
    confidence: Confidence
    passages: tuple[Passage, ...] = ()  # what retrieval found


class Check(Protocol):
    name: str

    def __call__(self, draft: Draft) -> Verdict: ...


def _keep(name: str, detail: str = "") -> Verdict:
    return Verdict(name, True, detail=detail)


def is_refusal(text: str) -> bool:
    """An empty answer, "unknown", "I don't know", "the context does not say"…"""
    return not text.strip() or bool(REFUSAL.search(text))


class Answered:
    """The generator gave an answer, not "unknown" or an empty string."""

    name = "answered"

    def __call__(self, draft: Draft) -> Verdict:
        if not is_refusal(draft.answer):
            return _keep(self.name)
        return Verdict(self.name, False, "The passages found do not answer this question.",
                       f"the generator replied “{draft.answer[:200]}”")


class Grounded:
    """The cited sentences state the answer (for a yes/no or a choice: they are about what it compares)."""

    name = "grounded"

    def __call__(self, draft: Draft) -> Verdict:
        if draft.claim.supported:
            return _keep(self.name, f"support {draft.claim.support:.2f}")
        if draft.question.form is Form.OPEN:
            reason = f"The passages found do not say “{draft.answer[:120]}”."
        else:
            reason = "The passages found do not cover everything this question compares."
        return Verdict(self.name, False, reason,
                       f"no retrieved sentence supports “{draft.answer[:200]}” (support {draft.claim.support:.2f})")


@dataclass(frozen=True, slots=True)
class Confident:
    """The generator was sure of its answer: calibrated on the general dev set (see the README)."""

    min_mean_logprob: float = -1.0
    max_refusal: float = 0.5
    name: str = "confident"

    def __call__(self, draft: Draft) -> Verdict:
        c = draft.confidence
        low = c.mean_logprob is not None and c.mean_logprob < self.min_mean_logprob
        doubtful = c.refusal is not None and c.refusal > self.max_refusal
        if not (low or doubtful):
            return _keep(self.name)
        return Verdict(self.name, False, "The passages found do not answer this question with certainty.",
                       f"mean token log-probability {c.mean_logprob:.2f} (threshold {self.min_mean_logprob}), "
                       f"probability of “unknown” {c.refusal or 0:.2f} (threshold {self.max_refusal})")


@dataclass(frozen=True, slots=True)
class AboutTheQuestion:
    """The cited documents are about what the question asks: their retrieved text holds enough of the
    question's words. A fluent answer drawn from a document about something else is how a question that
    nothing indexed answers gets a confident, cited, wrong reply. Calibrated on the general dev set."""

    min_coverage: float = 0.3
    name: str = "about_the_question"

    def __call__(self, draft: Draft) -> Verdict:
        sources = {c.source for c in draft.claim.citations}
        if not sources or not draft.question.terms:
            return _keep(self.name)
        text = " ".join([c.text for c in draft.claim.citations] + [p.text for p in draft.passages
                                                                   if p.source in sources])
        covered = coverage(set(draft.question.terms), terms(text))
        if covered >= self.min_coverage:
            return _keep(self.name, f"the cited documents hold {covered:.0%} of the question's words")
        return Verdict(self.name, False, "The passages found are about something else than this question.",
                       f"the cited documents hold {covered:.0%} of the question's words "
                       f"(threshold {self.min_coverage:.0%})")


class RightKind:
    """A date for "when?", a number for "how many?", a name for "who?"."""

    name = "right_kind"

    def __call__(self, draft: Draft) -> Verdict:
        if holds_kind(draft.answer, draft.question):
            return _keep(self.name)
        return Verdict(self.name, False, f"The passages found do not give the {draft.question.kind.value} asked for.",
                       f"“{draft.answer[:200]}” is not a {draft.question.kind.value}")


class CountsAsked:
    """For "how many X?", the cited sentence puts the number next to X ("six police cars")."""

    name = "counts_asked"
    reach = 3
    max_words = 8

    def __call__(self, draft: Draft) -> Verdict:
        counted = draft.question.counted
        found = {t for t in terms(draft.answer) if t.isdigit()}
        if not counted or not found or len(draft.answer.split()) > self.max_words:
            return _keep(self.name)
        for citation in draft.claim.citations:
            words = [terms(w) for w in citation.text.split()]
            places = [i for i, held in enumerate(words) if held & found]
            if not places or any(any(same_term(t, c) for t in held for c in counted)
                                 for i in places for held in words[max(0, i - self.reach):i + self.reach + 1]):
                return _keep(self.name)
        if not draft.claim.citations:
            return _keep(self.name)
        return Verdict(self.name, False, "The number found counts something other than what was asked.",
                       f"no cited sentence puts {sorted(found)} next to {sorted(counted)}")


class NotOnlySpeaker:
    """An answer that is only who said the cited sentence does not answer a question about what was said."""

    name = "not_only_speaker"
    max_words = 6

    def __call__(self, draft: Draft) -> Verdict:
        question = draft.question
        if len(draft.answer.split()) > self.max_words or question.asks_speaker or not draft.claim.citations:
            return _keep(self.name)
        answer = terms(draft.answer) - set(question.terms)
        for citation in draft.claim.citations:
            verb = SPEECH_VERB.search(citation.text)
            if verb is None or not answer:
                return _keep(self.name)
            attribution, report = terms(citation.text[:verb.start()]), terms(citation.text[verb.end():])
            if coverage(answer, attribution) < 1.0 or answer & report:
                return _keep(self.name)
            if len(question.terms & report) <= len(question.terms & attribution):
                return _keep(self.name)
        return Verdict(self.name, False, "The passages name who said this, but not what the question asks.",
                       f"“{draft.answer[:200]}” is the speaker of the cited sentence")


class YesNoAnswered:
    """A yes/no question gets a yes or a no."""

    name = "yes_no"

    def __call__(self, draft: Draft) -> Verdict:
        if draft.question.form is not Form.YES_NO or YES_NO.match(draft.answer):
            return _keep(self.name)
        return Verdict(self.name, False, "The passages found do not settle this yes/no question.",
                       f"“{draft.answer[:200]}” is neither yes nor no")


REGISTRY: dict[str, type] = {c.name if isinstance(c.name, str) else c.__name__: c for c in (
    Answered, Grounded, RightKind, CountsAsked, NotOnlySpeaker, YesNoAnswered)}
REGISTRY["confident"] = Confident
REGISTRY["about_the_question"] = AboutTheQuestion


def build_checks(names: Sequence[str], settings: dict[str, dict] | None = None) -> list[Check]:
    """The checks `Config.checks` names, in order, with their settings."""
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise ValueError(f"unknown answer checks: {', '.join(unknown)}; known: {', '.join(sorted(REGISTRY))}")
    return [REGISTRY[n](**(settings or {}).get(n, {})) for n in names]


def run_checks(checks: Sequence[Check], draft: Draft) -> tuple[Verdict, ...]:
    """Every check's verdict on the draft; the first rejection is why an answer abstains."""
    return tuple(check(draft) for check in checks)
