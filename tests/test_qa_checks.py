"""Each answer check on its own, with invented text; and the pipeline that runs them."""

import pytest

from qa.analysis import analyse
from qa.answer import Citation, Confidence
from qa.checks import (
    Answered,
    Confident,
    CountsAsked,
    Draft,
    Grounded,
    NotOnlySpeaker,
    RightKind,
    YesNoAnswered,
    build_checks,
    run_checks,
)
from qa.citing import CitedClaim


def draft(question: str, answer: str, cited: str | None = "", supported: bool = True,
          confidence: Confidence = Confidence()) -> Draft:
    citations = (Citation(1, "a.txt", "A", cited, 0, len(cited)),) if cited else ()
    return Draft(analyse(question), answer, CitedClaim(answer, citations, supported), (), confidence)


def test_a_refusal_is_no_answer():
    assert not Answered()(draft("Who won?", "unknown")).keep
    assert not Answered()(draft("Who won?", "The context does not mention a winner.")).keep


def test_an_answer_is_an_answer():
    assert Answered()(draft("Who won?", "Ines Varga")).keep


def test_an_unsupported_claim_is_not_grounded_and_says_so_plainly():
    verdict = Grounded()(draft("Who won?", "Ines Varga", supported=False))
    assert not verdict.keep and "Ines Varga" in verdict.reason and "support" in verdict.detail


def test_a_low_mean_log_probability_is_not_confident():
    check = Confident(min_mean_logprob=-1.0, max_refusal=0.5)
    assert not check(draft("Who won?", "Ines Varga", confidence=Confidence(-1.5, 0.1))).keep
    assert check(draft("Who won?", "Ines Varga", confidence=Confidence(-0.2, 0.1))).keep


def test_a_likely_refusal_is_not_confident():
    check = Confident(min_mean_logprob=-1.0, max_refusal=0.5)
    assert not check(draft("Who won?", "Ines Varga", confidence=Confidence(-0.2, 0.7))).keep


def test_an_unknown_confidence_is_kept():
    assert Confident()(draft("Who won?", "Ines Varga")).keep


def test_a_name_for_when_is_the_wrong_kind():
    assert not RightKind()(draft("When did the quay close?", "Ines Varga")).keep


def test_a_date_for_when_is_the_right_kind():
    assert RightKind()(draft("When did the quay close?", "in March 1990")).keep


def test_a_count_must_sit_next_to_what_was_counted():
    question = "How many trawlers were lost?"
    assert CountsAsked()(draft(question, "six", "Six trawlers were lost in the storm.")).keep
    assert not CountsAsked()(draft(question, "17", "The storm lasted 17 hours and many trawlers were lost.")).keep


def test_the_speaker_alone_does_not_answer_what_was_said():
    sentence = "Ines Varga said the quay would close for repairs in spring."
    assert not NotOnlySpeaker()(draft("When will the quay close for repairs?", "Ines Varga", sentence)).keep


def test_the_speaker_answers_who_said_it():
    sentence = "Ines Varga said the quay would close for repairs in spring."
    assert NotOnlySpeaker()(draft("Who said the quay would close?", "Ines Varga", sentence)).keep


def test_a_yes_no_question_needs_yes_or_no():
    assert not YesNoAnswered()(draft("Is the quay closed?", "The quay")).keep
    assert YesNoAnswered()(draft("Is the quay closed?", "No, it reopened.")).keep


def test_the_pipeline_records_every_verdict_in_order():
    verdicts = run_checks(build_checks(["answered", "grounded"]), draft("Who won?", "unknown", supported=False))
    assert [(v.check, v.keep) for v in verdicts] == [("answered", False), ("grounded", False)]


def test_an_unknown_check_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="grounded"):
        build_checks(["answered", "no-such-check"])


def test_check_settings_reach_the_check():
    (check,) = build_checks(["confident"], {"confident": {"min_mean_logprob": -0.1}})
    assert not check(draft("Who won?", "Ines Varga", confidence=Confidence(-0.5, 0.0))).keep
