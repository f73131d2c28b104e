"""Training the judge on invented examples: the fit, the threshold for a stated risk, the ablation."""

import json

import numpy as np

from eval.calibrate import (
    Example,
    ablation,
    auroc,
    best_risk,
    examples,
    fit,
    frontier,
    kept,
    probabilities,
    score,
    threshold_for,
    write_weights,
)


def rows(n: int = 60) -> list[Example]:
    """`good` separates right from wrong answers, `answered` answerable questions from the others; `noise`
    neither."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        answerable = i % 3 != 0
        right = answerable and i % 2 == 0
        out.append(Example(f"q{i}", answerable, right, True, {"good": float(right) + rng.normal(0, 0.3),
                                                              "answered": float(answerable) + rng.normal(0, 0.3),
                                                              "noise": float(rng.normal())}))
    return out


def test_a_separating_signal_gets_a_high_auroc():
    train = rows()
    heads = fit(train, ["good", "answered", "noise"])
    assert auroc(probabilities(heads, train), np.array([r.right for r in train])) > 0.9


def test_the_threshold_keeps_wrong_answers_under_the_stated_risk():
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    right = np.array([True, True, False, True, False])
    assert threshold_for(p, right, 0.25) == 0.6  # the four best are wrong 1 time in 4


def test_the_ablation_has_a_row_per_signal_and_one_without_the_judge():
    table = ablation(rows(), rows(40), ["good", "answered", "noise"])
    assert [r["removed"] for r in table] == ["", "good", "answered", "noise", "judge"]
    assert table[0]["auroc"] > table[1]["auroc"]


def test_the_answers_head_keeps_unanswerable_questions_out_at_the_stated_risk():
    heads = fit(rows(), ["good", "answered", "noise"], risk=0.05)
    assert score(rows(90), kept(heads, rows(90)))["unanswerable_abstained"] >= 0.9


def test_an_answer_withheld_before_the_judge_is_no_example_but_still_a_question():
    document = {"questions": [
        {"question": "a?", "answerable": True, "answers": ["41"],
         "results": {"m": {"candidate": "41", "signals": {"good": 1.0}, "error": "", "checks": [["judge", True]]}}},
        {"question": "b?", "answerable": False, "answers": [],
         "results": {"m": {"candidate": "", "signals": {}, "error": ""}}}]}
    found = examples(document, "m")
    assert [(e.right, e.reached) for e in found] == [(True, True), (False, False)]


def test_writing_one_family_keeps_the_other(tmp_path):
    path = tmp_path / "judge.json"
    write_weights(path, "extractive", {"features": ["a"]}, {"on": "x"})
    write_weights(path, "language-model", {"features": ["b"]}, {"on": "y"})
    assert set(json.loads(path.read_text())["judges"]) == {"extractive", "language-model"}


def test_a_higher_stated_risk_declines_fewer_answerable_questions():
    strict, loose = frontier(rows(), rows(90), ["good", "answered", "noise"], [0.02, 0.3])
    assert loose["answerable_abstained"] < strict["answerable_abstained"]


def test_the_stated_risk_chosen_is_one_of_those_offered():
    assert best_risk(rows(), ["good", "answered", "noise"], (0.05, 0.2)) in (0.05, 0.2)


def test_where_most_questions_are_answered_right_a_looser_risk_passes_more():
    """Few unanswerable questions, and the signals cannot tell them apart: declining costs more than it saves."""
    rng = np.random.default_rng(1)
    mostly = [Example(f"q{i}", i % 10 != 0, i % 10 not in (0, 5), True, {"noise": float(rng.normal())}) for i in range(100)]
    assert best_risk(mostly, ["noise"], (0.01, 0.5)) == 0.5
