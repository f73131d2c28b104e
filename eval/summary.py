"""Aggregate per-question outcomes into one row per configuration, overall and per question type.

Rates are pooled over the questions they apply to: answer scores over answerable questions, abstention
over all but the near-miss ones, which have their own rate (their subject is in the documents, their answer
is not), citation scores over the answers that did not abstain (ALCE), conflict over `conflict` items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eval import metrics
from eval.runner import RECALL_AT, EvalRun, QuestionResult

NEAR_MISS = "near_miss"  # the question type of near-miss questions (eval.halueval_set, the seeds set)


@dataclass(frozen=True, slots=True)
class RetrievalSummary:
    mode: str
    questions: int  # answerable questions: the only ones with evidence to find
    recall: dict[int, float]  # k -> recall@k
    mrr: float

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"questions": self.questions}
        data.update({f"recall@{k}": round(v, 4) for k, v in self.recall.items()})
        data["mrr"] = round(self.mrr, 4)
        return data


@dataclass(frozen=True, slots=True)
class AnswerSummary:
    generator: str
    questions: int
    answerable: int
    exact_match: float | None
    f1: float | None
    containment: float | None
    abstention: metrics.Abstention
    false_abstention: float | None  # share of answerable questions abstained on
    cites_source: float | None  # of the answers to answerable questions, the share citing the question's document
    citation_recall: float | None
    citation_precision: float | None
    grounding: float | None
    conflict: float | None
    conflict_questions: int
    passed: int
    errors: int
    latency: tuple[metrics.Latency, ...]
    near_miss: int = 0  # near-miss questions asked
    near_miss_abstained: float | None = None  # the share of them abstained on
    cites_statement: float | None = None  # of the right answers with an evidence quote, the share citing its sentence
    read: int = 0  # answers the reader chose over the draft

    @property
    def pass_rate(self) -> float:
        return self.passed / self.questions if self.questions else 0.0

    def to_dict(self) -> dict[str, Any]:
        r = _round
        return {
            "questions": self.questions, "answerable": self.answerable,
            "exact_match": r(self.exact_match), "f1": r(self.f1), "containment": r(self.containment),
            "abstention_precision": r(self.abstention.precision), "abstention_recall": r(self.abstention.recall),
            "abstention_f1": r(self.abstention.f1), "false_abstention": r(self.false_abstention),
            "cites_source": r(self.cites_source), "cites_statement": r(self.cites_statement),
            "near_miss": self.near_miss, "near_miss_abstained": r(self.near_miss_abstained), "read": self.read,
            "abstained_unanswerable": self.abstention.true_positives,
            "abstained_answerable": self.abstention.false_positives,
            "answered_unanswerable": self.abstention.false_negatives,
            "citation_recall": r(self.citation_recall), "citation_precision": r(self.citation_precision),
            "grounding": r(self.grounding), "conflict": r(self.conflict),
            "conflict_questions": self.conflict_questions,
            "pass_rate": r(self.pass_rate), "passed": self.passed, "errors": self.errors,
            "latency": {row.stage: {"p50": round(row.p50, 4), "p95": round(row.p95, 4), "mean": round(row.mean, 4),
                                    "count": row.count} for row in self.latency},
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _pooled(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def summarize_retrieval(results: Sequence[QuestionResult], mode: str) -> RetrievalSummary:
    ranks = [r.retrieval[mode].rank for r in results if r.question.answerable and mode in r.retrieval]
    return RetrievalSummary(mode, len(ranks), {k: metrics.recall_at(ranks, k) for k in RECALL_AT},
                            metrics.mean_reciprocal_rank(ranks))


def summarize_answers(results: Sequence[QuestionResult], generator: str) -> AnswerSummary:
    every = [(r.question, r.answers[generator]) for r in results if generator in r.answers]
    near = [a for q, a in every if q.type == NEAR_MISS]
    outcomes = [(q, a) for q, a in every if q.type != NEAR_MISS]
    answerable = [a for q, a in outcomes if q.answerable]
    statements = [a.cites_statement for a in answerable if a.cites_statement is not None]
    cited = [a.citations for _, a in every if a.citations is not None]
    own = [a.cites_source for a in answerable if not a.abstained]
    conflicts = [a.conflict_score for _, a in outcomes if a.conflict_score is not None]
    return AnswerSummary(
        generator=generator,
        questions=len(every),
        answerable=len(answerable),
        exact_match=metrics.mean(a.exact_match for a in answerable),
        f1=metrics.mean(a.f1 for a in answerable),
        containment=metrics.mean(a.contains for a in answerable),
        abstention=metrics.abstention([a.abstained for _, a in outcomes], [q.answerable for q, _ in outcomes]),
        false_abstention=_pooled(sum(a.abstained for a in answerable), len(answerable)),
        cites_source=_pooled(sum(bool(c) for c in own), len(own)),
        citation_recall=_pooled(sum(c.supported_sentences for c in cited), sum(c.sentences for c in cited)),
        citation_precision=_pooled(sum(c.supporting_links for c in cited), sum(c.citation_links for c in cited)),
        grounding=_pooled(sum(c.grounded_citations for c in cited), sum(c.citations for c in cited)),
        conflict=metrics.mean(conflicts),
        conflict_questions=len(conflicts),
        passed=sum(1 for _, a in every if a.passed),
        errors=sum(1 for _, a in every if a.error),
        latency=tuple(metrics.latency(a.timings for _, a in every)),
        near_miss=len(near),
        near_miss_abstained=_pooled(sum(a.abstained for a in near), len(near)),
        cites_statement=_pooled(sum(statements), len(statements)),
        read=sum(1 for _, a in every if a.read),
    )


def summarize_ablation(results: Sequence[QuestionResult], generator: str) -> list[dict[str, Any]]:
    """Each answer check switched off in turn (eval.ablation), from this run's recorded verdicts."""
    from eval.ablation import Outcome, ablation

    outcomes = [Outcome(r.question.answerable, tuple(r.question.answers), a.text, a.draft, a.checks)
                for r in results if (a := r.answers.get(generator)) is not None and not a.error]
    if not any(o.verdicts for o in outcomes):
        return []
    return [row.to_dict() for row in ablation(outcomes, metrics.containment)]


