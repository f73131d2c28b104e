"""Training the answer judge (`qa.judge`) from eval runs, choosing its thresholds, and what each signal pays.

A run made with the judge recording only (`--config judge=false`, as `make judge` runs it) keeps every
draft, with the signals the judge weighs and the candidate answer. Each answer that reached the judge is one
example. Two logistic regressions over the standardised signals are fitted: `answers` on answerable against
unanswerable questions, `right` on the answerable ones (is the candidate's gold answer in it?).

The threshold of `answers` is the lowest at which at most the stated risk of the answers kept are to questions
the documents do not answer. The stated risk is chosen on the training runs, among `RISKS`: the one under which
the most questions pass (a right answer shown, or a decline where the documents do not answer). `right` withholds
nothing: a floor that withheld answers at least
90% likely wrong on the tune half withheld 10 answers on the check half, 3 of them right (containment 60.7%
against 62.7%, answerable questions withheld 18.0% against 11.3%); its probability is shown instead. The
ablation refits without each signal in turn on the training runs and scores another run (the check half): a signal that does not pay
there is removed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from eval import metrics

RISK = 0.05  # the stated risk: at most this share of the answers shown may answer what the documents do not say
# The stated risks `make judge` chooses among: the one under which the most training questions pass (a right answer
# shown, or a decline where the documents do not answer), the lowest on a tie.
RISKS = (0.05, 0.10, 0.15, 0.20, 0.25)
C = 1.0  # inverse L2 strength of the logistic regression


@dataclass(frozen=True, slots=True)
class Example:
    question: str
    answerable: bool
    right: bool  # the candidate holds a gold answer of an answerable question
    reached: bool  # the judge weighed it (not withheld before, for nothing relevant, nor by its rules: a refusal)
    signals: dict[str, float]
    near_miss: bool = False  # an unanswerable question whose subject the documents hold (eval.summary.NEAR_MISS)


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
        ruled_out = any(check == "judge" and not keep for check, keep in r.get("checks", [])) \
            or signals.get("supported") == 0.0  # the judge's rules: a refusal, an answer nothing states
        out.append(Example(q["question"], bool(q["answerable"]), right, bool(signals) and not ruled_out, signals,
                           q.get("type") == "near_miss"))
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


def fit_head(rows: Sequence[Example], features: Sequence[str], label, c: float = C) -> dict[str, Any]:
    """One logistic regression over standardised signals, labelled by `label(example)`."""
    from sklearn.linear_model import LogisticRegression

    raw = np.full((len(rows), len(features)), np.nan)
    for i, row in enumerate(rows):
        for j, name in enumerate(features):
            raw[i, j] = row.signals.get(name, np.nan)
    mean = np.array([np.nanmean(col) if not np.isnan(col).all() else 0.0 for col in raw.T])
    x = np.where(np.isnan(raw), mean, raw)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=c, max_iter=1000).fit((x - mean) / scale, np.array([label(r) for r in rows]))
    return {"features": list(features), "mean": mean.round(6).tolist(), "scale": scale.round(6).tolist(),
            "coef": model.coef_[0].round(6).tolist(), "intercept": round(float(model.intercept_[0]), 6),
            "threshold": 0.0}


def fit(rows: Sequence[Example], features: Sequence[str], risk: float = RISK) -> dict[str, Any]:
    """Both heads of a judge trained on `rows` (those that reached the judge), with their thresholds."""
    reached = [r for r in rows if r.reached]
    answerable = [r for r in reached if r.answerable]
    answers = fit_head(reached, features, lambda r: r.answerable)
    right = fit_head(answerable, features, lambda r: r.right)
    answers["threshold"] = threshold_for(head_probabilities(answers, reached),
                                         np.array([r.answerable for r in reached]), risk)
    return {"answers": answers, "right": right}


def head_probabilities(weights: dict[str, Any], rows: Sequence[Example]) -> np.ndarray:
    from qa.judge import Weights

    head = Weights.from_dict(weights)
    return np.array([head.probability(r.signals) for r in rows])


def probabilities(heads: dict[str, Any], rows: Sequence[Example]) -> np.ndarray:
    """P(right) = P(the documents answer) × P(right | they do)."""
    return head_probabilities(heads["answers"], rows) * head_probabilities(heads["right"], rows)


def kept(heads: dict[str, Any], rows: Sequence[Example], threshold: float | None = None) -> np.ndarray:
    """Which answers the judge keeps: P(the documents answer) at or above its threshold."""
    limit = heads["answers"]["threshold"] if threshold is None else threshold
    return head_probabilities(heads["answers"], rows) >= limit


def threshold_for(p: np.ndarray, good: np.ndarray, risk: float) -> float:
    """The lowest threshold whose kept answers are bad (not `good`) at most `risk` of the time (0.5 when none is)."""
    order = np.argsort(-p)
    bad = np.cumsum(~good[order]) / np.arange(1, len(p) + 1)
    ok = np.nonzero(bad <= risk)[0]
    if not len(ok):
        return 0.5
    return round(float(p[order][ok[-1]]), 4)


def score(rows: Sequence[Example], keep: np.ndarray | None) -> dict[str, float | None]:
    """What a judge keeping `keep` (over the rows that reached it; None: all) gives on a set: containment, and
    abstention on both kinds of question."""
    reached = [r for r in rows if r.reached]
    shown = {id(r) for r, k in zip(reached, keep if keep is not None else [True] * len(reached), strict=True) if k}
    answerable = [r for r in rows if r.answerable]
    unanswerable = [r for r in rows if not r.answerable and not r.near_miss]
    near = [r for r in rows if r.near_miss]
    kept_rows = [r for r in rows if id(r) in shown]

    def rate(part: list, total: list) -> float | None:
        return round(len(part) / len(total), 4) if total else None

    return {"containment": rate([r for r in answerable if id(r) in shown and r.right], answerable),
            "answerable_abstained": rate([r for r in answerable if id(r) not in shown], answerable),
            "unanswerable_abstained": rate([r for r in unanswerable if id(r) not in shown], unanswerable),
            "near_miss_abstained": rate([r for r in near if id(r) not in shown], near),
            "risk": rate([r for r in kept_rows if not r.right], kept_rows)}


def passed(rows: Sequence[Example], keep: np.ndarray) -> float:
    """The share of questions that pass under a judge keeping `keep` (over the rows that reached it): a right
    answer shown, or nothing shown where the documents do not answer."""
    shown = {id(r) for r, k in zip([r for r in rows if r.reached], keep, strict=True) if k}
    good = [r for r in rows if (r.right and id(r) in shown) or (not r.answerable and id(r) not in shown)]
    return len(good) / len(rows) if rows else 0.0


def best_risk(rows: Sequence[Example], features: Sequence[str], risks: Sequence[float] = RISKS) -> float:
    """The stated risk under which the most of `rows` pass, the lowest on a tie: chosen on the training runs."""
    reached = [r for r in rows if r.reached]
    scored = [(passed(rows, kept(fit(rows, features, risk), reached)), -risk) for risk in risks]
    return -max(scored)[1]


def auroc(p: np.ndarray, right: np.ndarray) -> float | None:
    """Probability that a right answer outranks a wrong one."""
    pos, neg = p[right], p[~right]
    if not len(pos) or not len(neg):
        return None
    return round(float(((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum())
                       / (len(pos) * len(neg))), 4)


def features_of(rows: Sequence[Example]) -> list[str]:
    """The judged signals (`qa.signals.JUDGED`) present and not constant among the examples, in a stable order."""
    from qa.signals import JUDGED

    names = sorted({k for r in rows for k in r.signals} & set(JUDGED))
    return [n for n in names if len({r.signals.get(n) for r in rows if r.reached}) > 1]


def ablation(train: Sequence[Example], test: Sequence[Example], features: Sequence[str],
             risk: float = RISK) -> list[dict[str, Any]]:
    """The judge with every signal, with each one left out in turn, and with none (all kept): fitted on `train`,
    its thresholds set on `train`, scored on `test`."""
    rows = []
    reached = [r for r in test if r.reached]
    right = np.array([r.right for r in reached])
    for removed in ["", *features]:
        heads = fit(train, [f for f in features if f != removed], risk)
        rows.append({"removed": removed, "auroc": auroc(probabilities(heads, reached), right),
                     **score(test, kept(heads, reached))})
    rows.append({"removed": "judge", "auroc": None, **score(test, None)})
    return rows


def frontier(train: Sequence[Example], test: Sequence[Example], features: Sequence[str],
             risks: Sequence[float]) -> list[dict[str, Any]]:
    """The judge at each stated risk: its threshold set on `train`, scored on `test`. The stated risk is the product's
    choice between answering and declining; this table is what each choice costs on held-out questions."""
    reached = [r for r in test if r.reached]
    out = []
    for risk in risks:
        heads = fit(train, features, risk)
        out.append({"risk_stated": risk, "threshold": heads["answers"]["threshold"],
                    **score(test, kept(heads, reached))})
    return out


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


def train(documents: Sequence[tuple[dict[str, Any], str]], out: Path, command: str, risk: float | None = RISK,
          features: Sequence[str] | None = None, keep: Callable[[dict[str, Any]], bool] = lambda q: True) -> dict:
    """Fit one family's judge on runs [(results document, generator)] and write it to `out`.

    `keep` picks the questions of a run that may train (the seeds' even half)."""
    from qa.judge import EXTRACTIVE, LANGUAGE_MODEL

    rows = [e for document, generator in documents
            for e in examples({**document, "questions": [q for q in document["questions"] if keep(q)]}, generator)]
    features = list(features or features_of(rows))
    risk = best_risk(rows, features) if risk is None else risk
    heads = fit(rows, features, risk)
    reached = [r for r in rows if r.reached]
    generator = documents[0][1]
    trained = {"on": [described(d) for d, _ in documents],
               "generator": generator, "examples": len(reached), "answerable": sum(r.answerable for r in reached),
               "right": sum(r.right for r in reached), "risk": risk,
               "command": command, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "auroc": auroc(probabilities(heads, reached), np.array([r.right for r in reached]))}
    family = EXTRACTIVE if generator == "extractive" else LANGUAGE_MODEL
    write_weights(out, family, heads, trained)
    return {**heads, "trained": trained}


def described(document: dict[str, Any]) -> str:
    """A training run as the weights file names it: the built set's flags, or the set's file and its half."""
    recipe = document["run"].get("recipe") or {}
    return f"citeqa eval {recipe['flags']}" if recipe.get("flags") else \
        f"{Path(document['run']['set']).name}, the tune half (even question ids)"


def _trains(document: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """The questions of a run that may train: all of a built set drawn from the tune half, the even ids of any
    other set (the seeds), so that the other half still reports."""
    from eval.dataset import in_half

    if document["run"].get("recipe"):
        if "--half tune" not in document["run"]["recipe"].get("flags", ""):
            raise ValueError(f"{document['run']['set']}: train the judge on a set drawn with --half tune only")
        return lambda q: True
    return lambda q: in_half(q["id"], 0)


def main(argv: list[str] | None = None) -> int:
    """`python -m eval.calibrate train|ablation RESULTS...`: what `make judge` runs."""
    import argparse

    from qa.judge import WEIGHTS

    parser = argparse.ArgumentParser(prog="python -m eval.calibrate", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("train", "ablation", "frontier"))
    parser.add_argument("runs", nargs="+", type=Path, help="results.json of runs made with --config judge=false")
    parser.add_argument("--test", type=Path, help="ablation: the results.json scored (the check half)")
    parser.add_argument("--generator", nargs="+", default=["default", "extractive"])
    parser.add_argument("--risk", type=float, nargs="+",
                        help="the stated risk (default: of " + ", ".join(map(str, RISKS)) + ", the one under which the "
                             "most training questions pass); frontier: each of several")
    parser.add_argument("--drop", nargs="*", default=[], help="signals left out of the judge")
    parser.add_argument("--out", type=Path, default=WEIGHTS, help=f"weights file (default {WEIGHTS})")
    args = parser.parse_args(argv)
    documents = [json.loads(path.read_text(encoding="utf-8")) for path in args.runs]
    for generator in args.generator:
        picked = [({**d, "questions": [q for q in d["questions"] if _trains(d)(q)]}, generator) for d in documents
                  if generator in d["run"]["generators"]]
        if not picked:
            continue
        if args.command == "train":
            rows = [e for d, g in picked for e in examples(d, g)]
            heads = train(picked, args.out, "make judge", args.risk[0] if args.risk else None,
                          [f for f in features_of(rows) if f not in args.drop])
            t = heads["trained"]
            print(f"{generator}: {t['examples']} examples ({t['answerable']} answerable, {t['right']} right), stated "
                  f"risk {t['risk']}, AUROC "
                  f"{t['auroc']}; threshold of P(the documents answer) {heads['answers']['threshold']} -> {args.out}")
        else:
            if args.test is None:
                parser.error(f"{args.command} needs --test RESULTS")
            rows = [e for d, g in picked for e in examples(d, g)]
            test = examples(json.loads(args.test.read_text(encoding="utf-8")), generator)
            features = [f for f in features_of(rows) if f not in args.drop]
            print(f"{generator}: trained on {len(rows)} questions, scored on {len(test)} ({args.test})")
            if args.command == "frontier":
                print(f"{'risk':>5} {'threshold':>9} {'contains':>9} {'abst: answerable':>17} "
                      f"{'abst: unanswerable':>19} {'abst: near-miss':>16}")
                for row in frontier(rows, test, features, args.risk or RISKS):
                    near = row["near_miss_abstained"]
                    print(f"{row['risk_stated']:>5.2f} {row['threshold']:>9.4f} {row['containment']:>9.1%} "
                          f"{row['answerable_abstained']:>17.1%} {row['unanswerable_abstained']:>19.1%} "
                          f"{'n/a' if near is None else format(near, '.1%'):>16}")
                continue
            print(f"{'removed':<14} {'AUROC':>6} {'contains':>9} {'abst: answerable':>17} {'abst: unanswerable':>19} "
                  f"{'abst: near-miss':>16}")
            risk = args.risk[0] if args.risk else best_risk(rows, features)
            print(f"stated risk {risk}")
            for row in ablation(rows, test, features, risk):
                near = row["near_miss_abstained"]
                print(f"{row['removed'] or '(none)':<14} {row['auroc'] or 0:>6.3f} {row['containment']:>9.1%} "
                      f"{row['answerable_abstained']:>17.1%} {row['unanswerable_abstained']:>19.1%} "
                      f"{'n/a' if near is None else format(near, '.1%'):>16}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
