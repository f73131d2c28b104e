"""Which sentences state an answer. Invented sentences, not the seeds'."""

from qa.analysis import analyse
from qa.answer import Evidence
from qa.citing import cite, key_terms, strip_markers


def ev(text: str, source: str = "a.txt", score: float = 1.0, start: int = 0) -> Evidence:
    return Evidence(0, source, "Title", text, start, start + len(text), score)


SENTENCES = [
    ev("The ferry Northern Star, built in 1961, carried 300 passengers.", "ferry.txt", 1.0, 0),
    ev("Captain Ines Varga retired in 1990.", "ferry.txt", 0.9, 70),
    ev("The Lintrow festival moved to the harbour in 2004.", "festival.txt", 0.8, 0),
]


def test_markers_are_stripped_in_every_form():
    assert strip_markers("Built in 1961 [1][2, 3].") == "Built in 1961."


def test_key_terms_are_what_the_answer_adds_to_the_question():
    assert key_terms("The Northern Star was built in 1961", analyse("When was the Northern Star built?")) == {"1961"}


def test_an_open_answer_is_cited_to_the_sentence_that_states_it():
    claim = cite("300 passengers", analyse("How many passengers did the Northern Star carry?"), SENTENCES)
    assert claim.supported and [c.start for c in claim.citations] == [0]


def test_a_reworded_unit_is_still_supported():
    sentences = [ev("The anchor weighed 115 lb.", "anchor.txt")]
    assert cite("115 lbs", analyse("How heavy was the anchor?"), sentences).supported


def test_an_answer_no_sentence_states_is_unsupported():
    claim = cite("Marta Ilves", analyse("Who captained the Northern Star?"), SENTENCES)
    assert not claim.supported and claim.citations == ()


def test_an_answer_that_only_restates_the_question_is_unsupported():
    assert not cite("the Northern Star", analyse("Which ferry carried 300 passengers?"), SENTENCES[1:]).supported


def test_two_sentences_can_state_an_answer_together():
    claim = cite("1961 and 1990", analyse("When was the ferry built and when did its captain retire?"), SENTENCES)
    assert claim.supported and {c.start for c in claim.citations} == {0, 70}


def test_the_same_fact_in_a_second_document_is_cited_too():
    sentences = [ev("The harbour opened in 1902.", "a.txt"), ev("In 1902 the harbour opened.", "b.txt")]
    assert [c.source for c in cite("1902", analyse("When did the harbour open?"), sentences).citations] == \
        ["a.txt", "b.txt"]


def test_a_partial_answer_needs_the_configured_support():
    sentences = [ev("The ferry was painted blue.", "a.txt")]
    analysis = analyse("What colour was the ferry's hull?")
    assert not cite("blue and white", analysis, sentences).supported
    assert cite("blue and white", analysis, sentences, min_support=0.5).supported


def test_a_yes_no_answer_cites_a_sentence_about_each_name():
    sentences = [ev("Delia Frost is an English painter.", "frost.txt"), ev("Omar Haig paints murals.", "haig.txt"),
                 ev("The gallery opened in May.", "gallery.txt")]
    claim = cite("Yes", analyse("Are Delia Frost and Omar Haig both painters?"), sentences)
    assert claim.supported and [c.source for c in claim.citations] == ["frost.txt", "haig.txt"]


def test_a_yes_no_answer_about_a_name_no_sentence_mentions_is_unsupported():
    sentences = [ev("Delia Frost is an English painter.", "frost.txt")]
    assert not cite("No", analyse("Are Delia Frost and Omar Haig both painters?"), sentences).supported


def test_a_choice_cites_a_sentence_about_each_option():
    sentences = [ev("The Brenner Hall opened in 1921.", "hall.txt"), ev("The Osk Pavilion opened in 1958.", "osk.txt")]
    claim = cite("The Brenner Hall", analyse("Which opened first, the Brenner Hall or the Osk Pavilion?"), sentences)
    assert claim.supported and {c.source for c in claim.citations} == {"hall.txt", "osk.txt"}


def test_a_marked_sentence_that_states_the_answer_is_cited_first():
    offered = [Evidence(1, "a.txt", "A", "The ferry carried 300 passengers on its first day.", 0, 50, 1.0),
               Evidence(2, "b.txt", "B", "The ferry carried 300 passengers.", 0, 33, 0.9)]
    claim = cite("The ferry carried 300 passengers. [2]", analyse("How many passengers did the ferry carry?"),
                 offered, offered=offered)
    assert claim.citations[0].source == "b.txt"


def test_a_name_made_of_common_words_is_matched_word_for_word():
    sentences = [ev("Ines Varga also sings in The Who Knows with Tomas Berg.", "band.txt")]
    claim = cite("The Who Knows", analyse("Which band does Ines Varga sing in with Tomas Berg?"), sentences)
    assert claim.supported
