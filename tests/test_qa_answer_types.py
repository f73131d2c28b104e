import pytest

from qa.answer_types import Kind, holds_kind, question_kind


@pytest.mark.parametrize(("question", "kind"), [
    ("How old was Chris Kaba?", Kind.NUMBER),
    ("How many police cars were involved?", Kind.NUMBER),
    ("When did he die?", Kind.DATE),
    ("On what date was he charged?", Kind.DATE),
    ("Who is the Home Secretary?", Kind.PERSON),
    ("Where was he shot?", Kind.PLACE),
    ("What will Martyn Blake face?", Kind.OTHER),
])
def test_question_kind(question, kind):
    assert question_kind(question) is kind


def test_a_fragment_is_not_a_person():
    question = "Who is the Home Secretary?"
    assert not holds_kind("The Home Secretary is the source of soundbite politics.", Kind.PERSON, question)
    assert holds_kind("Suella Braverman", Kind.PERSON, question)


def test_sentence_initial_capital_is_not_a_name():
    assert not holds_kind("Instead of clear information, the minister talked for hours.", Kind.PERSON, "Who?")


def test_numbers_and_dates():
    assert holds_kind("six police cars", Kind.NUMBER, "How many cars?")
    assert not holds_kind("several police cars", Kind.NUMBER, "How many cars?")
    assert holds_kind("on 5 September 2022", Kind.DATE, "When?")
    assert not holds_kind("in Streatham", Kind.DATE, "When?")


def test_value_already_in_the_question_does_not_count():
    assert not holds_kind("in 2022", Kind.DATE, "What happened in 2022?")


def test_year_question_needs_a_year():
    question = "In what year was the audit published?"
    assert question_kind(question) is Kind.YEAR
    assert holds_kind("in 2024", Kind.YEAR, question)
    assert not holds_kind("in June", Kind.YEAR, question)


def test_a_bare_year_or_month_is_not_a_date():
    assert not holds_kind("1990", Kind.DATE, "On what date did the trial begin?")
    assert not holds_kind("in October", Kind.DATE, "On what date did the trial begin?")
    assert holds_kind("1 December", Kind.DATE, "On what date did the trial begin?")
    assert holds_kind("in 1990", Kind.DATE, "When did the trial begin?")


def test_a_name_question_needs_a_name_the_question_does_not_hold():
    question = "What is the name of the school in Brixton?"
    assert question_kind(question) is Kind.NAME
    assert not holds_kind("Brixton the previous evening", Kind.NAME, question)
    assert holds_kind("St Mary's Academy", Kind.NAME, question)
