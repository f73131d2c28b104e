"""Question sets: validation errors name the line; the seeds set meets the issue's requirements."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.dataset import DEFAULT_SET, DatasetError, check_evidence, evidence_spans, load_set, parse_lines

REPO = Path(__file__).resolve().parents[1]
GOOD = {"id": "q1", "question": "How old?", "answers": ["24"], "type": "number", "source": "a.txt",
        "evidence": "Mr Kaba, 24, died"}


def lines(*rows: object) -> list[str]:
    return [row if isinstance(row, str) else json.dumps(row) for row in rows]


def test_a_valid_line_becomes_a_question():
    (question,) = parse_lines(lines(GOOD))
    assert (question.id, question.answers, question.answerable, question.line) == ("q1", ("24",), True, 1)


def test_invalid_json_names_the_line():
    with pytest.raises(DatasetError, match=r"set\.jsonl:2: not valid JSON"):
        parse_lines(lines(GOOD, '{"id": "q2",'), "set.jsonl")


def test_a_missing_key_is_named():
    row = {k: v for k, v in GOOD.items() if k != "answers"}
    with pytest.raises(DatasetError, match=r":1: missing `answers`"):
        parse_lines(lines(row))


def test_an_unknown_key_is_rejected_so_typos_do_not_pass_silently():
    with pytest.raises(DatasetError, match=r"unknown key `answer`"):
        parse_lines(lines({**GOOD, "answer": "24"}))


def test_a_duplicate_id_names_both_lines():
    with pytest.raises(DatasetError, match=r":3: duplicate id 'q1' \(first used on line 1\)"):
        parse_lines(lines(GOOD, "", GOOD))


def test_an_answerable_question_needs_evidence():
    with pytest.raises(DatasetError, match=r"`evidence` is missing"):
        parse_lines(lines({**GOOD, "evidence": ""}))


def test_an_unanswerable_question_needs_no_source_or_evidence():
    (question,) = parse_lines(lines({"id": "u", "question": "Middle name?", "answers": [], "type": "unanswerable",
                                     "answerable": False}))
    assert not question.answerable and question.evidence == ""


def test_an_unanswerable_question_must_not_list_answers():
    with pytest.raises(DatasetError, match="must have no answers"):
        parse_lines(lines({**GOOD, "answerable": False}))


def test_answerable_must_be_a_boolean():
    with pytest.raises(DatasetError, match="`answerable` must be true or false"):
        parse_lines(lines({**GOOD, "answerable": "no"}))


def test_evidence_spans_tolerate_different_white_space():
    assert evidence_spans("a  b\nc d", "b c") == [(3, 6)]


def test_seeds_set_has_enough_questions_of_each_kind():
    questions = load_set().questions
    types = {q.type for q in questions}
    assert len(questions) >= 80
    assert sum(not q.answerable for q in questions) >= 15
    assert {"number", "date", "person", "place", "organisation", "who_said", "multi_sentence", "cross_document",
            "conflict"} <= types


def test_every_seeds_evidence_quote_appears_verbatim_in_its_source():
    assert DEFAULT_SET.is_file()
    assert check_evidence(load_set().questions, REPO / "seeds") == []


def test_check_evidence_reports_a_quote_that_is_not_in_the_source(tmp_path: Path):
    (tmp_path / "a.txt").write_text("Mr Kaba, 25, died", encoding="utf-8")
    (problem,) = check_evidence(parse_lines(lines(GOOD)), tmp_path)
    assert problem.startswith("q1: evidence not found verbatim in a.txt")
