"""The answer judge on invented signals: its probability, its threshold, its reasons, its saved weights."""

import pytest

from qa.analysis import analyse
from qa.engines import Piece
from qa.judge import LANGUAGE_MODEL, Heads, Judge, Weights, load_weights, verification_messages, yes_share

SUPPORT_MATTERS = Weights(features=("supported", "kind"), mean=(0.5, 0.5), scale=(0.5, 0.5), coef=(2.0, 1.0),
                          intercept=0.0, threshold=0.5)
ALWAYS_RIGHT = Weights(features=("kind",), mean=(0.5,), scale=(0.5,), coef=(0.0,), intercept=10.0, threshold=0.0)


def judge(**kwargs) -> Judge:
    """P(the documents answer) rests on support and kind; every answer they give is right."""
    return Judge(weights={LANGUAGE_MODEL: Heads(SUPPORT_MATTERS, ALWAYS_RIGHT)}, **kwargs)


def test_a_signal_above_its_mean_raises_the_probability():
    assert SUPPORT_MATTERS.probability({"supported": 1.0, "kind": 0.5}) > 0.5 > \
        SUPPORT_MATTERS.probability({"supported": 0.0, "kind": 0.5})


def test_a_missing_signal_pushes_nothing():
    assert SUPPORT_MATTERS.probability({"kind": 0.5}) == pytest.approx(0.5)


def test_an_answer_above_the_threshold_is_kept_with_its_probability():
    decision = judge().decide("Ines Varga", {"supported": 1.0, "kind": 1.0}, analyse("Who won?"), "qwen-1.5b")
    assert decision.verdict.keep and decision.probability > 0.9


def test_a_threshold_set_by_hand_overrides_the_trained_one():
    signals = {"supported": 1.0, "kind": 0.0}  # probability 0.73
    assert judge().decide("Ines Varga", signals, analyse("Who won?"), "m").verdict.keep
    assert not judge(threshold=0.8).decide("Ines Varga", signals, analyse("Who won?"), "m").verdict.keep


def test_the_main_reason_is_the_signal_that_pushed_hardest_down():
    decision = judge(threshold=0.9).decide("Ines Varga", {"supported": 0.0, "kind": 1.0}, analyse("Who won?"), "m")
    assert not decision.verdict.keep and decision.verdict.reason == "The passages found do not say “Ines Varga”."
    assert "main reason supported" in decision.verdict.detail


def test_a_likely_wrong_answer_to_what_the_documents_answer_is_shown_with_its_low_probability():
    doubtful = Weights(("kind",), (0.5,), (0.5,), (3.0,), 0.0, 0.0)
    decision = Judge(weights={LANGUAGE_MODEL: Heads(ALWAYS_RIGHT, doubtful)}).decide(
        "the ribbon", {"kind": 0.0}, analyse("Who cut the ribbon?"), "m")
    assert decision.verdict.keep and decision.probability < 0.1


def test_a_refusal_has_nothing_to_show():
    decision = judge().decide("unknown", {"supported": 1.0, "kind": 1.0}, analyse("Who won?"), "m")
    assert not decision.verdict.keep and "do not answer" in decision.verdict.reason


def test_a_yes_no_question_answered_otherwise_is_not_answered():
    decision = judge().decide("Ines Varga", {"supported": 1.0, "kind": 1.0}, analyse("Did Ines Varga win?"), "m")
    assert not decision.verdict.keep and "yes/no" in decision.verdict.reason


def test_recording_only_keeps_a_doubtful_answer_but_still_measures_it():
    decision = judge(record_only=True).decide("x", {"supported": 0.1, "kind": 0.0}, analyse("Who won?"), "m")
    assert decision.verdict.keep and decision.probability < 0.1


def test_a_generator_family_without_weights_keeps_the_answer_unmeasured():
    decision = Judge(weights={}).decide("Ines Varga", {}, analyse("Who won?"), "extractive")
    assert decision.verdict.keep and decision.probability is None


def test_a_person_asked_and_a_description_given_can_be_repaired():
    wrong_kind = Weights(("kind",), (0.5,), (0.5,), (3.0,), 0.0, 0.5)
    verdict = Judge(weights={LANGUAGE_MODEL: Heads(wrong_kind, ALWAYS_RIGHT)}).decide(
        "the officer", {"kind": 0.0}, analyse("Who shot Tomas Berg?"), "m").verdict
    assert "name" in judge().repair_hint(verdict, analyse("Who shot Tomas Berg?"), {"kind": 0.0}, "m")


def test_an_unsupported_answer_is_not_repaired():
    verdict = judge(threshold=0.9).decide("Ines Varga", {"supported": 0.0, "kind": 1.0}, analyse("Who won?"),
                                          "m").verdict
    assert judge().repair_hint(verdict, analyse("Who won?"), {"supported": 0.0, "kind": 1.0}, "m") is None


def test_a_refusal_where_the_documents_likely_answer_is_asked_again():
    verdict = judge().decide("unknown", {}, analyse("Who won?"), "m").verdict
    assert "best short answer" in judge().repair_hint(verdict, analyse("Who won?"), {"supported": 1.0, "kind": 1.0}, "m")
    assert judge().repair_hint(verdict, analyse("Who won?"), {"supported": 0.0, "kind": 0.0}, "m") is None


def test_the_share_of_yes_comes_from_the_first_tokens_alternatives():
    pieces = [Piece("Yes", alternatives=(("Yes", 0.6), ("No", 0.2), ("yes", 0.2)))]
    assert yes_share(pieces) == pytest.approx(0.8)


def test_the_verification_prompt_holds_the_text_the_question_and_the_answer():
    content = verification_messages("Who won?", "Ines Varga", ["Ines Varga won the race."])[-1]["content"]
    assert all(part in content for part in ("Ines Varga won the race.", "Who won?", "Proposed answer: Ines Varga"))


def test_the_saved_weights_load_with_how_they_were_trained():
    weights = load_weights()
    assert set(weights) == {"language-model", "extractive"}
    for heads in weights.values():
        assert heads.answers.features and heads.trained["examples"] > 0
        assert all("--half tune" in run or "tune half" in run for run in heads.trained["on"])
        assert 0.0 < heads.answers.threshold < 1.0


def test_weights_that_cannot_be_read_name_the_command_that_retrains_them(tmp_path):
    with pytest.raises(RuntimeError, match="make judge"):
        load_weights(tmp_path / "missing.json")


BELIEVER = Heads(Weights(("verified", "supported"), (0.5, 0.5), (0.25, 0.5), (3.0, 1.0), 0.0, 0.5), ALWAYS_RIGHT)


def test_a_decision_that_hangs_on_the_verification_is_not_settled_without_it():
    assert not Judge(weights={LANGUAGE_MODEL: BELIEVER}).settled_without({"supported": 0.5}, "verified", "m")


def test_a_decision_no_verification_could_change_is_settled_without_it():
    strong = Heads(Weights(("verified", "supported"), (0.5, 0.5), (0.25, 0.5), (0.5, 4.0), 0.0, 0.5), ALWAYS_RIGHT)
    assert Judge(weights={LANGUAGE_MODEL: strong}).settled_without({"supported": 1.0}, "verified", "m")


def test_an_answer_no_sentence_states_is_never_shown_however_likely():
    decision = Judge(weights={LANGUAGE_MODEL: Heads(ALWAYS_RIGHT, ALWAYS_RIGHT)}).decide(
        "Slowdive", {"supported": 0.0}, analyse("Which band has more members, Slowdive or Skyline?"), "m")
    assert not decision.verdict.keep and "compares" in decision.verdict.reason
