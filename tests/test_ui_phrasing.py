"""Example questions written from a document's own sentences, as a person would ask them. Invented text only."""

from __future__ import annotations

import pytest

from tests.support import FERRY_AND_GARDEN
from ui import phrasing as ph

FERRY = FERRY_AND_GARDEN["ferry.txt"]
GARDEN = FERRY_AND_GARDEN["garden.md"]


def questions(text: str) -> list[str]:
    return [c.question for group in ph.document_questions(text, 4) for c in group]


def test_names_are_ranked_by_mentions():
    text = "Ada Lune met Bo Rask. Later Ada Lune left. The Grand Hotel closed."
    assert ph.names(text) == ["Ada Lune", "Bo Rask", "Grand Hotel"]


def test_a_name_needs_two_words_once_leading_words_are_dropped():
    assert ph.names("In Paris. The Mayor spoke. Mr Holt left. Mr Jon Holt stayed.") == ["Jon Holt"]


def test_a_title_before_a_name_is_not_part_of_it():
    assert ph.names("Mayor Alice Grant cut the ribbon. Crowds cheered Alice Grant.") == ["Alice Grant"]


def test_a_possessive_is_not_part_of_a_name():
    assert ph.names("The Home Secretary’s review began. The Home Secretary spoke.") == ["Home Secretary"]


def test_part_of_a_longer_name_is_not_a_name_of_its_own():
    text = "The National Police Chiefs Council met. The National Police Coordination Centre helped."
    assert "National Police" not in ph.names(text)


@pytest.mark.parametrize("text", ["Dr Holt spoke.", "Jon Holt said it rained.", "said Jon Holt.",
                                  "Jon Holt, 41, lives here.", "Mayor Jon Holt opened it."])
def test_a_name_written_as_a_persons(text):
    assert ph.is_person("Jon Holt", text)


def test_a_place_is_not_a_person():
    assert not ph.is_person("Grand Hotel", "The Grand Hotel closed in May.")


def test_a_persons_name_is_asked_for_from_what_they_did():
    assert "Who said the crossings would run hourly?" in questions(FERRY)


def test_a_things_name_is_asked_for_by_its_kind():
    assert questions(GARDEN)[0] == "Which garden won the regional prize for its glasshouse?"


def test_a_place_beside_the_name_stays_in_the_question():
    text = "The Harbour Bridge in Eastport reopened on 3 March 2021. The Harbour Bridge is busy."
    assert questions(text)[0] == "Which bridge in Eastport reopened on 3 March 2021?"


def test_an_age_beside_a_name_is_asked_about():
    assert "How old is Ines Marlow?" in questions(FERRY)


def test_a_role_is_asked_about_as_who_holds_it():
    text = "The Home Secretary announced a review. Critics said the Home Secretary acted fast."
    assert questions(text) == ["Who is the Home Secretary?"]


def test_an_organisation_that_speaks_is_not_asked_about_as_a_person():
    text = "The Police Federation said officers were worried. The Police Federation met on Monday."
    assert "Who is Police Federation?" not in questions(text)


def test_no_question_asks_what_a_name_is():
    text = "Ada Lune, 40, sings. Ada Lune said it rained. The Grand Hotel is old. The Grand Hotel stands."
    assert not {"Who is Ada Lune?", "What is the Grand Hotel?"} & set(questions(text))


@pytest.mark.parametrize("text, asked", [
    ("The Dunmore Botanic Garden was founded in 1901. It grew.", "When was the Dunmore Botanic Garden founded?"),
    ("Ada Lune was arrested in Eastport. Ada Lune said so.", "Where was Ada Lune arrested?"),
    ("The Kelby Ferry was launched on 3 March. The Kelby Ferry sails.", "When was the Kelby Ferry launched?"),
])
def test_when_or_where_something_was_done_is_asked_for(text, asked):
    assert asked in questions(text)


def test_no_question_runs_into_a_quotation():
    text = "Mark Rowley said this area of law is “a mess”. Mark Rowley, 59, is commissioner."
    assert not any("“" in q or q.endswith(" is?") for q in questions(text))


def test_no_question_asks_what_the_documents_say():
    for text in (FERRY, GARDEN, "The Grand Hotel closed. Later the Grand Hotel reopened."):
        assert not any("documents say" in q for q in questions(text))


def test_a_name_no_question_fits_gets_none():
    assert ph.questions_about("Ada Lune", "Ada Lune. Ada Lune.") == []
