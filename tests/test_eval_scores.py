"""Per-question scores summed up: false abstention, citing the question's own document, and their comparison."""

from __future__ import annotations

from dataclasses import dataclass, field

from eval.compare import compare
from eval.dataset import parse_question
from eval.runner import QuestionResult, score_answer
from eval.summary import summarize_answers
from tests.support import Cite

DOCS = {"a.txt": "Ada Brennok lives in Tarvik.", "b.txt": "Tarvik has a harbour."}


@dataclass(frozen=True)
class FakeAnswer:
    """What score_answer reads of a qa.answer.Answer."""

    text: str
    abstained: bool = False
    citations: tuple[Cite, ...] = ()
    conflict: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    reason: str = ""


def cite(source: str) -> Cite:
    return Cite(1, source, DOCS[source], 0, len(DOCS[source]))


ANSWERABLE = parse_question({"id": "q", "question": "Where does Ada Brennok live?", "answers": ["Tarvik"],
                             "type": "span", "source": "a.txt", "evidence": DOCS["a.txt"]}, "t:1")
UNANSWERABLE = parse_question({"id": "u", "question": "Who is Ada's sister?", "answers": [], "type": "unanswerable",
                               "answerable": False}, "t:2")


def result(question, answer: FakeAnswer, n: int) -> QuestionResult:
    scored = score_answer(question, answer, "x", DOCS.get)
    renamed = parse_question({**question.to_dict(), "id": f"{question.id}{n}"}, "t")
    return QuestionResult(renamed, True, {}, {"x": scored})


def test_false_abstention_is_the_share_of_answerable_questions_abstained_on():
    results = [result(ANSWERABLE, FakeAnswer("", abstained=True), 1),
               result(ANSWERABLE, FakeAnswer("Tarvik [1]", citations=(cite("a.txt"),)), 2),
               result(UNANSWERABLE, FakeAnswer("", abstained=True), 3)]
    assert summarize_answers(results, "x").false_abstention == 0.5


def test_cites_source_counts_answers_citing_their_own_document_among_those_that_answered():
    results = [result(ANSWERABLE, FakeAnswer("Tarvik [1]", citations=(cite("a.txt"),)), 1),
               result(ANSWERABLE, FakeAnswer("Tarvik [1]", citations=(cite("b.txt"),)), 2),
               result(ANSWERABLE, FakeAnswer("", abstained=True), 3)]
    assert summarize_answers(results, "x").cites_source == 0.5


def test_an_answer_to_an_unanswerable_question_has_no_source_to_cite():
    outcome = score_answer(UNANSWERABLE, FakeAnswer("Tarvik [1]", citations=(cite("a.txt"),)), "x", DOCS.get)
    assert outcome.cites_source is None


def run_document(false_abstention: float) -> dict:
    return {"run": {"generators": ["x"], "modes": [], "set_sha256": "s", "started": "t"}, "questions": [],
            "summary": {"answers": {"x": {"false_abstention": false_abstention}}, "retrieval": {}}}


def test_more_false_abstention_than_before_is_a_drop():
    comparison = compare(run_document(0.05), run_document(0.10))
    assert [m.metric for m in comparison.drops] == ["false_abstention"] and not comparison.rises
