from qa.answer import Citation
from qa.citing import CitedClaim
from qa.quoting import full_name, quote_claim, source_wording


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


def _claim(text: str, sentence: str) -> CitedClaim:
    return CitedClaim(text, (Citation(1, "a.txt", "A", sentence, 0, len(sentence)),), True)


def test_a_clipped_name_is_completed_from_its_sentence():
    from qa.analysis import analyse

    claim = quote_claim(_claim("Orvale", "The Orvale Viaduct was longer than any other."),
                        analyse("Which viaduct was the longest?"))
    assert claim.text == "Orvale Viaduct"


def test_a_number_keeps_its_unit():
    from qa.analysis import analyse

    claim = quote_claim(_claim("3.75", "The circuit is 3.75 km long."), analyse("How long is the circuit?"))
    assert claim.text == "3.75 km"


def test_a_bare_year_for_when_becomes_the_whole_date():
    from qa.analysis import analyse

    claim = quote_claim(_claim("1971", "Ines Varga (born 4 June 1971) is a sailor."), analyse("When was Ines Varga born?"))
    assert claim.text == "4 June 1971"


def test_a_year_for_what_year_stays_a_year():
    from qa.analysis import analyse

    claim = quote_claim(_claim("1971", "Ines Varga (born 4 June 1971) is a sailor."),
                        analyse("In what year was Ines Varga born?"))
    assert claim.text == "1971"


def test_a_choice_answer_becomes_the_option_as_the_question_wrote_it():
    from qa.analysis import analyse

    claim = quote_claim(_claim("Osk", "The Osk Pavilion opened in 1958."),
                        analyse("Which opened later, the Brenner Hall or the Osk Pavilion?"))
    assert claim.text == "the Osk Pavilion"


def test_a_completed_name_drops_its_possessive():
    assert full_name("Tessel Quartet", "The Tessel Quartet's second album sold well.") == "Tessel Quartet"
    assert full_name("Orvale", "It was the Orvale Viaduct's first winter.") == "Orvale Viaduct"


def test_a_name_is_not_completed_into_another_name():
    assert full_name("Lintrow War I", "During Lintrow War II the harbour closed.") == "Lintrow War I"


def test_a_sentence_opener_and_a_trailing_month_are_no_part_of_a_name():
    assert full_name("Ines Varga", "During Mayor Ines Varga March visits, the quay shut.") == "Ines Varga"
    assert full_name("Varga", "During Ines Varga's term the quay shut.") == "Ines Varga"
