"""The eval runner end to end on a tiny corpus with the extractive generator, and the regression check."""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import pytest

from eval import cli
from eval.compare import compare
from eval.dataset import load_set
from eval.runner import run_eval
from tests.support import write_corpus

ARTICLES = {
    "harbour.txt": "Harbour bridge reopens\nThe Harbour Bridge in Eastport reopened on 3 March 2021 after repairs "
                   "costing 12 million pounds. Mayor Alice Grant cut the ribbon at noon.\n"
                   "Traffic was light on the first day.\n",
    "library.md": "# Library wins award\n\nThe Westford public library won the national design award in 2019. "
                  "Its architect, Tomas Berg, said the building uses recycled timber.\n",
}
QUESTIONS = [
    {"id": "t1", "question": "When did the Harbour Bridge in Eastport reopen?", "answers": ["3 March 2021"],
     "type": "date", "source": "harbour.txt", "evidence": "reopened on 3 March 2021"},
    {"id": "t2", "question": "Who was the architect of the Westford public library?", "answers": ["Tomas Berg"],
     "type": "person", "source": "library.md", "evidence": "Its architect, Tomas Berg, said"},
    {"id": "t3", "question": "How much did the Harbour Bridge repairs cost?", "answers": ["12 million pounds"],
     "type": "number", "source": "harbour.txt", "evidence": "repairs costing 12 million pounds"},
    {"id": "t4", "question": "What is the name of the Westford head librarian?", "answers": [],
     "type": "unanswerable", "answerable": False},
]


