from qa.answer import Evidence
from qa.roles import asked_title, other_holder

QUESTION = "Which Home Secretary ordered the review?"


def ev(text: str, source: str) -> Evidence:
    return Evidence(1, source, "Title", text, 0, len(text), 1.0)


def test_title_before_the_answer_that_the_question_names_is_found():
    sentence = "Former Home Secretary Ann Lee ordered the review."
    assert asked_title(QUESTION, "Ann Lee", sentence) == "Home Secretary"


def test_title_the_question_does_not_name_is_ignored():
    assert asked_title("Who ordered the review?", "Ann Lee", "Home Secretary Ann Lee ordered the review.") is None


def test_another_document_naming_someone_else_under_the_title_disagrees():
    found = other_holder("Home Secretary", "Ann Lee", [ev("A review by Home Secretary Tom Hart began.", "b.txt")],
                         {"a.txt"})
    assert found is not None and found[1] == "Tom Hart"


def test_same_holder_or_same_document_is_no_disagreement():
    candidates = [ev("Home Secretary Ann Lee spoke.", "b.txt"), ev("Home Secretary Tom Hart spoke.", "a.txt")]
    assert other_holder("Home Secretary", "Ann Lee", candidates, {"a.txt"}) is None
