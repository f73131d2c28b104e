"""Write one run to a folder: results.json (every question, every configuration), PNG plots, and report.md.

The report is for people: what was measured, the scores side by side, what changed since the previous
run in the same folder, and each failure with the question, the expected answer and what came back.
Everything in it is computed from the results document, so the report never disagrees with the JSON.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.compare import Comparison, compare, load_previous
from eval.plots import LATENCY_PNG, SCORES_PNG, write_plots
from eval.runner import EvalRun
from eval.summary import results_document

RESULTS_JSON = "results.json"
PREVIOUS_JSON = "results.previous.json"
REPORT_MD = "report.md"
MODE_NAMES = {"dense": "dense only (MiniLM embeddings)", "keyword": "keyword only (BM25)",
              "hybrid": "hybrid (dense + BM25, RRF)"}


@dataclass(frozen=True, slots=True)
class Written:
    report: Path
    results: Path
    plots: tuple[Path, ...]
    document: dict[str, Any]
    comparison: Comparison | None


def pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value * 100:.{digits}f}%"


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _table(header: list[str], rows: list[list[str]], align: str | None = None) -> list[str]:
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def _latency(summary: dict[str, Any], stage: str, key: str) -> float | None:
    return summary.get("latency", {}).get(stage, {}).get(key)


def answers_table(document: dict[str, Any]) -> list[str]:
    rows = []
    for name, s in document["summary"]["answers"].items():
        rows.append([f"**{name}**", f"{s['passed']}/{s['questions']} ({pct(s['pass_rate'])})", pct(s["containment"]),
                     pct(s["exact_match"]), pct(s["f1"]), pct(s["abstention_precision"]), pct(s["abstention_recall"]),
                     ms(_latency(s, "total", "p50")), ms(_latency(s, "total", "p95"))])
    return _table(["Generator", "Passed", "Contains answer", "Exact match", "Token F1", "Abstention precision",
                   "Abstention recall", "p50 latency", "p95 latency"], rows)


def citations_table(document: dict[str, Any]) -> list[str]:
    rows = []
    for name, s in document["summary"]["answers"].items():
        rows.append([f"**{name}**", pct(s["citation_recall"]), pct(s["citation_precision"]), pct(s["grounding"]),
                     f"{pct(s['conflict'])} of {s['conflict_questions']}" if s["conflict_questions"] else "n/a"])
    return _table(["Generator", "Citation recall", "Citation precision", "Grounding", "Conflict reported"], rows)


def abstention_table(document: dict[str, Any]) -> list[str]:
    rows = []
    for name, s in document["summary"]["answers"].items():
        unanswerable = s["abstained_unanswerable"] + s["answered_unanswerable"]
        near = s.get("near_miss", 0)
        rows.append([f"**{name}**", f"{pct(s['abstention_recall'])} of {unanswerable}" if unanswerable else "n/a",
                     f"{pct(s['near_miss_abstained'])} of {near}" if near else "n/a",
                     f"{pct(s['false_abstention'])} of {s['answerable']}" if s["answerable"] else "n/a",
                     pct(s["abstention_precision"]), pct(s["cites_source"]), pct(s.get("cites_statement")),
                     pct(s["grounding"])])
    return _table(["Generator", "Abstained: unanswerable", "Abstained: near-miss", "Abstained: answerable",
                   "Abstention precision", "Cites its own document", "Cites the sentence that states it",
                   "Grounding"], rows)


TARGET_NAMES = {"abstention_recall": "unanswerable questions abstained on", "containment": "contains the answer",
                "near_miss_abstained": "near-miss questions abstained on",
                "false_abstention": "answerable questions abstained on", "grounding": "citations grounded"}


def ablation_table(document: dict[str, Any]) -> list[str]:
    """Each answer check off in turn, per generator: what it costs in answers and what it buys in abstentions."""
    rows = []
    for name, table in document["summary"].get("ablation", {}).items():
        for row in table:
            removed = {"": "all checks on", "all": "no checks"}.get(row["removed"], f"without {row['removed']}")
            rows.append([f"`{name}`", removed, pct(row["containment"]), pct(row["answerable_abstained"]),
                         pct(row["unanswerable_abstained"])])
    if not rows:
        return ["No generator recorded check verdicts."]
    return _table(["generator", "checks", "contains answer", "abstained: answerable", "abstained: unanswerable"],
                  rows, "llrrr")


def targets_table(document: dict[str, Any], targets: dict[str, list[Any]]) -> list[str]:
    """Each target of a built set against every generator's score: met, missed, or n/a."""
    generators = list(document["summary"]["answers"])
    rows = []
    for metric, (op, goal) in targets.items():
        cells = []
        for name in generators:
            value = document["summary"]["answers"][name].get(metric)
            met = value is not None and (value >= goal if op == ">=" else value <= goal)
            cells.append("n/a" if value is None else f"{pct(value)} ({'met' if met else 'missed'})")
        rows.append([TARGET_NAMES.get(metric, metric), f"{'≥' if op == '>=' else '≤'} {pct(goal, 0)}", *cells])
    return _table(["Score", "Target", *generators], rows, "lr" + "r" * len(generators))


