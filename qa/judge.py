"""One calibrated judge: the probability that an answer is right, from every signal at once.

No single signal separates right answers from wrong ones well enough: on HotpotQA dev questions the draft's
mean log-probability reached an AUROC of 0.70, a verification prompt's P(yes) 0.77. A small calibrator
trained on all of them does better, also out of domain (Kamath et al. 2020, "Selective Question Answering
under Domain Shift"). The judge is two logistic regressions over the signals of `qa.signals`:

- `answers`: P(the documents answer the question), trained on answerable against unanswerable questions;
- `right`: P(the answer is right | the documents answer it), trained on the answerable questions.

Their product is P(right), shown beside every answer. An answer is withheld when the documents most likely
do not answer (`answers` below its threshold, set for a stated risk of answering what they do not say).
Keeping the two apart keeps a question the documents answer, but a small model answers doubtfully, from
being withheld as if the documents did not say: the reader sees its low probability instead.

The weights are trained on the tune half of the general dev set and half of the seed questions only
(`make judge`, eval.calibrate), and kept in a small data file, `qa/data/judge.json`, which
says how and when they were trained. Three things are rules, not weights: an answer that is a refusal
("unknown") has nothing to show, a yes/no question answered with neither yes nor no is not answered, and an
answer no retrieved sentence states is never shown: every answer shown is cited.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.analysis import Form, Kind, QuestionAnalysis
from qa.answer import Verdict
from qa.engines import Piece
from qa.lexicon import REFUSAL, YES_NO

WEIGHTS = Path(__file__).resolve().parent / "data" / "judge.json"
LANGUAGE_MODEL = "language-model"
EXTRACTIVE = "extractive"

# What a reader is told when a signal is the main reason an answer is withheld.
REASONS = {
    "coverage": "The passages found are about something else than this question.",
    "dense_top": "Nothing in the documents is clearly about this question.",
    "lexical_top": "Nothing in the documents is clearly about this question.",
    "dense_margin": "Nothing in the documents is clearly about this question.",
    "supported": "The passages found do not say “{answer}”.",
    "rewritten": "The passages found do not answer this follow-up with certainty.",
}
NOT_ANSWERED = "The documents found do not seem to answer this question."
REFUSED = "the generator replied "
UNCITED = "no retrieved sentence states the answer"


def verification_messages(question: str, answer: str, sentences: Sequence[str]) -> list[dict[str, str]]:
    """The verification prompt: does the text state that the proposed answer answers the question?"""
    text = "\n".join(sentences)
    return [{"role": "system", "content": "You check answers against a text. Reply yes or no."},
            {"role": "user", "content": f"Text:\n{text}\n\nQuestion: {question}\nProposed answer: {answer}\n\n"
                                        "Does the text say that the proposed answer is the answer to the question? "
                                        "Reply yes or no."}]


def yes_share(pieces: Sequence[Piece]) -> float | None:
    """P(yes) / (P(yes) + P(no)) at the first token, from the alternatives the engine reported."""
    if not pieces or not pieces[0].alternatives:
        return None
    first = [(text.strip().lower(), prob) for text, prob in pieces[0].alternatives]
    yes = sum(prob for text, prob in first if text == "yes")
    no = sum(prob for text, prob in first if text == "no")
    return yes / (yes + no) if yes + no > 0 else None


@dataclass(frozen=True, slots=True)
class Weights:
    """A logistic regression over standardised signals: P(right) = σ(b + Σ w·(x − mean)/scale)."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float  # answers below this probability abstain
    trained: dict[str, Any] = field(default_factory=dict)  # on what, when, with which command

    def contributions(self, signals: dict[str, float]) -> dict[str, float]:
        """Each signal's push on the log-odds; a missing signal sits at its training mean and pushes nothing."""
        out = {}
        for name, mean, scale, coef in zip(self.features, self.mean, self.scale, self.coef, strict=True):
            value = signals.get(name)
            out[name] = 0.0 if value is None else coef * (float(value) - mean) / (scale or 1.0)
        return out

    def probability(self, signals: dict[str, float]) -> float:
        z = self.intercept + sum(self.contributions(signals).values())
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(self.features), "mean": list(self.mean), "scale": list(self.scale),
                "coef": list(self.coef), "intercept": self.intercept, "threshold": self.threshold,
                "trained": self.trained}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Weights:
        return cls(tuple(data["features"]), tuple(map(float, data["mean"])), tuple(map(float, data["scale"])),
                   tuple(map(float, data["coef"])), float(data["intercept"]), float(data["threshold"]),
                   dict(data.get("trained", {})))


@dataclass(frozen=True, slots=True)
class Heads:
    """One generator family's judge: P(the documents answer) and P(right | they do)."""

    answers: Weights
    right: Weights
    trained: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Heads:
        return cls(Weights.from_dict(data["answers"]), Weights.from_dict(data["right"]), dict(data.get("trained", {})))

    def to_dict(self) -> dict[str, Any]:
        return {"answers": self.answers.to_dict(), "right": self.right.to_dict(), "trained": self.trained}


