"""A follow-up is rewritten only when it cannot stand alone, and only from the previous turn."""

from qa.followup import stands_alone, standalone_question

HISTORY = [("Who captained the Northern Star?", "Ines Varga [1]")]


def test_a_pronoun_after_a_name_in_the_question_stands_alone():
    assert stands_alone("How old was Tomas Berg when he retired?")


def test_a_question_naming_someone_is_not_rewritten_by_an_unrelated_turn():
    assert standalone_question("How old was Tomas Berg when he retired?", HISTORY) == \
        "How old was Tomas Berg when he retired?"


def test_a_pronoun_without_a_name_takes_the_person_who_answered_a_who_question():
    assert standalone_question("How old was she?", HISTORY) == "How old was Ines Varga?"


def test_a_pronoun_takes_the_person_the_previous_question_named():
    history = [("When did Tomas Berg retire?", "In 1990 [1]")]
    assert standalone_question("Where was he born?", history) == "Where was Tomas Berg born?"


def test_a_fragment_keeps_its_own_question_first_and_leans_on_the_previous_one():
    assert standalone_question("And the mate?", HISTORY) == \
        "And the mate? (following: Who captained the Northern Star?)"


def test_it_takes_the_thing_the_previous_question_named():
    history = [("Who cut the ribbon on the Orvale Viaduct?", "Ines Varga [1]")]
    assert standalone_question("When did it reopen?", history) == "When did the Orvale Viaduct reopen?"


def test_a_question_without_history_is_unchanged():
    assert standalone_question("How old was she?", None) == "How old was she?"


def test_only_the_previous_turn_lends_a_name():
    history = [("When did Tomas Berg retire?", "In 1990 [1]"), ("What is the weather?", "Rain [1]")]
    assert "Tomas Berg" not in standalone_question("Where was he born?", history)


def test_after_a_who_question_he_is_the_person_the_answer_named():
    history = [("Who shot the driver, Tomas Berg?", "Sergeant Ines Varga [1]")]
    assert standalone_question("How old is she?", history) == "How old is Sergeant Ines Varga?"


def test_after_a_who_question_answered_without_a_name_he_is_described_by_the_question():
    history = [("Who shot Tomas Berg?", "The officer shot Tomas Berg [1].")]
    assert standalone_question("How old is he?", history) == "How old is the person who shot Tomas Berg?"


def test_after_another_question_he_is_the_person_the_question_named():
    history = [("How old is Ines Varga?", "41 [1]")]
    assert standalone_question("Who shot her?", history) == "Who shot Ines Varga?"


def test_a_question_asked_again_with_a_pronoun_keeps_its_person():
    history = [("Who shot Tomas Berg?", "The officer shot Tomas Berg [1].")]
    assert standalone_question("Who shot him?", history) == "Who shot Tomas Berg?"


def test_a_follow_up_of_a_follow_up_is_resolved_through_the_whole_conversation():
    history = [("Who shot Tomas Berg?", "Ines Varga [1]"), ("Who shot him?", "Ines Varga [1]")]
    assert standalone_question("How old is she?", history) == "How old is Ines Varga?"


def test_a_question_that_says_what_its_pronoun_is_stands_alone():
    assert stands_alone("Which ferry resumed its crossings on Monday after a storm?")
    assert not stands_alone("When did it reopen?")


def test_a_follow_up_is_about_the_answers_person_not_a_place_or_another_sources_answer():
    from qa.followup import standalone_question

    history = [("Who cut the ribbon?", "Alice Grant cut the ribbon in Harbour Town [1]. However, another source "
                                       "says: Bob Stone [2].")]
    assert standalone_question("How old is she?", history) == "How old is Alice Grant?"