def question_types(results: Sequence[QuestionResult]) -> list[str]:
    """Types in order of first appearance in the set."""
    return list(dict.fromkeys(r.question.type for r in results))


def summarize(run: EvalRun) -> dict[str, Any]:
    """The `summary` and `by_type` parts of results.json."""
    results = run.results
    types = question_types(results)
    by_type_retrieval = {}
    by_type_answers = {}
    for mode in run.info.modes:
        by_type_retrieval[mode] = {}
        for kind in types:
            subset = [r for r in results if r.question.type == kind]
            if any(r.question.answerable for r in subset):
                by_type_retrieval[mode][kind] = summarize_retrieval(subset, mode).to_dict()
    for name in run.info.generators:
        by_type_answers[name] = {kind: summarize_answers([r for r in results if r.question.type == kind],
                                                         name).to_dict() for kind in types}
    return {
        "summary": {
            "retrieval": {mode: summarize_retrieval(results, mode).to_dict() for mode in run.info.modes},
            "answers": {name: summarize_answers(results, name).to_dict() for name in run.info.generators},
            "ablation": {name: summarize_ablation(results, name) for name in run.info.generators},
        },
        "by_type": {"retrieval": by_type_retrieval, "answers": by_type_answers},
    }


def results_document(run: EvalRun) -> dict[str, Any]:
    """The whole results.json: run info, summaries, and every question with every configuration's outcome."""
    document: dict[str, Any] = {"format": 1, "run": run.info.to_dict()}
    document.update(summarize(run))
    document["questions"] = [r.to_dict() for r in run.results]
    return document
