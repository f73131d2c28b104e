"""Each step of an answer on its own, on invented articles, over a real index."""

import threading

import pytest

from qa.analysis import analyse
from qa.answer import Citation, Confidence, Evidence
from qa.citing import CitedClaim
from qa.evidence import EvidenceSelector
from qa.judge import LANGUAGE_MODEL, Heads, Judge, Weights
from qa.prompt import Prompt
from qa.signals import measure
from qa.steps import (
    BuildPrompt,
    Cite,
    Complete,
    DecideYesNo,
    Generate,
    JudgeStep,
    Reader,
    Repair,
    Retrieve,
    Select,
    Support,
    Understand,
    Verify,
)
from qa.work import Work
from tests.support import ScriptedGenerator, ScriptedVerifier


@pytest.fixture
def index(make_index, corpus):
    index = make_index()
    index.add([corpus])
    return index


def found(index, question: str, top_k: int = 2) -> Work:
    """A work that has been through understanding, retrieval and selection."""
    work = Work(question)
    for step in (Understand(), Retrieve(index, top_k=top_k, depth=2), Select(EvidenceSelector(index.embed))):
        list(step.run(work))
    return work


def evidence(text: str, source: str = "a.txt", start: int = 0) -> Evidence:
    return Evidence(1, source, "A", text, start, start + len(text), 1.0)


def drafted(question: str, answer: str, sentences: list[Evidence], confidence=Confidence()) -> Work:
    work = Work(question, asked=question, analysis=analyse(question), sentences=sentences, answer=answer,
                draft=answer, confidence=confidence)
    work.prompt = Prompt(work.analysis, tuple(sentences), ({"role": "user", "content": question},))
    return work


def test_understand_resolves_a_follow_up_before_analysing_it():
    work = Work("How old was she?", [("Who cut the ribbon?", "Alice Grant [1]")])
    list(Understand().run(work))
    assert work.asked == "How old was Alice Grant?" and work.analysis.kind.value == "number"


def test_retrieve_searches_once_and_keeps_the_rest_in_reserve(index):
    work = found(index, "Who cut the ribbon on the Harbour Bridge?", top_k=1)
    assert len(work.passages) == 1 and work.passages[0].source == "harbour.txt"
    assert work.reserve and work.snapshot is not None and work.vector.shape == (1, 384)


def test_select_ranks_sentences_of_the_retrieved_passages(index):
    work = found(index, "Who cut the ribbon on the Harbour Bridge?")
    assert "Alice Grant cut the ribbon" in work.sentences[0].text and work.rejected is None


def test_select_withholds_an_answer_when_nothing_is_relevant(index):
    assert found(index, "What is the boiling point of mercury?").rejected.check == "relevant"


def test_the_window_prompt_shows_a_sentence_with_its_neighbours_under_its_title(index):
    work = found(index, "Who cut the ribbon on the Harbour Bridge?")
    list(BuildPrompt(ScriptedGenerator("x"), EvidenceSelector(index.embed), "windows", 60, 1).run(work))
    content = work.prompt.messages[-1]["content"]
    assert "Mayor Alice Grant cut the ribbon at noon." in content and "Traffic was light" in content
    assert "Harbour bridge reopens" in content


def test_generate_streams_the_draft_and_counts_the_call():
    work = drafted("Who won?", "", [evidence("Ines Varga won the race.")])
    pieces = list(Generate(ScriptedGenerator("Ines Varga"), threading.Lock()).run(work))
    assert pieces == ["Ines", " Varga"] and work.draft == "Ines Varga" and work.calls == 1
    assert work.confidence.first == pytest.approx(0.9)


def test_yes_no_is_decided_by_the_share_of_yes():
    work = drafted("Did Ines Varga win?", "Yes", [], Confidence(-0.1, 0.0, 0.6))
    list(DecideYesNo(threshold=0.9).run(work))
    assert work.answer == "No"


def test_cite_finds_the_sentence_that_states_the_answer():
    sentences = [evidence("The race was long."), evidence("Ines Varga won the race.", start=20)]
    work = drafted("Who won the race?", "Ines Varga", sentences)
    list(Cite().run(work))
    assert work.claim.supported and work.claim.citations[0].start == 20


