"""What a question asks: kind, form, options, names. Invented questions, not the seeds'."""

import pytest

from qa.analysis import Form, Kind, analyse, choice_options, holds_kind, proper_names


@pytest.mark.parametrize(("question", "kind"), [
    ("How many ferries crossed the strait?", Kind.NUMBER),
    ("In what year did the Orvale mine close?", Kind.YEAR),
    ("When did the festival move to Lintrow?", Kind.DATE),
    ("Who founded the Tessel Quartet?", Kind.PERSON),
    ("Where was the treaty signed?", Kind.PLACE),
    ("What was the name of the first ship?", Kind.NAME),
    ("Why did the council resign?", Kind.OTHER),
])
def test_kind_of_value_asked_for(question, kind):
    assert analyse(question).kind is kind


def test_question_opening_with_an_auxiliary_is_yes_no():
    assert analyse("Are the Brenner Hall and the Osk Pavilion both museums?").form is Form.YES_NO


def test_alternatives_after_a_comma_make_a_choice():
    analysis = analyse("Which opened first, the Brenner Hall or the Osk Pavilion?")
    assert analysis.form is Form.CHOICE and analysis.options == ("the Brenner Hall", "the Osk Pavilion")


def test_alternatives_without_a_comma_are_the_capitalised_run_before_or():
    assert choice_options("Which magazine started first Tidewater Review or Lantern Weekly?") == \
        ("Tidewater Review", "Lantern Weekly")


def test_or_inside_an_open_question_is_no_choice():
    assert analyse("What did the mayor say about the bridge?").form is not Form.CHOICE


def test_choice_and_yes_no_questions_have_no_value_kind():
    assert analyse("Who was born earlier, Ana Ruiz or Pol Serra?").kind is Kind.OTHER


def test_proper_names_keep_connectors_inside_a_name():
    assert proper_names("A loan from the Bank of Eastmere to Tilda Marsh") == ["Bank of Eastmere", "Tilda Marsh"]


def test_proper_names_split_at_and():
    assert proper_names("Are Delia Frost and Omar Haig both painters?") == ["Delia Frost", "Omar Haig"]


def test_how_many_names_what_it_counts():
    assert analyse("How many fishing boats were lost at sea?").counted == frozenset({"fishing", "boat"})


def test_a_number_answers_how_many_but_a_name_does_not():
    analysis = analyse("How many ferries crossed the strait?")
    assert holds_kind("eleven", analysis) and holds_kind("11 ferries", analysis)
    assert not holds_kind("the Northern Star", analysis)


def test_a_day_question_needs_a_day_not_a_year():
    analysis = analyse("On what date did the Orvale mine close?")
    assert holds_kind("4 June 1998", analysis) and not holds_kind("1998", analysis)


def test_a_person_answer_needs_a_name_the_question_does_not_hold():
    analysis = analyse("Who founded the Tessel Quartet?")
    assert holds_kind("Marta Ilves", analysis)
    assert not holds_kind("the Tessel Quartet", analysis)


def test_a_question_in_another_language_keeps_only_its_content_terms():
    assert analyse("Quand le pont de Lintrow a-t-il été fermé ?").terms >= {"pont", "lintrow", "fermé"}
    assert not analyse("Quand le pont de Lintrow a-t-il été fermé ?").terms & {"quand", "le", "il", "été"}


def test_an_english_question_keeps_words_other_languages_call_function_words():
    assert {"war", "die"} <= analyse("Did the war in Lintrow die down in 1914?").terms


def test_a_count_of_seconds_is_no_date():
    question = analyse("When did the Lintrow ferry sink?")
    assert not holds_kind("The inquiry hinged on the following 17 seconds, when the ferry turned", question)
    assert holds_kind("On the 17th", question) and holds_kind("17 March", question)


def test_who_is_a_named_person_asks_for_a_description():
    assert analyse("Who is Tomas Verrel?").kind is Kind.DESCRIPTION
    assert analyse("Who is the harbour master?").kind is Kind.PERSON