def namespace(out: Path, corpus: Path, question_set: Path, *more: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(["--out", str(out), "--corpus", str(corpus), "--set", str(question_set),
                              "--no-progress", *more])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-eval")
    corpus = write_corpus(root / "corpus", ARTICLES)
    question_set = root / "set.jsonl"
    question_set.write_text("\n".join(json.dumps(q) for q in QUESTIONS) + "\n", encoding="utf-8")
    return {"root": root, "corpus": corpus, "set": question_set}


@pytest.fixture(scope="module")
def two_runs(tiny) -> Path:
    """The CLI run twice into the same --out: the second run compares itself with the first."""
    out = tiny["root"] / "out"
    assert cli.main(namespace(out, tiny["corpus"], tiny["set"])) == 0
    (out / "first.json").write_text((out / "results.json").read_text(encoding="utf-8"), encoding="utf-8")
    assert cli.main(namespace(out, tiny["corpus"], tiny["set"])) == 0
    return out


def test_the_cli_writes_report_results_and_plots(two_runs: Path):
    for name in ("report.md", "results.json", "scores_by_type.png", "latency.png", "index/CURRENT"):
        assert (two_runs / name).is_file(), name
    assert (two_runs / "scores_by_type.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_results_hold_every_question_for_every_configuration(two_runs: Path):
    document = json.loads((two_runs / "results.json").read_text(encoding="utf-8"))
    assert [q["id"] for q in document["questions"]] == ["t1", "t2", "t3", "t4"]
    t1 = document["questions"][0]
    assert set(t1["retrieval"]) == {"dense", "keyword", "hybrid"}
    assert set(t1["results"]) == {"extractive"}
    assert document["questions"][3]["retrieval"] == {}  # an unanswerable question has no evidence to find
    assert set(document["summary"]["retrieval"]) == {"dense", "keyword", "hybrid"}


def test_tiny_corpus_citations_are_grounded_and_evidence_is_retrieved(two_runs: Path):
    document = json.loads((two_runs / "results.json").read_text(encoding="utf-8"))
    summary = document["summary"]["answers"]["extractive"]
    assert summary["grounding"] == 1.0
    assert summary["citation_recall"] == 1.0  # the extractive answer is its cited sentence
    assert document["summary"]["retrieval"]["hybrid"]["recall@3"] == 1.0


def test_the_report_reads_as_a_document(two_runs: Path):
    report = (two_runs / "report.md").read_text(encoding="utf-8")
    for heading in ("# citeqa evaluation", "## Summary", "### Retrieval", "## Changes since the previous run",
                    "## By question type", "## Latency", "## Failures", "## Reproduce"):
        assert heading in report, heading
    assert "![Scores by question type](scores_by_type.png)" in report
    assert "| **extractive** |" in report


def test_a_second_run_compares_with_the_first(two_runs: Path):
    document = json.loads((two_runs / "results.json").read_text(encoding="utf-8"))
    assert document["comparison"]["shared_questions"] == 4
    assert document["comparison"]["regressions"] == []
    assert (two_runs / "results.previous.json").is_file()
    assert "No regressions" in (two_runs / "report.md").read_text(encoding="utf-8")


def test_compare_lists_a_question_that_passed_before_and_fails_now(two_runs: Path):
    previous = json.loads((two_runs / "first.json").read_text(encoding="utf-8"))
    current = copy.deepcopy(previous)
    before = next(q for q in previous["questions"] if q["results"]["extractive"]["passed"])
    after = next(q for q in current["questions"] if q["id"] == before["id"])
    after["results"]["extractive"].update(passed=False, verdict="wrong answer", text="Traffic was light.")
    current["summary"]["answers"]["extractive"]["pass_rate"] -= 0.25
    comparison = compare(previous, current)
    assert [(c.id, c.configuration) for c in comparison.regressions] == [(before["id"], "answers: extractive")]
    assert [m.metric for m in comparison.drops] == ["pass_rate"]


def test_compare_lists_evidence_that_fell_out_of_the_top_five(two_runs: Path):
    previous = json.loads((two_runs / "first.json").read_text(encoding="utf-8"))
    current = copy.deepcopy(previous)
    current["questions"][0]["retrieval"]["dense"]["rank"] = None
    (change,) = compare(previous, current).regressions
    assert (change.id, change.configuration, change.after) == ("t1", "retrieval: dense", "evidence not retrieved")


def test_compare_skips_score_changes_when_the_runs_measured_different_questions(two_runs: Path):
    previous = json.loads((two_runs / "first.json").read_text(encoding="utf-8"))
    current = copy.deepcopy(previous)
    current["questions"] = current["questions"][:2]
    current["summary"]["answers"]["extractive"]["pass_rate"] = 0.0
    comparison = compare(previous, current)
    assert not comparison.same_questions and comparison.drops == ()


def test_limit_runs_only_the_first_questions(tiny, two_runs: Path):
    run = run_eval(load_set(tiny["set"]), two_runs / "index", None, ["extractive"], limit=2, progress=False)
    assert [r.question.id for r in run.results] == ["t1", "t2"]
    assert run.info.limit == 2


def test_an_unknown_generator_fails_before_any_question_is_asked(tiny, two_runs: Path):
    with pytest.raises(Exception, match="no-such-model"):
        run_eval(load_set(tiny["set"]), two_runs / "index", None, ["no-such-model"], progress=False)


def test_default_index_lives_under_out_and_follows_the_seed_articles(tmp_path: Path):
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    index, corpus, sync = cli.resolve_sources(parser.parse_args(["--out", str(tmp_path)]))
    assert (index, corpus, sync) == (tmp_path / "index", cli.DEFAULT_CORPUS, True)
    assert (cli.DEFAULT_CORPUS / "000_6c2ea57114db306c.txt").is_file()


def test_a_users_existing_index_is_measured_as_it_is(tmp_path: Path, tiny, two_runs: Path):
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--out", str(tmp_path), "--index", str(two_runs / "index")])
    assert cli.resolve_sources(args) == (two_runs / "index", None, False)


def test_strict_exits_1_when_a_score_dropped_since_the_previous_run(tiny, two_runs: Path, tmp_path: Path):
    previous = json.loads((two_runs / "first.json").read_text(encoding="utf-8"))
    previous["summary"]["answers"]["extractive"]["f1"] = 1.0  # a doctored previous run with perfect token F1
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text(json.dumps(previous), encoding="utf-8")
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--out", str(out), "--index", str(two_runs / "index"), "--set", str(tiny["set"]),
                              "--no-progress", "--strict"])
    assert cli.main(args) == 1
    assert "f1" in (out / "report.md").read_text(encoding="utf-8").split("## Changes since the previous run")[1]


def test_a_question_that_raises_fails_without_counting_as_an_abstention():
    from eval.dataset import parse_question
    from eval.runner import failed_outcome

    question = parse_question({**QUESTIONS[3]}, "set:4")
    outcome = failed_outcome(question, "extractive", RuntimeError("boom"))
    assert outcome.verdict == "error: RuntimeError: boom"
    assert not outcome.abstained and not outcome.passed
