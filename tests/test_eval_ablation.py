"""The ablation table: each check off in turn, from one run's recorded verdicts."""

from eval.ablation import Outcome, ablation, score


def contains(text, golds):
    return float(any(g.lower() in text.lower() for g in golds))


OUTCOMES = [
    # answered and right
    Outcome(True, ("1961",), "1961 [1]", "1961", (("answered", True), ("grounded", True))),
    # right, but rejected by grounded alone
    Outcome(True, ("Lintrow",), "The documents don't say.", "Lintrow", (("answered", True), ("grounded", False))),
    # unanswerable, rejected by grounded alone
    Outcome(False, (), "The documents don't say.", "Orvale", (("answered", True), ("grounded", False))),
    # unanswerable, rejected by both
    Outcome(False, (), "The documents don't say.", "unknown", (("answered", False), ("grounded", False))),
]


def test_the_configured_pipeline_scores_what_it_answered():
    row = score(OUTCOMES, contains)
    assert (row.containment, row.answerable_abstained, row.unanswerable_abstained) == (0.5, 0.5, 1.0)


def test_a_check_off_restores_the_answers_only_it_rejected():
    row = score(OUTCOMES, contains, frozenset({"grounded"}), "grounded")
    assert (row.containment, row.answerable_abstained, row.unanswerable_abstained) == (1.0, 0.0, 0.5)


def test_the_table_has_the_pipeline_each_check_and_none():
    assert [r.removed for r in ablation(OUTCOMES, contains)] == ["", "answered", "grounded", "all"]


def test_the_retrieval_gate_stays_on_whatever_is_removed():
    gated = [Outcome(True, ("x",), "The documents don't say.", "", (("relevant", False),))]
    assert score(gated, contains, frozenset({"relevant"})).answerable_abstained == 1.0