def test_complete_quotes_the_whole_name_from_the_cited_sentence():
    work = drafted("Which canal was built?", "Chenango", [])
    work.claim = CitedClaim("Chenango", (Citation.of(evidence("The Chenango Canal was built in 1836."), 1),), True)
    list(Complete().run(work))
    assert work.claim.text == "Chenango Canal"


def test_verify_records_the_share_of_yes_and_counts_the_call():
    work = drafted("Who won?", "Ines Varga", [evidence("Ines Varga won the race.")])
    list(Cite().run(work))
    list(Verify(ScriptedGenerator("x", yes=0.7), threading.Lock()).run(work))
    assert work.signals["verified"] == pytest.approx(0.7) and work.calls == 1


# A judge whose decision hangs on the verification alone: it can never settle without it.
VERIFIED_JUDGE = Judge(weights={LANGUAGE_MODEL: Heads(Weights(("verified",), (0.5,), (0.25,), (4.0,), 0.0, 0.5),
                                                      Weights(("verified",), (0.5,), (0.25,), (0.0,), 9.0, 0.0))})


def judged(question: str, asked: str, verify_when_it_matters: bool) -> Work:
    generator = ScriptedGenerator("x", yes=0.9)
    work = drafted(asked, "Ines Varga", [evidence("Ines Varga won the race.")])
    work.question = question
    list(Cite().run(work))
    list(JudgeStep(VERIFIED_JUDGE, generator, Verify(generator, threading.Lock()), verify_when_it_matters).run(work))
    return work


def test_the_judge_does_not_ask_the_verification_by_default():
    assert judged("Who won?", "Who won?", verify_when_it_matters=False).calls == 0


def test_the_judge_asks_the_verification_when_it_could_change_the_decision_if_told_to():
    work = judged("Who won?", "Who won?", verify_when_it_matters=True)
    assert work.calls == 1 and work.signals["verified"] == pytest.approx(0.9)


def test_a_follow_up_is_always_verified():
    assert judged("Who won it?", "Who won the race?", verify_when_it_matters=False).calls == 1


def test_the_signals_say_what_the_cited_documents_hold_of_the_question():
    sentences = [evidence("Ines Varga won the race in Eastport.")]
    work = drafted("Who won the race in Eastport?", "Ines Varga", sentences)
    list(Cite().run(work))
    signals = measure(work)
    assert (signals["coverage"], signals["lexical_top"], signals["kind"], signals["supported"]) == (1.0, 0.0, 1.0, 1.0)


def test_the_signals_see_an_answer_that_holds_no_name_for_who():
    work = drafted("Who won the race?", "the favourite", [evidence("The favourite won the race.")])
    list(Cite().run(work))
    assert measure(work)["kind"] == 0.0


PERSON_JUDGE = Judge(weights={LANGUAGE_MODEL: Heads(Weights(("kind",), (0.5,), (0.5,), (3.0,), 0.0, 0.5),
                                                    Weights(("kind",), (0.5,), (0.5,), (0.0,), 9.0, 0.0))})


def repairable(generator: ScriptedGenerator) -> tuple[Work, list]:
    sentences = [evidence("The officer, sergeant Ines Varga, fired the shot.")]
    work = drafted("Who fired the shot?", "", sentences)
    lock = threading.Lock()
    drafting = [Generate(generator, lock), Cite(), JudgeStep(PERSON_JUDGE, generator)]
    for step in drafting:
        list(step.run(work))
    return work, drafting


def test_a_description_where_a_person_was_asked_is_asked_again_with_the_reason():
    generator = ScriptedGenerator("The officer", after_hint={"person's name": "Ines Varga"})
    work, drafting = repairable(generator)
    assert work.rejected is not None
    list(Repair(generator, PERSON_JUDGE, drafting).run(work))
    assert work.rejected is None and work.claim.text == "Ines Varga" and work.repaired == "kind"


def test_a_second_draft_that_fails_too_abstains():
    generator = ScriptedGenerator("The officer")
    work, drafting = repairable(generator)
    list(Repair(generator, PERSON_JUDGE, drafting).run(work))
    assert work.rejected is not None and work.calls == 2


# -- the verifier's steps ---------------------------------------------------------------------------------------
FERRY = ("Ines Marlow spoke at the launch of the Kelby Ferry. Captain Ines Marlow said the crossings would run "
         "hourly. The crossings resumed on 3 March 2021.")


