"""The coverage-risk plot draws the near-miss questions apart: where the unanswerable question looks answerable."""

from eval.plots import near_miss_part, plot_coverage_risk


def question(i: int, kind: str, answerable: bool, probability: float) -> dict:
    return {"question": f"q{i}?", "answerable": answerable, "answers": ["Tarvik"] if answerable else [], "type": kind,
            "results": {"m": {"candidate": "Tarvik", "probability": probability, "abstained": probability < 0.5,
                              "signals": {"coverage": probability}, "error": ""}}}


def run(*kinds: str) -> dict:
    questions = [question(i, kind, kind == "span", 0.3 + 0.1 * i) for i, kind in enumerate(kinds)]
    return {"run": {"generators": ["m"]}, "questions": questions}


def test_the_near_miss_part_keeps_answerable_and_near_miss_questions_only():
    part = near_miss_part(run("span", "near_miss", "unanswerable", "span"))
    assert [q["type"] for q in part["questions"]] == ["span", "near_miss", "span"]


def test_a_run_without_near_miss_questions_has_no_near_miss_part():
    assert near_miss_part(run("span", "unanswerable")) is None


def test_the_plot_is_drawn_with_both_curves(tmp_path):
    assert plot_coverage_risk(run("span", "near_miss", "unanswerable", "span"), tmp_path / "cr.png").stat().st_size > 0
