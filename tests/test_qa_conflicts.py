"""Documents that answer the asked question differently are reported; agreeing ones, or two moments of one
story, are not. Invented documents."""

from qa.analysis import analyse
from qa.answer import Evidence
from qa.conflicts import find_conflict


def ev(text: str, source: str, score: float = 1.0) -> Evidence:
    return Evidence(0, source, "Title", text, 0, len(text), score)


def test_another_document_with_another_answer_is_a_conflict():
    analysis = analyse("Who is the harbour master?")
    old, new = ev("The review was ordered by Harbour Master Ines Varga.", "old.txt"), \
        ev("Harbour Master Tomas Berg has ordered a review.", "new.txt", 0.95)

    def ask(question, sentences):
        return "Tomas Berg" if "Berg" in sentences[0].text else "Ines Varga"

    conflict = find_conflict(analysis, "Ines Varga", [old], [old, new], 0.12, ask)
    assert conflict is not None and conflict.evidence.source == "new.txt" and conflict.answer == "Tomas Berg"


def test_agreeing_documents_are_no_conflict():
    analysis = analyse("How old was the captain?")
    a, b = ev("The captain, 54, retired.", "a.txt"), ev("The 54-year-old captain retired.", "b.txt", 0.99)
    assert find_conflict(analysis, "54", [a], [a, b], 0.12, lambda q, s: "54") is None


def test_two_moments_of_one_story_are_no_conflict_when_the_judge_says_so():
    analysis = analyse("Where was the ferry stopped?")
    a = ev("The ferry was stopped at Lintrow quay on Sunday.", "a.txt")
    b = ev("The ferry was stopped the previous evening at Orvale pier for a check.", "b.txt", 0.95)
    ask = lambda q, s: "Orvale pier"  # noqa: E731
    assert find_conflict(analysis, "Lintrow quay", [a], [a, b], 0.2, ask) is not None
    assert find_conflict(analysis, "Lintrow quay", [a], [a, b], 0.2, ask, judge=lambda *_: False) is None


def test_a_far_less_relevant_sentence_is_not_asked_about():
    analysis = analyse("Where was the ferry stopped?")
    a = ev("The ferry was stopped at Lintrow quay on Sunday.", "a.txt")
    b = ev("The ferry was stopped at Orvale pier.", "b.txt", 0.3)
    asked = []
    assert find_conflict(analysis, "Lintrow quay", [a], [a, b], 0.2, lambda q, s: asked.append(1) or "x") is None
    assert asked == []


def test_the_same_title_with_another_name_in_another_document_is_a_conflict():
    analysis = analyse("Which Harbour Master ordered the review?")
    a = ev("Harbour Master Ines Varga ordered the review.", "a.txt")
    b = ev("A review under Harbour Master Tomas Berg began in May.", "b.txt", 0.1)
    conflict = find_conflict(analysis, "Ines Varga", [a], [a, b], 0.12, lambda q, s: "unknown")
    assert conflict is not None and conflict.answer == "Tomas Berg"