def ferry_sentences() -> list[Evidence]:
    out, at = [], 0
    for n, text in enumerate(["Ines Marlow spoke at the launch of the Kelby Ferry.",
                              "Captain Ines Marlow said the crossings would run hourly.",
                              "The crossings resumed on 3 March 2021."], start=1):
        start = FERRY.index(text, at)
        out.append(Evidence(n, "ferry.txt", "Ferry", text, start, start + len(text), 1.0 - n / 10))
        at = start + len(text)
    return out


def read_work(question: str, answer: str) -> Work:
    work = drafted(question, answer, ferry_sentences())
    work.texts["ferry.txt"] = FERRY
    list(Cite().run(work))
    return work


def states_hourly(pair) -> float:
    """The sentence about the hourly crossings states who said it; nothing else states anything."""
    return 0.9 if "hourly" in pair.sentence and pair.candidate == "Ines Marlow" else 0.2


def selector() -> EvidenceSelector:
    return EvidenceSelector(lambda texts: None)


def test_support_cites_the_sentence_that_states_the_answer_not_the_first_that_holds_it():
    work = read_work("Who said the crossings would run hourly?", "Ines Marlow")
    assert "spoke at the launch" in work.claim.citations[0].text  # the best-ranked sentence holding the name
    list(Support(ScriptedVerifier(states_hourly), selector()).run(work))
    assert "hourly" in work.claim.citations[0].text and work.support[0][1] == pytest.approx(0.9)


def test_the_verifiers_best_score_is_the_judges_signal():
    work = read_work("Who said the crossings would run hourly?", "Ines Marlow")
    list(Support(ScriptedVerifier(states_hourly), selector()).run(work))
    assert measure(work)["verifier"] == pytest.approx(0.9)


def test_the_verifier_reads_each_sentence_after_the_one_before_it():
    verifier = ScriptedVerifier(states_hourly)
    list(Support(verifier, selector()).run(read_work("Who said the crossings would run hourly?", "Ines Marlow")))
    hourly = next(p for p in verifier.seen if "hourly" in p.sentence)
    assert hourly.before == "Ines Marlow spoke at the launch of the Kelby Ferry."


def test_support_leaves_a_yes_no_answer_to_its_comparison():
    work = read_work("Did Ines Marlow say the crossings would run hourly?", "Yes")
    verifier = ScriptedVerifier(states_hourly)
    list(Support(verifier, selector()).run(work))
    assert work.support == () and verifier.seen == []


def test_the_reader_answers_with_a_name_the_verifier_reads_as_clearly_better_than_the_draft():
    work = read_work("Who said the crossings would run hourly?", "The captain")
    for step in (Support(ScriptedVerifier(states_hourly), selector()), Reader()):
        list(step.run(work))
    assert (work.claim.text, work.read) == ("Ines Marlow", True) and "hourly" in work.claim.citations[0].text


def test_the_reader_keeps_a_draft_the_verifier_reads_as_well_stated():
    work = read_work("Who said the crossings would run hourly?", "Captain Ines Marlow")
    verifier = ScriptedVerifier(lambda pair: 0.85 if "hourly" in pair.sentence else 0.2)
    for step in (Support(verifier, selector()), Reader()):
        list(step.run(work))
    assert work.claim.text == "Captain Ines Marlow" and not work.read


def test_the_reader_answers_where_the_generator_refused():
    work = read_work("Who said the crossings would run hourly?", "unknown")
    for step in (Support(ScriptedVerifier(states_hourly), selector()), Reader()):
        list(step.run(work))
    assert work.claim.text == "Ines Marlow" and work.read


def test_only_spans_of_the_kind_asked_are_read():
    verifier = ScriptedVerifier(lambda pair: 0.0)
    list(Support(verifier, selector()).run(read_work("Who said the crossings would run hourly?", "The captain")))
    assert verifier.seen and all("2021" not in p.candidate for p in verifier.seen)


def test_the_best_reading_is_the_judges_span_signal():
    work = read_work("Who said the crossings would run hourly?", "The captain")
    list(Support(ScriptedVerifier(states_hourly), selector()).run(work))
    assert measure(work)["span_top"] == pytest.approx(0.9)


def test_without_a_verifier_neither_step_changes_the_answer():
    work = read_work("Who said the crossings would run hourly?", "The captain")
    for step in (Support(None, selector()), Reader()):
        list(step.run(work))
    assert work.claim.text == "The captain" and work.support == () and work.readings == () and not work.read
