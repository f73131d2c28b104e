from qa.counting import counted_terms, counts_asked

QUESTION = "How many police officers were involved in the stop?"


def test_counted_thing_is_the_phrase_after_how_many():
    assert counted_terms(QUESTION) == {"police", "officer"}
    assert counted_terms("Who was involved in the stop?") == set()


def test_number_next_to_the_counted_thing_answers():
    assert counts_asked("six", "Six police officers were involved in the stop.", QUESTION)


def test_number_counting_something_else_does_not_answer():
    assert not counts_asked("17", "The trial hinged on the following 17 seconds of the stop.", QUESTION)


def test_quantity_words_count_too():
    assert counts_asked("dozens", "Dozens of officers stood down.", "How many officers stood down?")
    assert not counts_asked("dozens", "Dozens of cars were towed away.", "How many officers stood down?")


def test_other_questions_are_not_checked():
    assert counts_asked("17", "The trial hinged on 17 seconds.", "How old was the officer?")


def test_whole_sentence_answers_are_not_checked():
    sentence = "He is the fourth officer charged since 1990, while 83 people have died."
    assert counts_asked(sentence, sentence, "How many officers have been charged?")
