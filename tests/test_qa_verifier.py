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
