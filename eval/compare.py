"""Regressions: what the previous run in the same output folder got right that this run gets wrong.

Works on two results.json documents, so a run can be compared with any earlier one kept on disk.
Question-level changes are checked on the questions both runs share (same id and wording); metric
changes only when both runs measured the same questions of the same set, since otherwise a "drop" may
just be a different sample.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ANSWER_METRICS = ("pass_rate", "containment", "f1", "exact_match", "citation_recall", "citation_precision",
                  "grounding", "abstention_precision", "abstention_recall", "false_abstention", "cites_source",
                  "conflict")
LOWER_IS_BETTER = frozenset({"false_abstention"})
RETRIEVAL_METRICS = ("recall@1", "recall@3", "recall@5", "recall@10", "mrr")
HIT_AT = 5  # a retrieval regression: the evidence was in the top 5 before and is not now
TOLERANCE = 0.0005  # below the 4-decimal rounding of results.json: no change


@dataclass(frozen=True, slots=True)
class QuestionChange:
    configuration: str  # "answers: extractive" or "retrieval: dense"
    id: str
    question: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class MetricChange:
    configuration: str
    metric: str
    before: float
    after: float

    @property
    def delta(self) -> float:
        return self.after - self.before


@dataclass(frozen=True, slots=True)
class Comparison:
    previous_started: str
    shared_questions: int
    same_questions: bool  # same set file content and the same question ids: metric changes are meaningful
    regressions: tuple[QuestionChange, ...]  # passed before, fail now
    fixes: tuple[QuestionChange, ...]  # failed before, pass now
    drops: tuple[MetricChange, ...]
    rises: tuple[MetricChange, ...]

    @property
    def regressed(self) -> bool:
        return bool(self.regressions or self.drops)

    def to_dict(self) -> dict[str, Any]:
        def change(c: QuestionChange) -> dict[str, str]:
            return {"configuration": c.configuration, "id": c.id, "question": c.question, "before": c.before,
                    "after": c.after}

        def metric(m: MetricChange) -> dict[str, Any]:
            return {"configuration": m.configuration, "metric": m.metric, "before": m.before, "after": m.after}

        return {"previous_started": self.previous_started, "shared_questions": self.shared_questions,
                "same_questions": self.same_questions, "regressions": [change(c) for c in self.regressions],
                "fixes": [change(c) for c in self.fixes], "drops": [metric(m) for m in self.drops],
                "rises": [metric(m) for m in self.rises]}


def load_previous(path: Path) -> dict[str, Any] | None:
    """The previous results.json, or None when there is none or it cannot be read as one."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("format") != 1 or "questions" not in document:
        return None
    return document


def _retrieval_state(entry: dict[str, Any], mode: str) -> str | None:
    outcome = entry.get("retrieval", {}).get(mode)
    if not outcome:
        return None
    rank = outcome.get("rank")
    return f"evidence at rank {rank}" if rank is not None else "evidence not retrieved"


def _retrieval_hit(entry: dict[str, Any], mode: str) -> bool:
    rank = entry.get("retrieval", {}).get(mode, {}).get("rank")
    return rank is not None and rank <= HIT_AT


def compare(previous: dict[str, Any], current: dict[str, Any]) -> Comparison:
    before = {q["id"]: q for q in previous.get("questions", [])}
    now = {q["id"]: q for q in current.get("questions", [])}
    shared = [i for i in now if i in before and before[i].get("question") == now[i].get("question")]
    regressions: list[QuestionChange] = []
    fixes: list[QuestionChange] = []
    generators = [g for g in current["run"]["generators"] if g in previous.get("run", {}).get("generators", [])]
    modes = [m for m in current["run"]["modes"] if m in previous.get("run", {}).get("modes", [])]
    for name in generators:
        for i in shared:
            old = before[i].get("results", {}).get(name)
            new = now[i]["results"].get(name)
            if not old or not new or old.get("passed") == new.get("passed"):
                continue
            change = QuestionChange(f"answers: {name}", i, now[i]["question"], _describe(old), _describe(new))
            (regressions if old.get("passed") else fixes).append(change)
    for mode in modes:
        for i in shared:
            if not now[i].get("answerable", True):
                continue
            was, is_ = _retrieval_hit(before[i], mode), _retrieval_hit(now[i], mode)
            if was != is_:
                change = QuestionChange(f"retrieval: {mode}", i, now[i]["question"],
                                        _retrieval_state(before[i], mode) or "", _retrieval_state(now[i], mode) or "")
                (regressions if was else fixes).append(change)
    same = (previous.get("run", {}).get("set_sha256") == current["run"]["set_sha256"]
            and set(before) == set(now))
    drops: list[MetricChange] = []
    rises: list[MetricChange] = []
    if same:
        pairs = [(f"answers: {g}", previous["summary"]["answers"][g], current["summary"]["answers"][g], ANSWER_METRICS)
                 for g in generators]
        pairs += [(f"retrieval: {m}", previous["summary"]["retrieval"][m], current["summary"]["retrieval"][m],
                   RETRIEVAL_METRICS) for m in modes]
        for configuration, old, new, names in pairs:
            for metric in names:
                a, b = old.get(metric), new.get(metric)
                if a is None or b is None or abs(b - a) <= TOLERANCE:
                    continue
                worse = b > a if metric in LOWER_IS_BETTER else b < a
                (drops if worse else rises).append(MetricChange(configuration, metric, a, b))
    return Comparison(previous.get("run", {}).get("started", "?"), len(shared), same, tuple(regressions),
                      tuple(fixes), tuple(drops), tuple(rises))


def _describe(outcome: dict[str, Any]) -> str:
    text = " ".join(str(outcome.get("text", "")).split())
    verdict = outcome.get("verdict", "")
    shown = text if len(text) <= 160 else text[:157] + "…"
    return f"{verdict}: “{shown}”" if shown else verdict