def question_set(document: dict[str, Any]) -> list[str]:
    """How a built set was made (`run.recipe`), with its targets; nothing for a set read from a file."""
    recipe = document["run"].get("recipe") or {}
    if not recipe:
        return []
    lines = ["## The question set", "", *recipe.get("notes", []), ""]
    if recipe.get("targets"):
        lines += ["### Targets", "", *targets_table(document, recipe["targets"]), ""]
    return lines


def retrieval_table(document: dict[str, Any]) -> list[str]:
    rows = []
    for mode, s in document["summary"]["retrieval"].items():
        rows.append([f"**{MODE_NAMES.get(mode, mode)}**", pct(s["recall@1"]), pct(s["recall@3"]), pct(s["recall@5"]),
                     pct(s["recall@10"]), f"{s['mrr']:.3f}"])
    return _table(["Retrieval", "Recall@1", "Recall@3", "Recall@5", "Recall@10", "MRR@10"], rows)


def type_table(document: dict[str, Any], generator: str) -> list[str]:
    retrieval = document["by_type"]["retrieval"].get("hybrid") or next(iter(document["by_type"]["retrieval"].values()),
                                                                        {})
    rows = []
    for kind, s in document["by_type"]["answers"][generator].items():
        abstained = s["abstained_unanswerable"] + s["abstained_answerable"]
        recall = retrieval.get(kind, {}).get("recall@5")
        rows.append([kind.replace("_", " "), str(s["questions"]), f"{s['passed']} ({pct(s['pass_rate'], 0)})",
                     pct(s["containment"], 0), pct(s["f1"], 0), pct(s["citation_recall"], 0),
                     f"{abstained} ({pct(abstained / s['questions'], 0)})", pct(recall, 0)])
    return _table(["Type", "Questions", "Passed", "Contains answer", "Token F1", "Citation recall", "Abstained",
                   "Recall@5"], rows)


def latency_table(document: dict[str, Any]) -> list[str]:
    rows = []
    for name, s in document["summary"]["answers"].items():
        for stage, row in s["latency"].items():
            rows.append([name, stage, ms(row["p50"]), ms(row["p95"]), ms(row["mean"]), str(row["count"])])
    return _table(["Generator", "Stage", "p50", "p95", "Mean", "Answers"], rows, "llrrrr")


