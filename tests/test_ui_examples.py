"""Example questions: the seed questions only for the seed corpus; otherwise written from the documents, and
offered only when answered with a citation; kept per set of documents, in memory and in the chat's file.
Invented articles, extractive generator."""

from __future__ import annotations

import re
import shutil

import pytest

from tests.support import FERRY_AND_GARDEN, write_corpus
from ui import examples as ex

MILL = {"mill.txt": "Mill news\nThe Orrin Mill reopened in May. The Orrin Mill grinds oats.\n"}


@pytest.fixture
def assistant(tmp_path, embedder):
    from qa.assistant import Assistant

    corpus = write_corpus(tmp_path / "articles", FERRY_AND_GARDEN)
    made = Assistant(index_dir=tmp_path / "idx", generator="extractive", embedder=embedder)
    made.add([corpus])
    return made


class Counting:
    """The assistant, counting the questions it was asked."""

    def __init__(self, assistant) -> None:
        self.assistant = assistant
        self.asked: list[str] = []

    def ask(self, question, **kwargs):
        self.asked.append(question)
        return self.assistant.ask(question, **kwargs)


BAKERY = {"bakery.md": "# Bakery news\n\nBaker Tilda Marsh, 47, opened the Fenwick Bakery in 2020. Tilda Marsh "
                      "said the bread sells out by noon.\n"}
DEFINITION = re.compile(r"^(?:Who|What) (?:is|are|was) (?:the )?[A-Z][\w ]*\?$")  # "Who is Chris Kaba?"


def test_beside_an_upload_the_seed_articles_keep_their_questions_and_the_upload_gets_specific_ones(tmp_path,
                                                                                                 embedder):
    from qa.assistant import Assistant

    shutil.copytree(ex.SEEDS, tmp_path / "seeds")
    both = Assistant(index_dir=tmp_path / "idx", generator="extractive", embedder=embedder)
    both.add([tmp_path / "seeds", write_corpus(tmp_path / "upload", BAKERY)])
    asked = [c.question for c in ex.candidates(both, both.documents())]
    assert asked[-len(ex.SEED_EXAMPLES):] == ex.SEED_EXAMPLES
    assert "Who opened the Fenwick Bakery in 2020?" in asked[:-len(ex.SEED_EXAMPLES)]
    assert not [q for q in asked if DEFINITION.match(q) and q not in ex.SEED_EXAMPLES]
    offered = ex.ExampleFinder(both).wait(60)
    assert "Who opened the Fenwick Bakery in 2020?" in offered and set(offered) & set(ex.SEED_EXAMPLES)


def test_other_documents_get_questions_about_them_not_the_seed_questions(assistant):
    questions = [c.question for c in ex.candidates(assistant, assistant.documents())]
    assert "Which garden won the regional prize for its glasshouse?" in questions
    assert not set(questions) & set(ex.SEED_EXAMPLES)


def test_only_cited_answers_are_offered(assistant):
    finder = ex.ExampleFinder(assistant, fixed=["When did the Kelby Ferry resume its crossings?",
                                                "What is the boiling point of mercury?"])
    assert finder.wait(60) == ["When did the Kelby Ferry resume its crossings?"]


def test_a_question_about_a_name_is_offered_only_when_its_citation_names_it(assistant):
    documents = assistant.documents()
    assert ex.answers(assistant, ex.Candidate("Who is Ines Marlow?", "Ines Marlow"), documents)
    assert ex.answers(assistant, ex.Candidate("Who is Ines Marlow?", "Ada Lune"), documents) is None


def test_every_derived_example_is_answered_with_a_citation(assistant):
    found = ex.ExampleFinder(assistant).wait(60)
    assert found
    for question in found:
        answer = assistant.ask(question)
        assert not answer.abstained and answer.citations, question


def test_one_question_is_offered_per_name(assistant):
    found = ex.ExampleFinder(assistant).wait(60)
    assert "Who said the crossings would run hourly?" in found and "How old is Ines Marlow?" not in found


def test_examples_are_checked_once_per_set_of_documents(assistant, tmp_path):
    checker = Counting(assistant)
    finder = ex.ExampleFinder(assistant, fixed=["When did the Kelby Ferry resume its crossings?"], checker=checker)
    finder.wait(60)
    finder.wait(60)
    assert len(checker.asked) == 1
    assistant.add([write_corpus(tmp_path / "more", MILL)])
    finder.wait(60)
    assert len(checker.asked) == 2


def test_examples_found_once_are_offered_at_once_after_a_restart(assistant, tmp_path):
    cache = ex.ExampleCache(tmp_path / "chat.sqlite3")
    found = ex.ExampleFinder(assistant, cache).wait(60)
    checker = Counting(assistant)
    restarted = ex.ExampleFinder(assistant, ex.ExampleCache(tmp_path / "chat.sqlite3"), checker=checker)
    assert restarted.current() == found and checker.asked == []


def test_an_upload_brings_examples_about_it(assistant, tmp_path):
    finder = ex.ExampleFinder(assistant)
    finder.wait(60)
    assistant.add([write_corpus(tmp_path / "more", MILL)])
    assert any("mill" in q.lower() for q in finder.wait(60))


def test_an_example_citing_a_removed_document_is_withdrawn_at_once(assistant):
    finder = ex.ExampleFinder(assistant)
    assert any("ferry" in q.lower() or "crossings" in q for q in finder.wait(60))
    assistant.remove("ferry.txt")
    offered_now = finder.current()  # before the new set of documents is checked
    assert offered_now and not any("ferry" in q.lower() or "crossings" in q for q in offered_now)


def test_citeqa_index_keeps_the_chats_examples_beside_the_index(tmp_path):
    from citeqa.cli import main as citeqa_main
    from qa.assistant import Assistant
    from ui.chatdb import default_path

    corpus = write_corpus(tmp_path / "articles", FERRY_AND_GARDEN)
    assert citeqa_main(["index", str(corpus), "--index", str(tmp_path / "idx"), "--quiet"]) == 0
    assistant = Assistant(index_dir=tmp_path / "idx", generator="extractive")
    kept = ex.ExampleCache(default_path(tmp_path / "idx")).get(ex.fingerprint(assistant.documents()))
    checker = Counting(assistant)
    chat = ex.ExampleFinder(assistant, ex.ExampleCache(default_path(tmp_path / "idx")), checker=checker)
    assert kept and chat.current() == [x.question for x in kept] and checker.asked == []
