"""Prompt building: budgets, numbering, hints."""

from index.documents import Passage
from qa.analysis import analyse
from qa.answer import Evidence
from qa.prompt import build_prompt, fit_evidence, fit_passages, messages_for_passages

EVIDENCE = [Evidence(0, "a.txt", "A", f"Sentence number {n} about the quay.", n * 40, n * 40 + 30, 1 - n / 10)
            for n in range(5)]
count = lambda text: len(text.split())  # noqa: E731


def passage(text: str, title: str = "Quay report") -> Passage:
    return Passage(chunk_id=1, source="a.txt", title=title, text=text, start=0, end=len(text), score=1.0)


def test_sentences_are_fitted_to_the_budget_and_renumbered():
    chosen = fit_evidence(EVIDENCE, count, budget=20, limit=5)
    assert [e.marker for e in chosen] == [1, 2] and chosen[0].text == EVIDENCE[0].text


def test_the_first_passage_is_always_offered():
    assert len(fit_passages([passage("word " * 50)], count, budget=10)) == 1


def test_passages_beyond_the_budget_are_left_out():
    assert len(fit_passages([passage("one two three"), passage("four five six")], count, budget=6)) == 1


def test_a_passage_is_shown_under_its_title_unless_it_begins_with_it():
    analysis = analyse("When did the quay close?")
    text = messages_for_passages(analysis, [passage("The quay closed in 1990.")])[1]["content"]
    assert "Quay report\nThe quay closed in 1990." in text
    text = messages_for_passages(analysis, [passage("Quay report\nIt closed.")])[1]["content"]
    assert text.count("Quay report") == 1


def test_a_yes_no_question_is_asked_for_yes_or_no():
    prompt = build_prompt(analyse("Is the quay closed?"), EVIDENCE, [], count, "sentences", 100, 3)
    assert prompt.messages[-1]["content"].endswith("Answer yes or no.")


def test_the_prompt_carries_the_numbered_sentences_a_reader_checks():
    prompt = build_prompt(analyse("When did the quay close?"), EVIDENCE, [passage("x")], count, "passages", 100, 3)
    assert [e.marker for e in prompt.evidence] == [1, 2, 3]
