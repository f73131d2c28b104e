"""Training the answer judge (`qa.judge`) from an eval run, choosing its threshold, and what each signal pays.

A run made with the judge recording only (`--config judge=false`, which `--train-judge` sets) keeps every
draft, with the signals the judge weighs and the candidate answer. Each answer that reached the judge is one
example: right when its question is answerable and the candidate holds a gold answer. A logistic regression
over the standardised signals is fitted to them; the threshold is the lowest probability at which the
answers kept are wrong at most `risk` of the time. The ablation refits without each signal in turn, on the
training run, and scores the other run (the check half): a signal that does not pay there is removed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from eval import metrics

RISK = 0.20  # the stated risk: at most this share of the answers shown may be wrong (on the training half)
C = 1.0  # inverse L2 strength of the logistic regression


@dataclass(frozen=True, slots=True)
class Example:
    question: str
    answerable: bool
    right: bool  # the candidate holds a gold answer of an answerable question
    reached: bool  # the answer reached the judge (not withheld before: nothing relevant, a refusal)
    signals: dict[str, float]


def examples(document: dict[str, Any], generator: str) -> list[Example]:
    """Every question of a results.json document, as the judge saw its answer from `generator`."""
    out = []
    for q in document["questions"]:
        r = q["results"].get(generator)
        if r is None or r.get("error"):
            continue
        signals = {k: float(v) for k, v in (r.get("signals") or {}).items() if v is not None}
        candidate = r.get("candidate") or ""
        right = bool(q["answerable"] and candidate and metrics.containment(candidate, q["answers"]) > 0)
        out.append(Example(q["question"], bool(q["answerable"]), right, bool(signals), signals))
    return out


def matrix(rows: Sequence[Example], features: Sequence[str], mean: np.ndarray | None = None) -> np.ndarray:
    """Signals as a matrix; a missing one takes the training mean (it then pushes nothing)."""
    x = np.full((len(rows), len(features)), np.nan)
    for i, row in enumerate(rows):
        for j, name in enumerate(features):
            if name in row.signals:
                x[i, j] = row.signals[name]
    if mean is None:
        mean = np.nanmean(np.where(np.isnan(x).all(axis=0), 0.0, x), axis=0) if len(rows) else np.zeros(len(features))
    return np.where(np.isnan(x), mean, x)


def fit(rows: Sequence[Example], features: Sequence[str], risk: float = RISK, c: float = C) -> dict[str, Any]:
    """The weights file entry of a judge trained on `rows` (those that reached the judge)."""
    from sklearn.linear_model import LogisticRegression

    train = [r for r in rows if r.reached]
    raw = np.full((len(train), len(features)), np.nan)
    for i, row in enumerate(train):
        for j, name in enumerate(features):
            raw[i, j] = row.signals.get(name, np.nan)
    mean = np.array([np.nanmean(col) if not np.isnan(col).all() else 0.0 for col in raw.T])
    x = np.where(np.isnan(raw), mean, raw)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    y = np.array([r.right for r in train])
    model = LogisticRegression(C=c, max_iter=1000).fit((x - mean) / scale, y)
    weights = {"features": list(features), "mean": mean.round(6).tolist(), "scale": scale.round(6).tolist(),
               "coef": model.coef_[0].round(6).tolist(), "intercept": round(float(model.intercept_[0]), 6)}
    weights["threshold"] = threshold_for(probabilities(weights, train), y, risk)
    return weights


def probabilities(weights: dict[str, Any], rows: Sequence[Example]) -> np.ndarray:
    from qa.judge import Weights

    judge = Weights.from_dict({**weights, "threshold": weights.get("threshold", 0.5)})
    return np.array([judge.probability(r.signals) for r in rows])


def threshold_for(p: np.ndarray, right: np.ndarray, risk: float) -> float:
    """The lowest threshold whose kept answers are wrong at most `risk` of the time (0.5 when none is)."""
    order = np.argsort(-p)
    wrong = np.cumsum(~right[order]) / np.arange(1, len(p) + 1)
    ok = np.nonzero(wrong <= risk)[0]
    if not len(ok):
        return 0.5
    return round(float(p[order][ok[-1]]), 4)


def score(rows: Sequence[Example], p: np.ndarray | None, threshold: float) -> dict[str, float | None]:
    """What the judge at `threshold` gives on a set: containment, and abstention on both kinds of question."""
    kept = {}
    reached = [r for r in rows if r.reached]
    for row, probability in zip(reached, p if p is not None else [1.0] * len(reached), strict=True):
        kept[id(row)] = probability >= threshold
    answerable = [r for r in rows if r.answerable]
    unanswerable = [r for r in rows if not r.answerable]
    shown = [r for r in rows if kept.get(id(r), False)]

    def rate(part: list, total: list) -> float | None:
        return round(len(part) / len(total), 4) if total else None

    return {"containment": rate([r for r in answerable if kept.get(id(r)) and r.right], answerable),
            "answerable_abstained": rate([r for r in answerable if not kept.get(id(r))], answerable),
            "unanswerable_abstained": rate([r for r in unanswerable if not kept.get(id(r))], unanswerable),
            "risk": rate([r for r in shown if not r.right], shown)}


def auroc(p: np.ndarray, right: np.ndarray) -> float | None:
    """Probability that a right answer outranks a wrong one."""
    pos, neg = p[right], p[~right]
    if not len(pos) or not len(neg):
        return None
    return round(float(((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum())
                       / (len(pos) * len(neg))), 4)


def features_of(rows: Sequence[Example]) -> list[str]:
    """Signals present and not constant among the examples, in a stable order."""
    names = sorted({k for r in rows for k in r.signals})
    return [n for n in names if len({r.signals.get(n) for r in rows if r.reached}) > 1]


def ablation(train: Sequence[Example], test: Sequence[Example], features: Sequence[str],
             risk: float = RISK) -> list[dict[str, Any]]:
    """The judge with every signal, with each one left out in turn, and with none (all kept): fitted on `train`,
    its threshold set on `train` for `risk`, scored on `test`."""
    rows = []
    for removed in ["", *features]:
        kept = [f for f in features if f != removed]
        weights = fit(train, kept, risk)
        p = probabilities(weights, [r for r in test if r.reached])
        right = np.array([r.right for r in test if r.reached])
        rows.append({"removed": removed, "threshold": weights["threshold"], "auroc": auroc(p, right),
                     **score(test, p, weights["threshold"])})
    rows.append({"removed": "judge", "threshold": None, "auroc": None, **score(test, None, 0.0)})
    return rows


def coverage_risk(rows: Sequence[Example], p: np.ndarray) -> list[tuple[float, float]]:
    """(coverage, risk) as the threshold falls: the share of questions answered against the share answered wrong."""
    reached = [r for r in rows if r.reached]
    order = np.argsort(-p)
    right = np.array([r.right for r in reached])[order]
    points = []
    for n in range(1, len(order) + 1):
        points.append((n / len(rows), float((~right[:n]).sum() / n)))
    return points


def write_weights(path: Path, family: str, weights: dict[str, Any], trained: dict[str, Any]) -> Path:
    """Set one family's judge in the weights file, keeping the others."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {"judges": {}}
    data.setdefault("judges", {})[family] = {**weights, "trained": trained}
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path


def train(document: dict[str, Any], generator: str, out: Path, command: str, risk: float = RISK,
          features: Sequence[str] | None = None) -> dict[str, Any]:
    """Fit the judge of `generator`'s family on one run and write it to `out`."""
    from qa.judge import EXTRACTIVE, LANGUAGE_MODEL

    rows = examples(document, generator)
    features = list(features or features_of(rows))
    weights = fit(rows, features, risk)
    reached = [r for r in rows if r.reached]
    trained = {"on": document["run"]["set"], "recipe": document["run"].get("recipe", {}).get("flags", ""),
               "generator": generator, "examples": len(reached), "right": sum(r.right for r in reached),
               "risk": risk, "command": command,
               "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "auroc": auroc(probabilities(weights, reached), np.array([r.right for r in reached]))}
    family = EXTRACTIVE if generator == "extractive" else LANGUAGE_MODEL
    write_weights(out, family, weights, trained)
    return {**weights, "trained": trained}
