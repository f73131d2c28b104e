"""The short answers a sentence could give: names, dates, numbers and quoted titles, with exact offsets."""

import pytest

from qa.spans import candidate_spans

SENTENCE = "Ines Marlow, 52, took over the Kelby Ferry on 5 September 2022 and ran 12 crossings a day."


def kinds(text: str) -> dict[str, str]:
    return {s.text: s.kind for s in candidate_spans(text)}


def test_names_dates_and_numbers_are_found_with_their_kind():
    assert kinds(SENTENCE) == {"Ines Marlow": "name", "52": "number", "Kelby Ferry": "name",
                               "5 September 2022": "date", "12 crossings": "number"}


def test_every_span_is_the_text_at_its_offsets():
    assert all(SENTENCE[s.start:s.end] == s.text for s in candidate_spans(SENTENCE))


def test_a_date_is_one_span_not_a_day_and_a_year():
    assert [s.text for s in candidate_spans("It opened on 3 March 2021.")] == ["3 March 2021"]


@pytest.mark.parametrize(("text", "span"), [("It reached an estimated 12mph before stopping.", "12mph"),
                                            ("The fund holds £426,000 of grants.", "£426,000"),
                                            ("Six police cars were involved.", "Six police cars")])
def test_numbers_keep_their_unit_or_currency(text, span):
    assert span in kinds(text)


def test_a_capitalised_word_after_a_number_is_not_its_unit():
    assert kinds("It is a 1963 Indian film.") == {"1963": "date", "Indian": "name"}


def test_a_short_quoted_title_is_one_span():
    assert kinds("Her song “Closer to Home” was released in 2019.")["Closer to Home"] == "quoted"


def test_a_title_before_a_name_is_not_part_of_the_name():
    spans = candidate_spans("Captain Ines Marlow said the crossings would run hourly.")
    assert [(s.text, s.kind) for s in spans] == [("Ines Marlow", "name")] and spans[0].start == 8


def test_a_name_after_in_or_at_is_a_place():
    assert kinds("He was shot in Streatham Hill by Ines Marlow.") == {"Streatham Hill": "place", "Ines Marlow": "name"}
