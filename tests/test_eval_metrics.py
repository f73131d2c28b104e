"""eval.metrics on hand-made cases: each metric's definition, one behaviour per test."""

from __future__ import annotations

import pytest

from eval import metrics
from tests.support import Cite

DOC = "Mr Kaba, 24, died on September 5, 2022. He was shot in Streatham Hill. The officer was 41."


def cite(marker: int, sentence: str, source: str = "a.txt", doc: str = DOC) -> Cite:
    start = doc.index(sentence)
    return Cite(marker, source, sentence, start, start + len(sentence))


def read(source: str) -> str | None:
    return DOC if source == "a.txt" else None


# -- SQuAD --------------------------------------------------------------------------------------------
def test_normalize_drops_case_punctuation_articles_and_extra_space():
    assert metrics.normalize_answer("  The   Audi Q8! ") == "audi q8"


def test_normalize_treats_curly_and_straight_apostrophes_alike():
    assert metrics.normalize_answer("Mr Kaba’s family") == metrics.normalize_answer("Mr Kaba's family")


def test_exact_match_ignores_citation_markers():
    assert metrics.exact_match("24 [1].", ["24", "24 years old"]) == 1.0


def test_exact_match_is_zero_for_a_longer_answer():
    assert metrics.exact_match("He was 24.", ["24"]) == 0.0


def test_token_f1_counts_repeated_tokens_once_per_occurrence():
    # common = {cat: 1, dog: 1}: precision 2/3, recall 1
    assert metrics.token_f1("cat cat dog", "cat dog") == pytest.approx(0.8)


def test_token_f1_takes_the_best_gold():
    assert metrics.best_f1("Martyn Blake", ["Mr Blake", "Martyn Blake"]) == 1.0


def test_token_f1_of_disjoint_answers_is_zero():
    assert metrics.token_f1("Streatham", "Brixton") == 0.0


def test_containment_finds_an_answer_inside_a_sentence():
    assert metrics.containment("Mr Kaba, 24, died on September 5, 2022 [1].", ["24"]) == 1.0


def test_containment_matches_whole_tokens_only():
    assert metrics.containment("across all 43 police forces", ["4"]) == 0.0


def test_containment_ignores_currency_signs_and_thousands_commas():
    assert metrics.containment("she announced £426,000 of funding", ["426,000"]) == 1.0


def test_containment_does_not_read_a_marker_as_an_answer():
    assert metrics.containment("Mr Kaba died in Streatham [24].", ["24"]) == 0.0


# -- unit and number variants (normalize_answer) ------------------------------------------------------
@pytest.mark.parametrize(("answer", "gold"), [
    ("The bridge weighs 115 lbs [1].", "115 lb"),
    ("Turnout rose 20 per cent.", "20%"),
    ("Turnout rose 20%.", "20 percent"),
    ("She won three titles.", "3"),
    ("It has 21 members.", "twenty-one"),
    ("It has twenty one members.", "21"),
    ("He finished third.", "3rd"),
    ("The trail is 3.1 miles long.", "3.1 mi"),
    ("The peak is 554 feet high.", "554 ft"),
    ("A 5 kilometre loop.", "5 km"),
    ("The track is 12.6 metres long.", "12.6 meters"),
    ("It covers 438,000 acres.", "438,000 acre"),
    ("He served 40 years.", "40 year"),
    ("A mall of 1,600,000 square feet.", "1600000 sqft"),
])
def test_containment_accepts_a_unit_or_number_variant(answer: str, gold: str):
    assert metrics.containment(answer, [gold]) == 1.0


def test_number_words_do_not_join_a_number_written_in_digits():
    assert metrics.normalize_answer("scored 20 one season") == "scored 20 1 season"


def test_a_different_number_still_does_not_match():
    assert metrics.containment("She won four titles.", ["3"]) == 0.0


def test_pounds_stay_pounds_because_they_may_be_money():
    assert metrics.containment("It cost 115 pounds.", ["115 lb"]) == 0.0


