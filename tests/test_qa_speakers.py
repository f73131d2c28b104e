from qa.answer import Evidence
from qa.speakers import attribution, with_speakers

TEXT = ("The council met on Monday.\n"
        "Ms Jones, the council leader, said: “We must act now.\n"
        "“Carrying on like this is a huge risk.\n"
        "“We will not wait.”\n"
        "“Nobody asked us,” said Mr Smith.\n")


def span_of(sentence: str) -> tuple[int, int]:
    start = TEXT.index(sentence)
    return start, start + len(sentence)


def test_continued_quote_is_attributed_to_the_paragraph_that_opened_it():
    start, _ = span_of("“We will not wait.”")
    assert attribution(TEXT, start) == span_of("Ms Jones, the council leader, said: “We must act now.")


def test_sentence_outside_a_quote_has_no_attribution():
    assert attribution(TEXT, 0) is None


def test_quote_naming_its_own_speaker_is_left_alone():
    assert attribution(TEXT, TEXT.index("“Nobody")) is None


def test_attribution_is_offered_just_before_the_quote():
    start, end = span_of("“Carrying on like this is a huge risk.")
    evidence = [Evidence(1, "a.txt", "A", TEXT[start:end], start, end, 0.9)]
    out = with_speakers(evidence, lambda source: TEXT)
    assert [e.text for e in out] == ["Ms Jones, the council leader, said: “We must act now.", evidence[0].text]
    assert out[0].score == 0.9
