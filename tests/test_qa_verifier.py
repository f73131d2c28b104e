"""The answer verifier: its input, the shipped weights on CTranslate2, and what it tells apart."""

import json

import numpy as np
import pytest

from qa.verifier import FOLDER, MAX_TOKENS, Pair, Verifier, VerifierError, mark, second_text
from tests.cpus import cpu_kinds

STATES = "Ines Marlow, 52, has worked on the Kelby Ferry for 20 years."


def test_the_candidate_is_marked_where_the_sentence_holds_it():
    assert mark(STATES, "Ines Marlow") == "«Ines Marlow», 52, has worked on the Kelby Ferry for 20 years."


def test_a_candidate_is_marked_however_the_sentence_writes_it():
    assert "«52»" in mark(STATES, "52 years old")


def test_a_sentence_that_does_not_hold_the_candidate_is_left_unmarked():
    assert mark(STATES, "Tobias Wren") == STATES


def test_the_sentence_before_is_read_as_context_first():
    text = second_text(Pair("How old is the captain?", "52", STATES, "Captain Ines Marlow runs the ferry."))
    assert text.startswith("52 [SEP] Captain Ines Marlow runs the ferry. ") and "«52»" in text


@pytest.fixture(scope="module")
def verifier():
    return Verifier()


def test_the_shipped_weights_say_how_and_when_they_were_trained():
    trained = json.loads((FOLDER / "head.json").read_text(encoding="utf-8"))["trained"]
    assert {"when", "command", "data", "check_half_auroc"} <= set(trained)


def test_scores_are_probabilities_one_per_pair_in_order(verifier):
    pairs = [Pair("How old is Ines Marlow?", "52", STATES), Pair("How old is Ines Marlow?", "20 years", STATES)]
    scores = verifier.score(pairs)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    assert float(verifier.score(pairs[1:])[0]) == pytest.approx(float(scores[1]), abs=1e-4)


def test_a_very_long_sentence_is_truncated_not_refused(verifier):
    assert verifier.score([Pair("Who?", "Ines Marlow", STATES * 40)]).shape == (1,)
    assert len(verifier.tokenizer.encode("Who?", second_text(Pair("Who?", "x", STATES * 40))).ids) == MAX_TOKENS


@pytest.mark.parametrize("kind", ["intel-amx", "intel", "amd"])
def test_each_kind_of_cpu_runs_it_in_int8(kind):
    assert Verifier(cpu=cpu_kinds()[kind]).compute_type == "int8"


def test_missing_weights_name_the_command_that_makes_them(tmp_path):
    with pytest.raises(VerifierError, match="make verifier"):
        Verifier(tmp_path)


# What the trained weights tell apart, on invented text: the sentence that states the answer against the near
# misses the verifier was trained on (no threshold: only the order, by a clear factor).
ASKED = "In which town does the glassblower Ada Brennok live?"


def test_a_sentence_that_states_the_answer_outscores_one_about_the_subject_that_does_not(verifier):
    stated, missed = verifier.score([Pair(ASKED, "Tarvik", "Ada Brennok lives in Tarvik."),
                                     Pair(ASKED, "Tarvik", "Ada Brennok (born 1900) is a glassblower.")])
    assert stated > 3 * missed


def test_the_right_name_outscores_another_name_of_the_same_kind(verifier):
    right, other = verifier.score([Pair(ASKED, "Tarvik", "Ada Brennok lives in Tarvik."),
                                   Pair(ASKED, "Bram Casmire", "Bram Casmire lives in Tarvik.")])
    assert right > 3 * other


def test_a_value_of_the_kind_asked_outscores_one_of_another_kind(verifier):
    library = "The Westford public library won the national design award in 2019."
    year, who = verifier.score([Pair("In what year did the Westford library win the design award?", "2019", library),
                                Pair("Who designed the Westford public library?", "2019", library)])
    assert year > 3 * who


def test_a_question_longer_than_its_window_is_still_scored(verifier):
    (p,) = verifier.score([Pair("Who was Ada Brennok? " * 80, "Tarvik", "Ada Brennok lives in Tarvik.")])
    assert 0.0 <= p <= 1.0