# -- yes/no gold answers ------------------------------------------------------------------------------
def test_a_yes_no_gold_answer_is_judged_by_the_leading_word():
    assert metrics.containment("No, he was not armed [1].", ["no"]) == 1.0


def test_no_somewhere_in_the_answer_is_not_a_no():
    assert metrics.containment("There is no record of a weapon [1].", ["no"]) == 0.0


def test_the_wrong_leading_word_fails_even_if_the_gold_word_follows():
    assert metrics.containment("Yes, no one disputes it.", ["no"]) == 0.0


def test_token_f1_of_a_yes_no_gold_answer_is_all_or_nothing():
    assert (metrics.token_f1("Yes, both are novelists [1].", "yes"), metrics.token_f1("No, only one.", "yes")) == \
        (1.0, 0.0)


# -- retrieval ----------------------------------------------------------------------------------------
def test_hit_when_passage_text_contains_the_quote_with_other_white_space():
    passage = metrics.Retrieved("b.txt", "It said: the  quick\nbrown fox jumped.", 0, 38)
    assert metrics.is_hit(passage, "the quick brown fox", "a.txt", [])


def test_hit_when_passage_covers_most_of_a_quote_that_straddles_a_chunk_boundary():
    passage = metrics.Retrieved("a.txt", "…", 100, 170)
    assert metrics.is_hit(passage, "not in the text", "a.txt", [(150, 190)])


def test_no_hit_when_passage_only_touches_the_quote():
    passage = metrics.Retrieved("a.txt", "…", 100, 155)
    assert not metrics.is_hit(passage, "not in the text", "a.txt", [(150, 190)])


def test_hit_when_passage_lies_inside_evidence_longer_than_a_chunk():
    passage = metrics.Retrieved("a.txt", "…", 300, 500)
    assert metrics.is_hit(passage, "a whole gold passage", "a.txt", [(0, 900)])


def test_no_hit_for_the_same_offsets_in_another_document():
    passage = metrics.Retrieved("b.txt", "…", 100, 200)
    assert not metrics.is_hit(passage, "not in the text", "a.txt", [(150, 190)])


def test_recall_at_k_and_mrr():
    ranks = [1, 3, None, 2]
    assert metrics.recall_at(ranks, 1) == 0.25
    assert metrics.recall_at(ranks, 3) == 0.75
    assert metrics.mean_reciprocal_rank(ranks) == pytest.approx((1 + 1 / 3 + 0 + 1 / 2) / 4)


def test_first_hit_rank_is_one_based():
    assert metrics.first_hit_rank([False, False, True, True]) == 3
    assert metrics.first_hit_rank([False]) is None


# -- abstention ---------------------------------------------------------------------------------------
def test_abstention_precision_and_recall_treat_abstaining_as_the_positive_class():
    result = metrics.abstention(abstained=[True, True, False, False, True],
                                answerable=[False, True, False, True, False])
    assert (result.true_positives, result.false_positives, result.false_negatives) == (2, 1, 1)
    assert result.precision == pytest.approx(2 / 3)
    assert result.recall == pytest.approx(2 / 3)


def test_abstention_precision_is_undefined_without_abstentions():
    result = metrics.abstention([False, False], [True, False])
    assert result.precision is None and result.recall == 0.0


# -- sentences and citations --------------------------------------------------------------------------
def test_split_sentences_keeps_abbreviations_and_attaches_markers():
    sentences = metrics.split_sentences("Mr. Blake said so [1]. He was 41 [2][3].")
    assert sentences == [metrics.Sentence("Mr. Blake said so.", (1,)), metrics.Sentence("He was 41.", (2, 3))]


def test_split_sentences_gives_a_trailing_lone_marker_to_the_sentence_before():
    assert metrics.split_sentences("He was 41. [2]") == [metrics.Sentence("He was 41.", (2,))]


def test_citation_recall_counts_a_sentence_whose_gold_answer_is_in_its_citation():
    score = metrics.score_citations("24 [1]", [cite(1, "Mr Kaba, 24, died on September 5, 2022.")], ["24"], read)
    assert (score.recall, score.precision, score.grounding) == (1.0, 1.0, 1.0)


