from qa.answer import Citation
from qa.citing import CitedClaim
from qa.quoting import quote_claim, source_wording


def test_number_word_is_quoted_as_the_source_writes_it():
    assert source_wording("6", "A helicopter and six police cars were involved.") == "six"


def test_number_and_unit_keep_the_source_spacing():
    assert source_wording("12 mph", "It reached an estimated 12mph before the crash.") == "12mph"


def test_reordered_date_is_quoted_in_the_source_order():
    assert source_wording("September 5, 2022", "He died on 5 September 2022 in hospital.") == "5 September 2022"


def test_verbatim_answer_is_left_alone():
    assert source_wording("24", "Mr Kaba, 24, died on Monday.") is None


def test_answer_without_a_number_is_left_alone():
    assert source_wording("Mr Blake", "Sergeant Martyn Blake was cleared.") is None


def test_scattered_words_are_not_quoted():
    assert source_wording("3 hours", "Three men waited outside while the hearing ran for hours.") is None


def test_cited_claim_takes_the_sentence_wording():
    citation = Citation(1, "a.txt", "A", "The jury deliberated for about three hours.", 0, 44)
    quoted = quote_claim(CitedClaim("3 hours", (citation,), True))
    assert quoted.text == "three hours" and quoted.citations == (citation,)
