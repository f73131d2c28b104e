"""The real default generator on a few seed questions. Slow (about 1 minute): kept to a handful."""

import pytest

from qa.assistant import Assistant

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, embedder):
    from tests.conftest import SEEDS

    a = Assistant(index_dir=tmp_path_factory.mktemp("seed-index"), generator="default", embedder=embedder)
    a.add([SEEDS])
    return a


def test_age_is_answered_and_cited_to_the_right_sentence(assistant):
    answer = assistant.ask("How old was Chris Kaba when he was shot?")
    assert not answer.abstained and "24" in answer.text
    assert any("24" in c.text and "Kaba" in c.text for c in answer.citations)
    for c in answer.citations:
        assert assistant.document_text(c.source)[c.start:c.end] == c.text


def test_date_is_answered_from_the_documents(assistant):
    answer = assistant.ask("On what date was Chris Kaba shot?")
    assert not answer.abstained and "2022" in answer.text and "September" in answer.text


@pytest.mark.parametrize("question", ["What colour was the Audi Q8?", "What is the capital of France?"])
def test_unanswerable_questions_abstain(assistant, question):
    assert assistant.ask(question).abstained


def test_on_a_cpu_without_int16_the_seeds_are_indexed_and_answered(monkeypatch, tmp_path):
    """CTranslate2 restricted to an AMD EPYC's types: the whole path, from indexing to a cited answer."""
    from tests.conftest import SEEDS
    from tests.cpus import AMD_TYPES, ctranslate2_offering

    with ctranslate2_offering(monkeypatch, AMD_TYPES):
        amd = Assistant(index_dir=tmp_path / "amd", generator="default")
        amd.add([SEEDS])
        answer = amd.ask("How old was Chris Kaba when he was shot?")
    assert (amd.index.embedder.query_dtype, amd.generator.engine) == ("float32", "ctranslate2 int8")
    assert not answer.abstained and "24" in answer.text and answer.citations
