from qa.answer import Evidence
from qa.citations import cite_claim, key_terms, parse_claims, strip_markers
from qa.conflicts import find_conflict
from qa.followup import standalone_question
from qa.prompt import fit_evidence, is_refusal


def ev(marker: int, text: str, source: str = "a.txt", score: float = 1.0, start: int = 0) -> Evidence:
    return Evidence(marker, source, "Title", text, start, start + len(text), score)


EVIDENCE = [
    ev(1, "Mr Kaba, 24, died on September 5, 2022, in Streatham Hill.", "b.txt", 1.0, 100),
    ev(2, "The officer, 41, was cleared of murder in October.", "a.txt", 0.9, 50),
    ev(3, "A helicopter and six police cars were involved.", "a.txt", 0.8, 10),
]


def test_markers_are_parsed_in_every_form():
    claims = parse_claims("He was 24 [1]. It happened in London [2, 3][1].")
    assert [c.markers for c in claims] == [(1,), (2, 3, 1)]
    assert [c.text for c in claims] == ["He was 24.", "It happened in London."]


def test_strip_markers_leaves_plain_text():
    assert strip_markers("Six cars [3][1, 2].") == "Six cars."


def test_key_terms_are_what_the_answer_adds_to_the_question():
    assert key_terms("Chris Kaba was 24 years old", "How old was Chris Kaba?") == {"24"}


def test_supporting_marker_is_kept():
    cited = cite_claim(parse_claims("24 [1]")[0], "How old was Mr Kaba?", EVIDENCE)
    assert cited.supported and [c.start for c in cited.citations] == [100]


def test_out_of_range_marker_is_dropped_and_support_attached():
    cited = cite_claim(parse_claims("six police cars [9]")[0], "How many police cars were involved?", EVIDENCE)
    assert cited.supported and [c.text for c in cited.citations] == [EVIDENCE[2].text]


def test_wrong_marker_is_replaced_by_the_supporting_sentence():
    cited = cite_claim(parse_claims("41 [1]")[0], "How old was the officer?", EVIDENCE)
    assert [c.start for c in cited.citations] == [50]


def test_answer_without_markers_gets_the_best_supporting_sentence():
    cited = cite_claim(parse_claims("Streatham Hill")[0], "Where did Mr Kaba die?", EVIDENCE)
    assert cited.supported and cited.citations[0].source == "b.txt"


def test_claim_that_no_sentence_holds_is_unsupported():
    cited = cite_claim(parse_claims("The car was red [1].")[0], "What colour was the car?", EVIDENCE)
    assert not cited.supported and cited.citations == ()


def test_claim_that_only_restates_the_question_is_unsupported():
    assert not cite_claim(parse_claims("Mr Kaba")[0], "Who shot Mr Kaba?", EVIDENCE).supported


def test_two_sentences_can_support_one_claim_together():
    cited = cite_claim(parse_claims("24 and 41")[0], "How old were they?", EVIDENCE)
    assert cited.supported and {c.start for c in cited.citations} == {100, 50}


def test_refusals_are_recognised():
    assert is_refusal("unknown") and is_refusal("I don't know.") and is_refusal("")
    assert is_refusal("The context does not mention the colour.")
    assert not is_refusal("24 years old")


def test_evidence_is_fitted_to_the_budget_and_renumbered():
    chosen = fit_evidence(list(reversed(EVIDENCE)), lambda text: len(text.split()), budget=25, limit=5)
    assert [e.marker for e in chosen] == [1, 2]
    assert sum(len(f"Source {e.marker}: {e.text}".split()) for e in chosen) <= 25


def test_conflicting_sources_are_reported_with_both_sides():
    evidence = [
        ev(1, "He welcomed a review by Home Secretary Suella Braverman.", "old.txt", 1.0),
        ev(2, "Home Secretary Yvette Cooper has ordered a review.", "new.txt", 0.95),
    ]

    def answer_from(question, sentences):
        return "Yvette Cooper" if "Cooper" in sentences[0].text else "Suella Braverman"

    conflict = find_conflict("Who is the Home Secretary?", "Suella Braverman", [evidence[0]], evidence, 0.12,
                             answer_from)
    assert conflict is not None and conflict.evidence.source == "new.txt" and conflict.answer == "Yvette Cooper"


def test_agreeing_sources_are_no_conflict():
    evidence = [ev(1, "Mr Kaba, 24, died.", "a.txt"), ev(2, "The 24-year-old Mr Kaba died.", "b.txt", 0.99)]
    assert find_conflict("How old was Mr Kaba?", "24", [evidence[0]], evidence, 0.12, lambda q, s: "24") is None


def test_follow_up_pronoun_takes_the_last_named_person():
    history = [("When was Chris Kaba shot?", "On 5 September 2022 [1].")]
    assert standalone_question("How old was he?", history) == "How old was Chris Kaba?"


def test_question_without_history_is_unchanged():
    assert standalone_question("How old was he?", None) == "How old was he?"


def test_number_words_and_units_match_their_digits():
    evidence = [ev(1, "A helicopter and six police cars reached an estimated 12mph.", "a.txt")]
    assert cite_claim(parse_claims("6")[0], "How many police cars?", evidence).supported
    assert cite_claim(parse_claims("12 mph")[0], "What speed?", evidence).supported


def test_follow_up_after_a_who_question_takes_the_answered_name():
    history = [("Who is the Home Secretary?", "Yvette Cooper [1]")]
    assert standalone_question("How old is she?", history) == "How old is Yvette Cooper?"
