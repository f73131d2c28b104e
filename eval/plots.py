"""PNG plots for the report, drawn with matplotlib's Agg backend (no display; works on a server or in CI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import numpy as np  # noqa: E402

from eval.metrics import STAGES  # noqa: E402

SCORES_PNG = "scores_by_type.png"
LATENCY_PNG = "latency.png"
COVERAGE_RISK_PNG = "coverage_risk.png"


def _grouped_bars(ax, groups: list[str], series: dict[str, list[float]], title: str, ylabel: str) -> None:
    positions = np.arange(len(groups))
    width = 0.8 / max(1, len(series))
    for n, (label, values) in enumerate(series.items()):
        offset = (n - (len(series) - 1) / 2) * width
        bars = ax.bar(positions + offset, values, width, label=label)
        ax.bar_label(bars, labels=[f"{v:.0%}" for v in values], fontsize=6, padding=1)
    ax.set_xticks(positions, [g.replace("_", " ") for g in groups], rotation=25, ha="right")
    ax.set_ylim(0, 1.3)  # headroom above the 100% labels for the legend
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper right", ncols=max(1, len(series)))


def plot_scores_by_type(document: dict[str, Any], path: Path) -> Path:
    """Top: share of questions passed per type and generator. Bottom: retrieval recall@5 per type and mode."""
    types = list(dict.fromkeys(q["type"] for q in document["questions"]))
    answers = document["by_type"]["answers"]
    retrieval = document["by_type"]["retrieval"]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7.5), constrained_layout=True)
    _grouped_bars(top, types, {name: [rows[t]["pass_rate"] for t in types] for name, rows in answers.items()},
                  "Questions passed, by type (correct and fully cited; for unanswerable: abstained)", "passed")
    kinds = [t for t in types if any(t in rows for rows in retrieval.values())]
    _grouped_bars(bottom, kinds, {mode: [rows[t]["recall@5"] for t in kinds] for mode, rows in retrieval.items()},
                  "Retrieval recall@5 by type (evidence among the top 5 passages)", "recall@5")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_latency(document: dict[str, Any], path: Path) -> Path:
    """One box plot per generator: the distribution of each stage's seconds over the questions."""
    generators = document["run"]["generators"]
    fig, axes = plt.subplots(1, len(generators), figsize=(5 * len(generators) + 1, 4.2), sharey=True,
                             constrained_layout=True, squeeze=False)
    for ax, name in zip(axes[0], generators, strict=True):
        stages, values = [], []
        for stage in STAGES:
            seconds = [q["results"][name]["timings"][stage] * 1000 for q in document["questions"]
                       if stage in q["results"].get(name, {}).get("timings", {})]
            if seconds:
                stages.append(stage)
                values.append([max(s, 0.01) for s in seconds])  # log axis: no zeros
        if values:
            ax.boxplot(values, tick_labels=stages, showfliers=True)
        ax.set_yscale("log")
        ax.set_title(f"{name}: latency per stage", fontsize=10)
        ax.set_ylabel("milliseconds (log scale)")
        ax.grid(axis="y", alpha=0.3, which="both")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def judged(document: dict[str, Any], generator: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(probability, right) of every answer the judge weighed, and the number of questions."""
    from eval.calibrate import examples

    rows = {e.question: e for e in examples(document, generator)}
    pairs = [(q["results"][generator]["probability"], rows[q["question"]].right) for q in document["questions"]
             if q["question"] in rows and q["results"][generator].get("probability") is not None]
    return (np.array([p for p, _ in pairs], dtype=float), np.array([r for _, r in pairs], dtype=bool),
            len(document["questions"]))


def coverage_risk(p: np.ndarray, right: np.ndarray, questions: int) -> tuple[np.ndarray, np.ndarray]:
    """As the threshold falls: the share of all questions answered, and the share of those answers that are wrong."""
    order = np.argsort(-p)
    answered = np.arange(1, len(p) + 1)
    return answered / max(1, questions), np.cumsum(~right[order]) / answered


def near_miss_part(document: dict[str, Any]) -> dict[str, Any] | None:
    """The answerable and near-miss questions alone: the judge's trade where every unanswerable question looks
    answerable (its subject is in the documents). None when the run has no near-miss question."""
    questions = [q for q in document["questions"] if q["answerable"] or q.get("type") == "near_miss"]
    if len(questions) == sum(q["answerable"] for q in questions):
        return None
    return {**document, "questions": questions}


def plot_coverage_risk(document: dict[str, Any], path: Path) -> Path | None:
    """The judge's trade: answering more questions (coverage) against answering more of them wrong (risk), on
    every question, and dashed on the answerable and near-miss ones alone."""
    near = near_miss_part(document)
    curves = {(name, part): judged(doc, name) for name in document["run"]["generators"]
              for part, doc in (("all", document), ("near-miss", near)) if doc is not None}
    curves = {key: c for key, c in curves.items() if len(c[0])}
    if not curves:
        return None
    fig, ax = plt.subplots(figsize=(6, 4.2), constrained_layout=True)
    colours: dict[str, str] = {}
    for (name, part), (p, right, questions) in curves.items():
        coverage, risk = coverage_risk(p, right, questions)
        label = name if part == "all" else f"{name}: answerable and near-miss only"
        line, = ax.plot(coverage, risk, "--" if part != "all" else "-", label=label, color=colours.get(name))
        colours.setdefault(name, line.get_color())
        doc = document if part == "all" else near
        shown = [not q["results"][name]["abstained"] for q in doc["questions"]
                 if q["results"].get(name, {}).get("probability") is not None]
        if shown and any(shown):
            kept = sum(shown)
            ax.plot([kept / questions], [risk[kept - 1]], "o", color=line.get_color())
    ax.set_xlabel("coverage: share of questions answered")
    ax.set_ylabel("risk: share of answers that are wrong")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, max(0.5, ax.get_ylim()[1]))
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.grid(alpha=0.3)
    ax.set_title("The answer judge: coverage against risk (dot: this run's threshold)", fontsize=10)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_plots(document: dict[str, Any], folder: Path) -> list[Path]:
    drawn = [plot_scores_by_type(document, folder / SCORES_PNG), plot_latency(document, folder / LATENCY_PNG),
             plot_coverage_risk(document, folder / COVERAGE_RISK_PNG)]
    return [p for p in drawn if p is not None]
