"""Answers of several cited sentences: which questions get one, how its sentences are chosen, written and checked."""

import threading

import pytest

from qa.analysis import Form, analyse
from qa.answer import Evidence
from qa.evidence import EvidenceSelector
from qa.longform import Check, Choose, Compose, Part, in_reading_order, render_parts, written_parts
from qa.work import Work
from tests.support import ScriptedGenerator

STORY = ("The council closed the Kelby Ferry on Monday. It said the pier was unsafe after a storm. "
         "Engineers found cracks in two of its piles. The ferry's captain, Ines Marlow, said: “We are heartbroken. "
         "“We will be back by summer.” The Kelby Ferry opened in 1901.")


@pytest.mark.parametrize("question", ["Why was the Kelby Ferry closed?", "How did the captain react?",
                                      "Summarise what happened to the ferry.", "What did Ines Marlow say?",
                                      "Describe the damage to the pier.", "What is Operation Beaconport?"])
def test_why_how_summary_and_what_did_x_say_questions_get_a_long_answer(question):
    assert analyse(question).form is Form.EXPLAIN


@pytest.mark.parametrize("question", ["How old is Ines Marlow?", "How many piles cracked?", "When did it close?",
                                      "How often does the ferry run?", "What is the name of the captain?",
                                      "Who is Ines Marlow?"])
def test_short_factual_questions_keep_a_short_answer(question):
    assert analyse(question).form is not Form.EXPLAIN


def sentences(scores: dict[str, float]) -> list[Evidence]:
    out = []
    for n, (text, score) in enumerate(sorted(scores.items(), key=lambda kv: -kv[1]), start=1):
        start = STORY.index(text)
        out.append(Evidence(n, "ferry.txt", "Ferry", text, start, start + len(text), score))
    return out


def work_with(question: str, ranked: list[Evidence]) -> Work:
    work = Work(question, asked=question, analysis=analyse(question), sentences=ranked)
    work.texts["ferry.txt"] = STORY
    return work


class Unit:
    """Sentence vectors for the selector: one axis per word that matters, so likeness is shared words."""

    AXES = ("ferry", "pier", "cracks", "captain", "storm", "1901", "heartbroken")

    def __call__(self, texts):
        import numpy as np

        rows = np.array([[float(a in t.lower()) for a in self.AXES] + [0.1] for t in texts])
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_choose_skips_a_sentence_that_says_what_a_chosen_one_says():
    ranked = sentences({"The council closed the Kelby Ferry on Monday.": 1.0, "The Kelby Ferry opened in 1901.": 0.99,
                        "It said the pier was unsafe after a storm.": 0.9})
    work = work_with("Why was the Kelby Ferry closed?", ranked)
    list(Choose(EvidenceSelector(Unit()), most=2, following=0, quoted=0).run(work))
    assert [e.text for e in work.chosen] == ["The council closed the Kelby Ferry on Monday.",
                                             "It said the pier was unsafe after a storm."]


def test_choose_leaves_out_what_scores_far_below_the_best():
    ranked = sentences({"It said the pier was unsafe after a storm.": 1.0, "The Kelby Ferry opened in 1901.": 0.3})
    work = work_with("Why was the pier unsafe?", ranked)
    list(Choose(EvidenceSelector(Unit()), floor=0.6, following=0, quoted=0).run(work))
    assert [e.text for e in work.chosen] == ["It said the pier was unsafe after a storm."]


def test_choose_follows_a_quote_that_goes_on_after_its_attribution():
    ranked = sentences({"The ferry's captain, Ines Marlow, said: “We are heartbroken.": 1.0})
    work = work_with("What did Ines Marlow say?", ranked)
    list(Choose(EvidenceSelector(Unit()), following=0, quoted=2).run(work))
    assert "“We will be back by summer.”" in [e.text for e in work.chosen]


def test_quoted_sentences_are_listed_in_reading_order_each_with_its_own_marker():
    ranked = sentences({"Engineers found cracks in two of its piles.": 1.0,
                        "It said the pier was unsafe after a storm.": 0.9})
    text, citations = render_parts([Part(e.text, (e,)) for e in in_reading_order(ranked)], listed=True)
    assert text == ("- It said the pier was unsafe after a storm [1].\n"
                    "- Engineers found cracks in two of its piles [2].")
    assert all(STORY[c.start:c.end] == c.text for c in citations)


def composed(draft: str) -> Work:
    ranked = sentences({"It said the pier was unsafe after a storm.": 1.0,
                        "Engineers found cracks in two of its piles.": 0.9})
    work = work_with("Why was the Kelby Ferry closed?", ranked)
    work.chosen = ranked
    list(Compose(ScriptedGenerator("", reply=draft), threading.Lock(), "compose").run(work))
    return work


def test_a_written_sentence_keeps_the_sources_its_markers_name():
    parts = written_parts("The pier was unsafe after a storm [1]. Its piles had cracks [2].",
                          sentences({"It said the pier was unsafe after a storm.": 1.0,
                                     "Engineers found cracks in two of its piles.": 0.9}))
    assert [(p.text, [e.text[:9] for e in p.cited]) for p in parts] == [
        ("The pier was unsafe after a storm.", ["It said t"]), ("Its piles had cracks.", ["Engineers"])]


def test_a_written_sentence_its_sources_do_not_hold_is_dropped_and_never_streamed():
    work = composed("The pier was unsafe after a storm [1]. The mayor resigned in protest [2].")
    streamed = "".join(Check().run(work))
    assert [p.text for p in work.parts] == ["The pier was unsafe after a storm."]
    assert "mayor" not in streamed and work.dropped == 1


def test_a_long_answer_declines_only_when_no_sentence_is_left():
    work = composed("The mayor resigned in protest [1].")
    list(Check().run(work))
    assert work.rejected is not None and work.rejected.check == "check"


def test_the_assistant_answers_a_why_question_with_several_cited_sentences(make_index, tmp_path):
    from qa.assistant import Assistant
    from tests.support import write_corpus

    corpus = write_corpus(tmp_path / "corpus", {"ferry.txt": "Ferry closed\n" + STORY + "\n"})
    index = make_index()
    index.add([corpus])
    answer = Assistant(index=index, generator="extractive").ask("Why was the Kelby Ferry closed?")
    assert not answer.abstained and answer.text.startswith("- ") and len(answer.citations) >= 2
    assert all(index.document(c.source).text[c.start:c.end] == c.text for c in answer.citations)
