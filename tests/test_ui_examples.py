"""Example questions: the seed questions only for the seed corpus; otherwise derived from the documents,
and offered only when the assistant answers them with a citation. Invented articles, extractive generator."""

from __future__ import annotations

import shutil

import pytest

from tests.support import FERRY_AND_GARDEN, write_corpus
from ui import examples as ex

ARTICLES = FERRY_AND_GARDEN


@pytest.fixture
def assistant(tmp_path, embedder):
    from qa.assistant import Assistant

    corpus = write_corpus(tmp_path / "articles", ARTICLES)
    made = Assistant(index_dir=tmp_path / "idx", generator="extractive", embedder=embedder)
    made.add([corpus])
    return made


def test_names_are_ranked_by_mentions():
    text = "Ada Lune met Bo Rask. Later Ada Lune left. The Grand Hotel closed."
    assert ex.names(text) == ["Ada Lune", "Bo Rask", "Grand Hotel"]


def test_a_name_needs_two_words_once_leading_words_are_dropped():
    assert ex.names("In Paris. The Mayor spoke. Mr Holt left. Mr Jon Holt stayed.") == ["Jon Holt"]


@pytest.mark.parametrize("text", ["Dr Holt spoke.", "Jon Holt said it rained.", "said Jon Holt.",
                                  "Jon Holt, 41, lives here."])
def test_a_name_written_as_a_persons(text):
    assert ex.is_person("Jon Holt", text)


def test_a_place_is_not_a_person():
    assert not ex.is_person("Grand Hotel", "The Grand Hotel closed in May.")


def test_questions_about_a_person_and_a_place():
    questions = ex.questions_about(ARTICLES["ferry.txt"])
    assert questions == [ex.Candidate("What do the documents say about Kelby Ferry?", "Kelby Ferry"),
                         ex.Candidate("Who is Ines Marlow?", "Ines Marlow")]


def test_the_seed_corpus_is_recognised_by_content(tmp_path):
    seeds = tmp_path / "seeds"
    shutil.copytree(ex.SEEDS, seeds)
    documents = [type("Info", (), {"sha256": ex.file_hash(p)})() for p in seeds.iterdir()]
    assert ex.is_seed_corpus(documents)
    extra = type("Info", (), {"sha256": "0" * 64})()
    assert not ex.is_seed_corpus([*documents, extra])


def test_other_documents_get_questions_about_them_not_the_seed_questions(assistant):
    questions = [c.question for c in ex.candidates(assistant, assistant.documents())]
    assert "What do the documents say about Dunmore Botanic Garden?" in questions
    assert not set(questions) & set(ex.SEED_EXAMPLES)


def test_only_cited_answers_are_offered(assistant):
    finder = ex.ExampleFinder(assistant, fixed=["When did the Kelby Ferry resume its crossings?",
                                                "What is the boiling point of mercury?"])
    assert finder.wait(60) == ["When did the Kelby Ferry resume its crossings?"]


def test_a_derived_question_is_offered_only_when_its_citation_names_the_subject(assistant):
    assert ex.answers(assistant, ex.Candidate("Who is Ines Marlow?", "Ines Marlow"))
    assert not ex.answers(assistant, ex.Candidate("Who is Ines Marlow?", "Ada Lune"))


def test_every_derived_example_is_answered_with_a_citation(assistant):
    found = ex.ExampleFinder(assistant).wait(60)
    assert found
    for question in found:
        answer = assistant.ask(question)
        assert not answer.abstained and answer.citations, question


def test_examples_are_found_once_per_index_generation(assistant, monkeypatch, tmp_path):
    asked = []
    real = assistant.ask
    monkeypatch.setattr(assistant, "ask", lambda q, **kw: (asked.append(q), real(q, **kw))[1])
    finder = ex.ExampleFinder(assistant, fixed=["When did the Kelby Ferry resume its crossings?"])
    finder.wait(60)
    finder.wait(60)
    assert len(asked) == 1
    assistant.add([write_corpus(tmp_path / "more", {"mill.txt": "Mill news\nThe Orrin Mill reopened.\n"})])
    assert finder.current() is None  # a new generation: asked again
    finder.wait(60)
    assert len(asked) == 2
