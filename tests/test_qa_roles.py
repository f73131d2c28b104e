"""Who holds a role, as text writes it next to the title. Invented names."""

from qa.analysis import analyse
from qa.answer import Evidence
from qa.roles import asked_role, holder


def ev(text: str) -> Evidence:
    return Evidence(0, "a.txt", "A", text, 0, len(text), 1.0)


def test_who_is_the_title_asks_about_that_role():
    assert asked_role(analyse("Who is the harbour master?")) == "harbour master"


def test_other_questions_ask_about_no_role():
    assert asked_role(analyse("Who founded the harbour?")) is None


def test_the_name_after_the_title_holds_it():
    assert holder("Harbour Master", [ev("The quay was closed by Harbour Master Ines Varga on Monday.")])[0] == \
        "Ines Varga"


def test_the_name_before_an_apposition_holds_it():
    assert holder("harbour master", [ev("Ines Varga, the harbour master, closed the quay.")])[0] == "Ines Varga"


def test_a_sentence_that_only_mentions_the_title_names_no_holder():
    assert holder("harbour master", [ev("The harbour master has been criticised.")]) is None
