from qa.attribution import names_the_speaker

SENTENCE = "Mr Taylor said the Met will ask a chief officer from another force to chair the hearing."


def test_speaker_is_not_the_answer_to_a_question_about_the_report():
    assert names_the_speaker("Mr Taylor", SENTENCE, "Which chief officer will chair the hearing?")


def test_speaker_answers_a_question_about_who_said_it():
    assert not names_the_speaker("Mr Taylor", SENTENCE, "Who said a chief officer will chair the hearing?")


def test_speaker_described_by_the_question_is_the_answer():
    sentence = "Labour's policing spokesperson Unmesh Desai said: “We know officers are needed.”"
    assert not names_the_speaker("Unmesh Desai", sentence, "Who is Labour's policing spokesperson?")


def test_answer_from_the_report_is_not_the_speaker():
    assert not names_the_speaker("a chief officer", SENTENCE, "Who will chair the hearing?")


def test_speaker_answers_a_question_about_a_reporting_verb():
    sentence = "The regulator said it has criticised all parties for letting the dispute play out publicly."
    assert not names_the_speaker("The regulator", sentence, "Which body criticised all parties to the dispute?")
