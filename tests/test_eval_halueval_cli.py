"""`citeqa eval --set halueval` wiring: the flags, the output folder, and one whole run on invented rows."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from eval import cli, halueval
from eval.halueval import SetSpec
from tests.support import invented_rows, write_jsonl


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_halueval_names_the_built_set():
    assert cli.named_set(parse("--set", "halueval")) == "halueval"


def test_a_file_is_not_a_named_set():
    assert cli.named_set(parse("--set", "questions.jsonl")) is None


def test_the_size_flags_make_the_spec():
    assert cli.set_spec(parse("--set", "halueval", "--answerable", "16", "--unanswerable", "8", "--near-miss", "4",
                              "--passages", "200", "--half", "check")) == SetSpec(16, 8, 200, "check", near_miss=4)


def test_no_flags_give_the_default_spec():
    assert cli.set_spec(parse("--set", "halueval")) == SetSpec()


def test_size_flags_with_another_set_are_an_error():
    with pytest.raises(ValueError, match="--answerable only apply to --set halueval"):
        cli.set_spec(parse("--answerable", "5"))


def test_a_corpus_with_the_halueval_set_is_an_error():
    with pytest.raises(ValueError, match="builds its own corpus"):
        cli.set_spec(parse("--set", "halueval", "--corpus", "docs"))


def test_the_halueval_run_has_its_own_default_output_folder():
    assert cli.output_folder(parse("--set", "halueval")) == Path("eval-out/halueval")


def test_the_seeds_run_keeps_its_output_folder():
    assert cli.output_folder(parse()) == Path("eval-out")


@pytest.fixture(scope="module")
def halueval_run(tmp_path_factory) -> Path:
    """One extractive run of `--set halueval` on 40 invented rows (dev rows 0-29), as the CLI does it."""
    root = tmp_path_factory.mktemp("halueval-cli")
    data = write_jsonl(root / "qa.jsonl", invented_rows(40))
    (root / "dev_ids.txt").write_text("".join(f"{n}\n" for n in range(30)), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:  # the invented rows stand in for the wheel's
        patch.setattr(halueval, "load_rows", lambda: halueval.read_rows(data))
        patch.setattr(halueval, "DEV_IDS", root / "dev_ids.txt")
        out = root / "out"
        args = parse("--set", "halueval", "--answerable", "4", "--unanswerable", "2", "--near-miss", "2",
                     "--passages", "12", "--out", str(out), "--no-progress")
        assert cli.main(args) == 0
    return out


def test_the_run_writes_report_results_and_plots(halueval_run: Path):
    for name in ("report.md", "results.json", "scores_by_type.png", "latency.png", "index/CURRENT"):
        assert (halueval_run / name).is_file(), name


def test_the_run_indexes_the_built_documents_only(halueval_run: Path):
    document = json.loads((halueval_run / "results.json").read_text(encoding="utf-8"))
    assert document["run"]["documents"] == 12 and len(document["questions"]) == 8


def test_the_run_scores_the_new_figures(halueval_run: Path):
    summary = json.loads((halueval_run / "results.json").read_text(encoding="utf-8"))["summary"]["answers"]["extractive"]
    assert {"false_abstention", "cites_source", "containment", "f1", "grounding"} <= set(summary)


def test_the_report_says_how_the_set_was_made_and_how_to_rerun_it(halueval_run: Path):
    report = (halueval_run / "report.md").read_text(encoding="utf-8")
    assert "## The question set" in report and "### Targets" in report
    assert f"citeqa eval {SetSpec(4, 2, 12, near_miss=2).flags()} --out {halueval_run}" in report