def _quote(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return "“" + (text if len(text) <= limit else text[:limit - 1] + "…") + "”"


def failures(document: dict[str, Any], generator: str) -> list[str]:
    failed = [q for q in document["questions"] if not q["results"][generator]["passed"]]
    lines = [f"### {generator}: {len(failed)} of {len(document['questions'])} questions failed", ""]
    if not failed:
        return lines + ["None.", ""]
    by_reason: dict[str, list[dict[str, Any]]] = {}
    for q in failed:
        by_reason.setdefault(q["results"][generator]["verdict"], []).append(q)
    for reason, items in sorted(by_reason.items(), key=lambda item: -len(item[1])):
        lines += [f"**{reason[0].upper() + reason[1:]}** ({len(items)})", ""]
        for q in items:
            outcome = q["results"][generator]
            expected = " · ".join(q["answers"]) if q["answerable"] else "an abstention (the documents don't say)"
            got = outcome["text"] if not outcome["error"] else f"error: {outcome['error']}"
            lines.append(f"- **{q['id']}** ({q['type'].replace('_', ' ')}) {q['question']}")
            lines.append(f"  - expected: {expected}")
            lines.append(f"  - got: {_quote(got)}")
            if outcome["abstained"] and outcome["reason"]:
                lines.append(f"  - why it abstained: {outcome['reason']}")
            for c in outcome["citations"][:3]:
                lines.append(f"  - [{c['marker']}] {c['source']} [{c['start']}:{c['end']}]")
            rank = q.get("retrieval", {}).get("hybrid", {}).get("rank")
            if q["answerable"] and "hybrid" in q.get("retrieval", {}):
                lines.append(f"  - evidence: {_quote(q['evidence'], 200)} "
                             + (f"(hybrid rank {rank})" if rank else "(not in the top passages)"))
        lines.append("")
    return lines


def changes(comparison: Comparison | None) -> list[str]:
    lines = ["## Changes since the previous run", ""]
    if comparison is None:
        return lines + ["No previous run in this folder: this run is the baseline for the next one.", ""]
    lines.append(f"Compared with the run of {comparison.previous_started} on {comparison.shared_questions} shared "
                 "questions.")
    if not comparison.same_questions:
        lines.append("That run measured a different set or a different number of questions, so only the shared "
                     "questions are compared, not the overall scores.")
    lines.append("")
    if comparison.drops:
        lines += ["**Scores that got worse**", ""]
        lines += _table(["Configuration", "Metric", "Before", "Now", "Change"],
                        [[m.configuration, m.metric, pct(m.before), pct(m.after) if m.metric != "mrr" else f"{m.after:.3f}",
                          f"{m.delta * 100:+.1f} pts"] for m in comparison.drops], "llrrr")
        lines.append("")
    if comparison.regressions:
        lines += [f"**Regressions: {len(comparison.regressions)} questions passed before and fail now**", ""]
        for c in comparison.regressions:
            lines += [f"- **{c.id}** ({c.configuration}) {c.question}", f"  - before: {c.before}",
                      f"  - now: {c.after}"]
        lines.append("")
    if not comparison.drops and not comparison.regressions:
        lines += ["**No regressions**: no question that passed before fails now, and no score dropped.", ""]
    if comparison.rises or comparison.fixes:
        lines += ["**Improvements**", ""]
        lines += [f"- {m.configuration}: {m.metric} {pct(m.before)} → {pct(m.after)}" for m in comparison.rises]
        lines += [f"- {c.configuration}: **{c.id}** now passes ({c.question})" for c in comparison.fixes]
        lines.append("")
    return lines


def data_problems(document: dict[str, Any]) -> list[str]:
    missing = [q for q in document["questions"] if q["answerable"] and not q["evidence_found"]]
    if not missing:
        return []
    lines = ["## Problems with the question set", "",
             f"{len(missing)} evidence quotes were not found in the indexed text of their source, so retrieval "
             "cannot find them by text. Check the source name and the quote:", ""]
    lines += [f"- **{q['id']}** {q['source']}: {_quote(q['evidence'], 120)}" for q in missing]
    return lines + [""]


def highlights(document: dict[str, Any]) -> list[str]:
    """A few sentences a reader can act on, computed from the summary: the best and the weakest."""
    answers = document["summary"]["answers"]
    retrieval = document["summary"]["retrieval"]
    lines = []
    ranked = sorted(answers.items(), key=lambda item: -item[1]["pass_rate"])
    best, top = ranked[0]
    others = ", ".join(f"{name} {pct(s['pass_rate'])}" for name, s in ranked[1:])
    lines.append(f"- **{best}** passes the most questions: {pct(top['pass_rate'])}" + (f" ({others})." if others else "."))
    if retrieval:
        modes = sorted(retrieval.items(), key=lambda item: (-item[1]["recall@5"], -item[1]["mrr"]))
        lines.append(f"- **{modes[0][0]}** retrieval finds the evidence most often: recall@5 "
                     f"{pct(modes[0][1]['recall@5'])}" + (" (" + ", ".join(
                         f"{m} {pct(s['recall@5'])}" for m, s in modes[1:]) + ")." if len(modes) > 1 else "."))
    for name, s in answers.items():
        unanswerable = s["abstained_unanswerable"] + s["answered_unanswerable"]
        if unanswerable:
            lines.append(f"- {name} answered {s['answered_unanswerable']} of {unanswerable} unanswerable questions "
                         f"instead of abstaining, and abstained on {s['abstained_answerable']} of {s['answerable']} "
                         "answerable ones.")
        kinds = [(kind, row) for kind, row in document["by_type"]["answers"][name].items()
                 if row["answerable"] and row["questions"] >= 3]
        weakest = sorted(kinds, key=lambda item: item[1]["pass_rate"])[:2]
        if weakest:
            lines.append(f"- {name} is weakest on " + " and ".join(
                f"{kind.replace('_', ' ')} questions ({pct(row['pass_rate'], 0)} passed)" for kind, row in weakest)
                + ".")
    return lines


def render(document: dict[str, Any], comparison: Comparison | None) -> str:
    run = document["run"]
    questions = document["questions"]
    answerable = sum(1 for q in questions if q["answerable"])
    limited = f" (the first {run['limit']}, by --limit)" if run["limit"] else ""
    recipe = run.get("recipe") or {}
    origin = f"the `{recipe['name']}` set" if recipe else f"`{Path(run['set']).name}`"
    lines = [
        "# citeqa evaluation", "",
        f"Run of {run['started'].replace('T', ' ').replace('+00:00', ' UTC')}: {len(questions)} questions{limited} from {origin} "
        f"({answerable} answerable, {len(questions) - answerable} that the documents do not answer), asked of "
        f"{run['documents']} indexed documents. Answers come from {', '.join(f'`{g}`' for g in run['generators'])} "
        f"with hybrid retrieval; retrieval is also measured dense-only and keyword-only. The run took "
        f"{run['seconds']:.0f} s on {run['machine']}.", "",
        *highlights(document), "",
        *question_set(document),
        "## Summary", "",
        "### Answers", "",
        *answers_table(document), "",
        "A question **passes** when the answer contains an acceptable answer and every answer sentence is supported "
        "by the sentences it cites, with each citation matching its document text exactly; an unanswerable question "
        "passes when the system abstains. *Contains answer* (the gold answer's words appear in a row in the answer), "
        "*exact match* and *token F1* use SQuAD normalisation, with number words as digits and one spelling per unit "
        "(\"three\" = \"3\", \"lbs\" = \"lb\", \"per cent\" = \"%\"); a yes/no gold answer counts only as the "
        "answer's first word. They are over answerable questions; exact match and F1 punish long answers, such as "
        "the extractive generator's whole sentences, even when they are right. *Abstention precision* is the share "
        "of abstentions that were on unanswerable questions; *abstention recall* the share of unanswerable questions "
        "abstained on. Latency is per answer, models loaded.", "",
        "### Abstention and sources", "",
        *abstention_table(document), "",
        "*Abstained: unanswerable* is abstention recall; *abstained: answerable* is the share of answerable "
        "questions abstained on (false abstention). *Cites its own document* is, of the answers to answerable "
        "questions that did not abstain, the share citing the question's own source document (its gold passage).", "",
        "### Citations", "",
        *citations_table(document), "",
        "In the sense of ALCE, over the answers that did not abstain: *citation recall* is the share of answer "
        "sentences supported by the union of the sentences they cite (the sentence's gold answer, or else all its "
        "content words, occur in the cited text); *citation precision* the share of citations that support their "
        "sentence alone or are needed for the union to; *grounding* the share of citations whose text equals the "
        "document at the cited offsets. *Conflict reported* is over the questions on which the documents disagree: "
        "the answer flags the conflict or names both sides.", "",
        "### The answer judge", "",
        *judge_lines(document), "",
        "### What each step that withholds answers does", "",
        *ablation_table(document), "",
        "Each such step switched off in turn, from this run: an answer then abstains only if another step withheld "
        "it, and reads as what the generator wrote. What each signal of the judge pays is measured by retraining "
        "without it (`python -m eval.calibrate`, the README's ablation table).", "",
        "### Retrieval", "",
        *retrieval_table(document), "",
        f"Over the {answerable} answerable questions: recall@k is the share whose evidence quote lies in one of the "
        "top k passages (white space normalised, or the passage covers most of the quote's span or lies inside it); "
        "MRR is the mean of 1/rank of the first such passage. Answers use the top 5 hybrid passages.", "",
        *changes(comparison),
        "## By question type", "",
        f"![Scores by question type]({SCORES_PNG})", "",
    ]
    for name in run["generators"]:
        lines += [f"### {name}", "", *type_table(document, name), ""]
    lines += ["*Recall@5* is hybrid retrieval's.", "",
              "## Latency", "", *latency_table(document), "",
              "Seconds per answer by stage, after the models are loaded (" + ", ".join(
                  f"{name} loaded in {s:.1f} s" for name, s in run["load_seconds"].items()) + "). An answer that "
              "abstains before generating has no generate or verify stage.", "",
              f"![Latency per stage]({LATENCY_PNG})", "",
              "## Failures", ""]
    for name in run["generators"]:
        lines += failures(document, name)
    lines += data_problems(document)
    lines += ["## Reproduce", "", "```", _command(run), "```", "",
              "Answering settings: " + ", ".join(f"{k} = {v}" for k, v in run.get("settings", {}).items()
                                                  if k != "index") + ".", "",
              "Index settings: " + ", ".join(f"{k} = {v}" for k, v in run.get("settings", {}).get("index", {}).items())
              + ".", ""]
    return "\n".join(lines)


def judge_lines(document: dict[str, Any]) -> list[str]:
    """Per generator: how well the judge's probability ranks right answers above wrong ones, and the plot."""
    from eval.calibrate import auroc
    from eval.plots import COVERAGE_RISK_PNG, judged

    lines = []
    for name in document["run"]["generators"]:
        p, right, questions = judged(document, name)
        if len(p):
            lines.append(f"- {name}: {len(p)} answers weighed, {int(right.sum())} of them right; the judge's "
                         f"probability ranks a right answer above a wrong one with AUROC {auroc(p, right)}.")
    if not lines:
        return ["No answer was weighed by a trained judge in this run."]
    return lines + ["", f"![Coverage against risk]({COVERAGE_RISK_PNG})"]


def _command(run: dict[str, Any]) -> str:
    recipe = run.get("recipe") or {}
    if recipe:  # a built set: its flags rebuild the same set and corpus in the same output folder
        parts = ["citeqa eval", recipe["flags"]]
        out = Path(recipe["folder"]).parent
        parts.append(f"--out {out}" if Path(run["index"]) == out / "index" else f"--out {out} --index {run['index']}")
    else:
        parts = ["citeqa eval", f"--set {run['set']}"]
        if run["corpus"]:
            parts.append(f"--corpus {run['corpus']}")
        parts.append(f"--index {run['index']}")
    parts.append("--generator " + " ".join(run["generators"]))
    if run["limit"]:
        parts.append(f"--limit {run['limit']}")
    if run.get("settings", {}).get("threads"):
        parts.append(f"--threads {run['settings']['threads']}")
    return " ".join(parts)


def summary_text(document: dict[str, Any]) -> str:
    """The summary as plain text for the terminal."""
    header = f"{'generator':<12} {'passed':>8} {'contains':>9} {'EM':>6} {'F1':>6} {'abst P':>7} {'abst R':>7} " \
             f"{'false ab':>8} {'own doc':>8} {'cit R':>6} {'cit P':>6} {'ground':>7} {'p50':>8} {'p95':>8}"
    lines = [header]
    for name, s in document["summary"]["answers"].items():
        lines.append(f"{name:<12} {pct(s['pass_rate']):>8} {pct(s['containment']):>9} {pct(s['exact_match'], 0):>6} "
                     f"{pct(s['f1'], 0):>6} {pct(s['abstention_precision'], 0):>7} "
                     f"{pct(s['abstention_recall'], 0):>7} {pct(s['false_abstention'], 0):>8} "
                     f"{pct(s['cites_source'], 0):>8} {pct(s['citation_recall'], 0):>6} "
                     f"{pct(s['citation_precision'], 0):>6} {pct(s['grounding'], 0):>7} "
                     f"{ms(_latency(s, 'total', 'p50')):>8} {ms(_latency(s, 'total', 'p95')):>8}")
    for name, table in document["summary"].get("ablation", {}).items():
        if table:
            lines += ["", f"{name}: each check off in turn   {'contains':>9} {'abst: answerable':>17} "
                          f"{'abst: unanswerable':>19}"]
            for row in table:
                label = {"": "all checks on", "all": "no checks"}.get(row["removed"], f"without {row['removed']}")
                lines.append(f"  {label:<32} {pct(row['containment']):>9} {pct(row['answerable_abstained']):>17} "
                             f"{pct(row['unanswerable_abstained']):>19}")
    lines += ["", f"{'retrieval':<12} {'R@1':>6} {'R@3':>6} {'R@5':>6} {'R@10':>6} {'MRR':>6}"]
    for mode, s in document["summary"]["retrieval"].items():
        lines.append(f"{mode:<12} {pct(s['recall@1'], 0):>6} {pct(s['recall@3'], 0):>6} {pct(s['recall@5'], 0):>6} "
                     f"{pct(s['recall@10'], 0):>6} {s['mrr']:>6.3f}")
    return "\n".join(lines)


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def write_run(run: EvalRun, out: str | Path) -> Written:
    """Compare with the previous results.json in `out`, then write results.json, the plots and report.md.

    The previous results are kept as results.previous.json, so the comparison can be read again later.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    document = results_document(run)
    results_path = out / RESULTS_JSON
    previous = load_previous(results_path)
    comparison = compare(previous, document) if previous is not None else None
    if comparison is not None:
        document["comparison"] = comparison.to_dict()
        _write_atomic(out / PREVIOUS_JSON, json.dumps(previous, indent=1, ensure_ascii=False))
    plots = write_plots(document, out)
    _write_atomic(results_path, json.dumps(document, indent=1, ensure_ascii=False))
    report_path = out / REPORT_MD
    _write_atomic(report_path, render(document, comparison))
    return Written(report_path, results_path, tuple(plots), document, comparison)
