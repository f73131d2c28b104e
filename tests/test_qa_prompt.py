"""Prompt building: budgets, numbering, hints, sentences with their neighbours."""

from index.sentences import sentence_spans
from qa.analysis import analyse
from qa.answer import Evidence
from qa.prompt import fit_evidence, sentences_prompt, windows_prompt

EVIDENCE = [Evidence(0, "a.txt", "A", f"Sentence number {n} about the quay.", n * 40, n * 40 + 30, 1 - n / 10)
            for n in range(5)]
count = lambda text: len(text.split())  # noqa: E731
QUAY = ("The harbour quay reopened on Monday after storm repairs. "
        "It had been shut for six weeks while divers checked the piles. "
        "Read more. "
        "The harbour master, Ines Varga, said the ferries would return on Friday. "
        "Traffic on the coast road was light all day.")


def window(question: str, ranked: list[str], budget: int = 200, limit: int = 3):
    spans = sentence_spans(QUAY)
    evidence = [next(Evidence(0, "q.txt", "Quay reopens", QUAY[s.start:s.end], s.start, s.end, 1.0 - n / 10)
                     for s in spans if QUAY[s.start:s.end].startswith(first)) for n, first in enumerate(ranked)]
    return windows_prompt(analyse(question), evidence, lambda _: spans, lambda _: QUAY, count, budget, limit)


def test_sentences_are_fitted_to_the_budget_and_renumbered():
    chosen = fit_evidence(EVIDENCE, count, budget=20, limit=5)
    assert [e.marker for e in chosen] == [1, 2] and chosen[0].text == EVIDENCE[0].text


def test_a_yes_no_question_is_asked_for_yes_or_no():
    prompt = sentences_prompt(analyse("Is the quay closed?"), EVIDENCE, count, 100, 3)
    assert prompt.messages[-1]["content"].endswith("Answer yes or no.")


def test_the_prompt_carries_the_numbered_sentences_a_reader_checks():
    prompt = sentences_prompt(analyse("When did the quay close?"), EVIDENCE, count, 100, 3)
    assert [e.marker for e in prompt.evidence] == [1, 2, 3]


def test_a_sentence_comes_with_the_one_before_it_under_its_documents_title():
    content = window("How long was it shut?", ["It had been shut"]).messages[-1]["content"]
    assert "Quay reopens\nThe harbour quay reopened on Monday" in content and "six weeks" in content


def test_a_caption_is_no_neighbour():
    content = window("Who said the ferries would return?", ["The harbour master"]).messages[-1]["content"]
    assert "Read more" not in content and "Traffic on the coast road" in content


def test_sentences_far_apart_are_shown_in_the_documents_order_with_a_gap():
    content = window("When did the quay reopen?", ["Traffic on the coast road", "The harbour quay"],
                     limit=2).messages[-1]["content"]
    assert content.index("The harbour quay") < content.index("Traffic on the coast road")


def test_the_neighbours_shown_can_be_cited_too():
    prompt = window("How long was it shut?", ["It had been shut"])
    assert prompt.evidence[0].text.startswith("It had been shut") and len(prompt.evidence) > 1


def test_a_tight_budget_keeps_the_best_sentence_alone():
    prompt = window("How long was it shut?", ["It had been shut", "Traffic on the coast road"], budget=14)
    content = prompt.messages[-1]["content"]
    assert "six weeks" in content and "Traffic" not in content
