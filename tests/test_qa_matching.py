"""Tolerant matching of what an answer says against what a sentence says."""

import pytest

from qa.matching import coverage, same_term, terms


@pytest.mark.parametrize(("answer", "sentence"), [
    ("115 lbs", "The dog weighed 115 lb at its heaviest."),
    ("20%", "Turnout rose by 20 per cent."),
    ("six", "Six trawlers were lost."),
    ("12 mph", "The wind reached 12mph."),
    ("30,000,000", "About 30000000 gallons flowed."),
    ("3rd", "She finished 3 in the final."),
    ("Canadian", "The singer was born in Canada."),
    ("U.S.", "It was first sold in the US."),
])
def test_forms_of_the_same_fact_match(answer, sentence):
    assert coverage(terms(answer), terms(sentence)) == 1.0


def test_different_numbers_never_match():
    assert not same_term("115", "1150") and coverage(terms("115 lb"), terms("It weighed 116 lb.")) < 1.0


def test_short_words_must_match_exactly():
    assert not same_term("art", "arts") and same_term("painter", "painters")