def test_citation_recall_uses_the_union_of_the_cited_sentences():
    answer = "Kaba died on September 5, 2022 in Streatham Hill [1][2]."
    citations = [cite(1, "Mr Kaba, 24, died on September 5, 2022."), cite(2, "He was shot in Streatham Hill.")]
    score = metrics.score_citations(answer, citations, [], read)
    assert score.recall == 1.0
    assert score.precision == 1.0  # each citation is needed: without it the union no longer supports


def test_citation_precision_drops_a_citation_that_adds_nothing():
    answer = "He was 41 [1][2]."
    citations = [cite(1, "The officer was 41."), cite(2, "He was shot in Streatham Hill.")]
    score = metrics.score_citations(answer, citations, ["41"], read)
    assert score.recall == 1.0
    assert score.precision == 0.5


def test_a_sentence_without_a_marker_is_unsupported():
    score = metrics.score_citations("He was 41.", [cite(1, "The officer was 41.")], ["41"], read)
    assert score.recall == 0.0


def test_a_marker_without_a_citation_supports_nothing():
    score = metrics.score_citations("He was 41 [3].", [cite(1, "The officer was 41.")], ["41"], read)
    assert (score.recall, score.precision) == (0.0, 0.0)


def test_a_wrong_gold_answer_in_the_sentence_is_not_supported_by_a_sentence_without_it():
    score = metrics.score_citations("He was 42 [1].", [cite(1, "The officer was 41.")], ["41", "42"], read)
    assert score.recall == 0.0


def test_grounding_fails_when_offsets_do_not_match_the_document():
    shifted = Cite(1, "a.txt", "The officer was 41.", 3, 22)
    assert not metrics.is_grounded(shifted, read)


def test_grounding_fails_for_an_unknown_document():
    assert not metrics.is_grounded(cite(1, "The officer was 41.", source="missing.txt"), read)


def test_an_answer_cites_its_source_when_any_citation_points_into_it():
    citations = [cite(1, "The officer was 41.", source="b.txt"), cite(2, "The officer was 41.")]
    assert metrics.cites_source(citations, ["a.txt"])


def test_an_answer_citing_only_other_documents_does_not_cite_its_source():
    assert not metrics.cites_source([cite(1, "The officer was 41.", source="b.txt")], ["a.txt"])


# -- conflicts and latency -----------------------------------------------------------------------------
def test_conflict_counts_when_the_system_flags_it():
    assert metrics.conflict_reported(True, "Yvette Cooper [1]", ["Yvette Cooper", "Suella Braverman"]) == 1.0


def test_conflict_counts_when_the_answer_names_both_sides_by_their_heads():
    answer = "5 September 2022 [1]. However, another source says: 6 September 2022 [2]."
    sides = ["5 September 2022", "6 September 2022 (early hours of the day after the shooting)"]
    assert metrics.conflict_reported(False, answer, sides) == 1.0


def test_conflict_does_not_count_one_side():
    assert metrics.conflict_reported(False, "Yvette Cooper [1]", ["Yvette Cooper", "Suella Braverman"]) == 0.0


def test_latency_percentiles_per_stage_skip_stages_an_answer_did_not_run():
    timings = [{"retrieve": 0.01 * n, "total": 0.1 * n} for n in range(1, 101)] + [{"total": 20.0}]
    rows = {row.stage: row for row in metrics.latency(timings)}
    assert rows["retrieve"].count == 100
    assert rows["retrieve"].p50 == pytest.approx(0.505)
    assert rows["total"].p95 == pytest.approx(9.6)
    assert "generate" not in rows


def test_a_citation_stating_the_same_date_in_another_order_supports_the_sentence():
    doc = "He was shot on 5 September 2022."
    citation = Cite(1, "b.txt", doc, 0, len(doc))
    score = metrics.score_citations("September 5, 2022 [1].", [citation], ["September 5, 2022"], lambda _: doc)
    assert (score.recall, score.precision, score.grounding) == (1.0, 1.0, 1.0)