def load_weights(path: Path = WEIGHTS) -> dict[str, Heads]:
    """The saved judges, one per generator family ("language-model", "extractive")."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {family: Heads.from_dict(heads) for family, heads in data["judges"].items()}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RuntimeError(f"cannot read the answer judge's weights at {path} ({exc}): reinstall citeqa, or "
                           "retrain them with `make judge`") from None


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    probability: float | None


def _main(weights: Weights, signals: dict[str, float]) -> tuple[str, float]:
    pushes = weights.contributions(signals)
    main = min(pushes, key=pushes.get)
    return main, pushes[main]


class Judge:
    """Keeps or withholds an answer by the probability that it is right.

    `threshold` overrides the trained threshold of `answers` (None keeps it). `record_only` keeps every answer
    but still records its probability: how `make judge` sees every draft.
    """

    name = "judge"

    def __init__(self, weights: dict[str, Heads] | None = None, threshold: float | None = None,
                 record_only: bool = False) -> None:
        self.weights = weights if weights is not None else load_weights()
        self.threshold = threshold
        self.record_only = record_only

    def family(self, generator: str) -> Heads | None:
        return self.weights.get(EXTRACTIVE if generator == "extractive" else LANGUAGE_MODEL)

    def probability(self, signals: dict[str, float], generator: str) -> float | None:
        heads = self.family(generator)
        return None if heads is None else heads.answers.probability(signals) * heads.right.probability(signals)

    def settled_without(self, signals: dict[str, float], name: str, generator: str) -> bool:
        """Whether the decision is the same whatever `name` turns out to be (a share, from 0 to 1).

        Both heads are monotonic in every signal, so its two extremes bound every decision it could lead to:
        when they agree, the signal need not be measured (the verification prompt, 0.4–0.6 s, is skipped)."""
        heads = self.family(generator)
        if heads is None or name not in heads.answers.features + heads.right.features:
            return True
        return self.accepts({**signals, name: 0.0}, generator) == self.accepts({**signals, name: 1.0}, generator)

    def accepts(self, signals: dict[str, float], generator: str) -> bool:
        heads = self.family(generator)
        return heads is None or self._failing(heads, signals) is None

    def _failing(self, heads: Heads, signals: dict[str, float]) -> tuple[float, float] | None:
        """P(the documents answer) and its threshold when it withholds the answer; None when it keeps it."""
        answers = heads.answers.probability(signals)
        threshold = heads.answers.threshold if self.threshold is None else self.threshold
        return (answers, threshold) if answers < threshold else None

    def decide(self, answer: str, signals: dict[str, float], analysis: QuestionAnalysis,
               generator: str) -> Decision:
        if not answer.strip() or REFUSAL.search(answer):
            return Decision(Verdict(self.name, False, "The passages found do not answer this question.",
                                    f"{REFUSED}“{answer[:200]}”"), None)
        if analysis.form is Form.YES_NO and not YES_NO.match(answer):
            return Decision(Verdict(self.name, False, "The passages found do not settle this yes/no question.",
                                    f"“{answer[:200]}” is neither yes nor no"), None)
        if signals.get("supported") == 0.0:
            return Decision(Verdict(self.name, False, self.reason("supported", analysis).format(answer=answer[:120]),
                                    f"{UNCITED}; main reason supported (0.00)"), None)
        heads = self.family(generator)
        if heads is None:
            return Decision(Verdict(self.name, True, detail="no trained judge for this generator"), None)
        probability = self.probability(signals, generator)
        failing = self._failing(heads, signals)
        if failing is None or self.record_only:
            return Decision(Verdict(self.name, True, detail=f"P(right) {probability:.2f}"), probability)
        value, threshold = failing
        main, push = _main(heads.answers, signals)
        return Decision(Verdict(self.name, False, self.reason(main, analysis).format(answer=answer[:120]),
                                f"P(the documents answer) {value:.2f} < {threshold:.2f}; main reason {main} "
                                f"({signals.get(main, float('nan')):.2f}, pushes {push:+.2f}); P(right) "
                                f"{probability:.2f}"), probability)

    @staticmethod
    def reason(signal: str, analysis: QuestionAnalysis) -> str:
        """The sentence a reader is told when `signal` pushed hardest against the answer."""
        if signal == "kind":
            return f"The passages found do not give the {analysis.kind.value} asked for."
        if signal == "supported" and analysis.form is not Form.OPEN:
            return "The passages found do not cover everything this question compares."
        return REASONS.get(signal, NOT_ANSWERED)
    @staticmethod
    def main_reason(verdict: Verdict) -> str | None:
        """The signal that pushed hardest against a withheld answer, as `decide` recorded it."""
        if verdict.check != "judge" or "main reason " not in verdict.detail:
            return None
        return verdict.detail.split("main reason ", 1)[1].split(" ", 1)[0]

    @staticmethod
    def missing_side(verdict: Verdict, analysis: QuestionAnalysis) -> bool:
        """A comparison withheld because what it compares is not all in the passages found."""
        return analysis.form is not Form.OPEN and Judge.main_reason(verdict) in ("supported", "coverage")

    def repair_hint(self, verdict: Verdict, analysis: QuestionAnalysis, signals: dict[str, float],
                    generator: str) -> str | None:
        """What a second draft is told, when the judge's main reason is one a second draft can fix: a refusal
        where the documents most likely answer, a description where a person was asked, a date missing."""
        if verdict.check == self.name and verdict.detail.startswith(REFUSED):
            heads = self.family(generator)
            threshold = heads.answers.threshold if heads and self.threshold is None else self.threshold
            if heads is None or not signals or heads.answers.probability(signals) < threshold:
                return None
            return "The context holds the answer: give your best short answer from it." + (
                " Answer yes or no." if analysis.form is Form.YES_NO else "")
        return Judge.kind_hint(analysis) if Judge.main_reason(verdict) == "kind" else None

    @staticmethod
    def kind_hint(analysis: QuestionAnalysis) -> str | None:
        """What a draft lacking the kind of value asked for is told: a name for "who?", a date for "when?"."""
        if analysis.kind is Kind.PERSON:
            return "Answer with the person's name, as the context gives it."
        if analysis.kind in (Kind.DATE, Kind.YEAR):
            return "Answer with the date, as the context gives it."
        return None
