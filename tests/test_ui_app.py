"""The chat's handlers, called directly: extractive generator, a tiny corpus in tmp_path, no browser."""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

import pytest

gr = pytest.importorskip("gradio")

from ui import conversation as conv  # noqa: E402
from ui.app import Parts, build_app  # noqa: E402
from ui.markdown import conversation_markdown  # noqa: E402

EVIL_NAME = '<img src=x onerror=alert(1)>.txt'
EVIL_TEXT = (
    "<script>alert('title')</script> Lighthouse report\n"
    "The Zanzibar lighthouse keeper <img src=x onerror=alert(2)> was Ottoline Brask, who served for 31 years.\n"
    "<script>document.title = 'pwned'</script> The lamp was replaced in 1998.\n"
)
CORPUS = {
    "harbour.txt": "Harbour bridge reopens\nThe Harbour Bridge in Eastport reopened on 3 March 2021 after repairs "
                   "costing 12 million pounds. Mayor Alice Grant cut the ribbon at noon.\nTraffic was light on the "
                   "first day.\n",
    "library.md": "# Library wins award\n\nThe Westford public library won the national design award in 2019. "
                  "Its architect, Tomas Berg, said the building uses recycled timber.\n",
    "market.html": "<html><head><title>Market fire</title><script>alert(1)</script></head><body><article>"
                   "<h1>Market fire</h1><p>A fire destroyed 40 stalls at the Northgate market on Sunday.</p>"
                   "<p>Fire chief Ruth Okoro said no one was hurt.</p></article></body></html>",
    EVIL_NAME: EVIL_TEXT,
}
STALLS = "How many stalls did the fire destroy?"
MERCURY = "What is the boiling point of mercury?"
OUTPUTS = ["chat", "conversation", "panel", "question", "ask", "stop", "export"]


@pytest.fixture(scope="module")
def built_index(tmp_path_factory, embedder) -> Path:
    """Index the tiny corpus once per module; each test works on its own copy."""
    from qa.assistant import Assistant

    root = tmp_path_factory.mktemp("ui-index")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in CORPUS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    report = Assistant(index_dir=root / "idx", generator="extractive", embedder=embedder).add([corpus])
    assert EVIL_NAME in report.added and not report.skipped
    return root / "idx"


@pytest.fixture
def assistant(tmp_path, built_index, embedder):
    from qa.assistant import Assistant

    shutil.copytree(built_index, tmp_path / "idx")
    return Assistant(index_dir=tmp_path / "idx", generator="extractive", embedder=embedder)


@pytest.fixture
def ui(assistant) -> Parts:
    return build_app(assistant).citeqa


def ask(ui: Parts, question: str, conversation=None, top_k=5) -> tuple[list[tuple], dict]:
    """Run the streaming handler to its end; returns every frame and the last one by output name."""
    frames = list(ui.chat.respond(question, conversation or [], "extractive", top_k))
    return frames, dict(zip(OUTPUTS, frames[-1], strict=True))


# -- answering -----------------------------------------------------------------------------------------
def test_the_question_shows_before_its_answer(ui):
    frames, _ = ask(ui, STALLS)
    first = dict(zip(OUTPUTS, frames[0], strict=True))
    assert "Searching" in first["panel"] and first["chat"][0]["content"] == STALLS
    assert "cq-streaming" in first["chat"][1]["content"]


def test_the_answer_shows_clickable_markers(ui):
    _, last = ask(ui, STALLS)
    shown = last["chat"][-1]["content"]
    assert "40 stalls" in shown and 'href="#cq-cite-0-1"' in shown and "cq-abstain" not in shown
    assert 'href="#cq-cite-0-1"' in last["panel"]  # the panel lists the citations to click


def test_the_page_keeps_each_answer_as_answer_to_dict(ui, assistant):
    _, last = ask(ui, STALLS)
    kept = last["conversation"][0]["answer"]
    expected = assistant.ask(STALLS).to_dict()
    assert json.loads(json.dumps(kept)) == kept  # plain data, for the browser to store
    assert {k: v for k, v in kept.items() if k != "timings"} == {k: v for k, v in expected.items() if k != "timings"}


def test_ask_is_disabled_and_stop_shown_while_an_answer_runs(ui):
    frames, last = ask(ui, STALLS)
    first = dict(zip(OUTPUTS, frames[0], strict=True))
    assert first["ask"].interactive is False and first["stop"].visible is True
    assert last["ask"].interactive is True and last["stop"].visible is False


@pytest.fixture
def streams(assistant, monkeypatch) -> list:
    """The Assistant's answer streams, as they are opened."""
    opened = []
    real = assistant.stream

    def kept(question, history=None, k=None):
        opened.append(real(question, history=history, k=k))
        return opened[-1]

    monkeypatch.setattr(assistant, "stream", kept)
    return opened


def test_stop_ends_the_answer_marked_stopped_with_nothing_of_it_kept(ui):
    running = ui.chat.respond(STALLS, [], "extractive", 5)
    next(running)  # the question is shown
    streaming = dict(zip(OUTPUTS, next(running), strict=True))
    assert "40 stalls" in streaming["chat"][-1]["content"]  # half-written
    ui.chat.stop()
    last = dict(zip(OUTPUTS, list(running)[-1], strict=True))
    assert last["conversation"][0]["state"] == conv.STOPPED and last["conversation"][0]["answer"] is None
    assert "Stopped" in last["chat"][-1]["content"] and "40 stalls" not in last["chat"][-1]["content"]
    assert last["ask"].interactive is True and last["stop"].visible is False


def test_stop_closes_the_assistants_stream(ui, streams):
    running = ui.chat.respond(STALLS, [], "extractive", 5)
    next(running)
    next(running)
    assert streams[0].gi_frame is not None  # the stream waits, mid-answer
    ui.chat.stop()
    list(running)
    assert streams[0].gi_frame is None


def test_a_page_that_goes_away_closes_the_assistants_stream(ui, streams):
    """Gradio closes the handler of a page that is gone; the Assistant's stream must close with it."""
    running = ui.chat.respond(STALLS, [], "extractive", 5)
    next(running)
    next(running)
    running.close()
    assert streams[0].gi_frame is None


def test_a_stop_with_no_answer_running_does_not_stop_the_next_one(ui):
    ui.chat.stop()
    _, last = ask(ui, STALLS)
    assert last["conversation"][0]["state"] == conv.ANSWERED


def test_abstention_looks_different_and_lists_the_nearest_passages(ui):
    _, last = ask(ui, MERCURY)
    assert last["conversation"][0]["answer"]["abstained"]
    shown = last["chat"][-1]["content"]
    assert "cq-abstain" in shown and "No answer in your documents" in shown and "cq-cite" not in shown
    assert "Nearest passages" in last["panel"]


def test_a_follow_up_is_asked_with_the_answers_so_far(ui, assistant, monkeypatch):
    _, first = ask(ui, "Who cut the ribbon on the Harbour Bridge?")
    seen = []
    real = assistant.stream

    def spy(question, history=None, k=None):
        seen.append(history)
        return real(question, history=history, k=k)

    monkeypatch.setattr(assistant, "stream", spy)
    ask(ui, "When did it reopen?", first["conversation"])
    answered = first["conversation"][0]
    assert seen == [[(answered["question"], answered["answer"]["text"])]]


def test_a_follow_up_is_answered_with_a_citation(ui):
    _, first = ask(ui, "Who cut the ribbon on the Harbour Bridge?")
    _, last = ask(ui, "When did it reopen?", first["conversation"])
    follow = last["conversation"][1]["answer"]
    assert not follow["abstained"] and follow["citations"][0]["source"] == "harbour.txt"
    assert 'href="#cq-cite-1-1"' in last["chat"][-1]["content"]


def test_an_empty_question_changes_nothing(ui):
    with pytest.warns(UserWarning, match="Type a question"):
        frames, _ = ask(ui, "   ")
    assert len(frames) == 1 and all(isinstance(value, type(gr.skip())) for value in frames[0])


def test_an_error_shows_in_the_chat_escaped(ui, assistant, monkeypatch):
    def broken(question, history=None, k=None):
        raise RuntimeError("the model <b>weights</b> are missing")

    monkeypatch.setattr(assistant, "stream", broken)
    _, last = ask(ui, "Who won the award?")
    assert "cq-error" in last["chat"][-1]["content"] and "&lt;b&gt;weights" in last["chat"][-1]["content"]
    assert last["conversation"][0]["state"] == conv.FAILED


# -- citations --------------------------------------------------------------------------------------------
def test_a_citation_click_shows_the_sentence_highlighted_in_its_document(ui, assistant):
    _, last = ask(ui, STALLS)
    citation = last["conversation"][0]["answer"]["citations"][0]
    panel = ui.chat.show_citation("0:1:1732000000000", last["conversation"])
    assert f"<mark>{citation['text']}</mark>" in panel and "Market fire" in panel
    document = assistant.document_text("market.html")
    assert document[: citation["start"]].strip().splitlines()[-1] in panel  # context before the sentence


@pytest.mark.parametrize("target", ["7:1", "nonsense", "", "0:1:x"])
def test_a_stale_or_forged_citation_target_changes_nothing(ui, target):
    _, last = ask(ui, STALLS)
    assert ui.chat.show_citation(target, last["conversation"]) == gr.skip()  # an update that changes nothing


def test_a_citation_of_a_removed_document_shows_the_sentence_alone(ui, assistant):
    _, last = ask(ui, STALLS)
    assistant.remove("market.html")
    panel = ui.chat.show_citation("0:1", last["conversation"])
    assert "no longer in the index" in panel and "<mark>" in panel


# -- the conversation: reload, new chat, export ------------------------------------------------------------
def test_a_reload_shows_the_stored_conversation(ui):
    _, last = ask(ui, STALLS)
    restored = dict(zip(OUTPUTS, ui.chat.restore(json.loads(json.dumps(last["conversation"]))), strict=True))
    assert restored["chat"] == last["chat"]


def test_new_chat_clears_the_conversation(ui):
    cleared = dict(zip(OUTPUTS, ui.chat.new_chat(), strict=True))
    assert cleared["chat"] == [] and cleared["conversation"] == [] and "Ask a question" in cleared["panel"]
    assert cleared["export"].visible is False


def test_export_offers_the_conversation_as_a_markdown_file(ui):
    _, first = ask(ui, STALLS)
    _, last = ask(ui, MERCURY, first["conversation"])
    exported = Path(last["export"].value["path"])  # the copy that Gradio serves
    assert exported.name == "citeqa-conversation.md"
    assert exported.read_text(encoding="utf-8") == conversation_markdown(last["conversation"])


# -- safety: nothing from a document runs ------------------------------------------------------------------
def test_document_text_title_and_file_name_are_escaped_in_chat_and_panel(ui):
    _, last = ask(ui, "Who was the Zanzibar lighthouse keeper?")
    assert not last["conversation"][0]["answer"]["abstained"]
    assert last["conversation"][0]["answer"]["citations"][0]["source"] == EVIL_NAME
    panel = ui.chat.show_citation("0:1", last["conversation"])
    for html in (last["chat"][-1]["content"], last["panel"], panel):
        assert "<script" not in html and "<img" not in html  # only escaped text, never a tag
    assert "&lt;img src=x onerror=alert(2)&gt;" in panel  # shown as text in the passage
    assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;" in panel  # the title


def test_the_question_is_escaped_in_the_chat(ui):
    _, last = ask(ui, "<script>alert(1)</script> Who won the design award?")
    assert "<script" not in last["chat"][0]["content"] and "&lt;script&gt;" in last["chat"][0]["content"]


# -- API ---------------------------------------------------------------------------------------------------
def test_api_ask_is_answer_to_dict_with_the_text_as_answer(ui, assistant):
    result = json.loads(json.dumps(ui.api.ask(STALLS)))
    expected = assistant.ask(STALLS).to_dict()
    expected["answer"] = expected.pop("text")
    del expected["passages"]
    assert set(result) == set(expected)
    assert {k: v for k, v in result.items() if k != "timings"} == {k: v for k, v in expected.items() if k != "timings"}


def test_api_ask_takes_the_history_of_a_follow_up(ui):
    first = ui.api.ask(STALLS)
    follow = ui.api.ask("Who said no one was hurt?", 3, [[STALLS, first["answer"]]])
    assert "Okoro" in follow["answer"] and follow["citations"]


def test_api_ask_refuses_an_empty_question(ui):
    with pytest.raises(gr.Error):
        ui.api.ask("   ")


def test_app_has_an_ask_endpoint(assistant):
    app = build_app(assistant)
    names = {fn.api_name for fn in app.fns.values() if getattr(fn, "api_visibility", "public") == "public"}
    assert names == {"ask"}


# -- generators --------------------------------------------------------------------------------------------
def test_generators_are_shared_per_process(assistant):
    made = []

    def factory(name):
        made.append(name)
        return assistant

    ui = build_app(factory, generator="extractive").citeqa
    assert ui.assistants.get("") is ui.assistants.get("extractive") and made == ["extractive"]
    ui.assistants.get("other")
    ui.assistants.get("other")
    assert made == ["extractive", "other"]


def test_other_generators_share_the_index_and_the_embedding_model(assistant):
    ui = build_app(assistant).citeqa
    other = ui.assistants.get("default")  # built, not loaded: models load on first question
    assert other is not assistant and other.config.generator == "default"
    assert other.index.root == assistant.index.root and other.index.embedder is assistant.index.embedder
    assert ui.assistants.get("default") is other and ui.assistants.get(None) is assistant


# -- citeqa chat -----------------------------------------------------------------------------------------
def test_cli_binds_loopback_by_default():
    from ui import cli

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args([])
    assert args.host == "127.0.0.1" and args.port == 7860 and args.index is None and args.auth is None


def test_cli_parses_auth():
    from ui import cli

    assert cli.parse_auth("me:s3:cret") == ("me", "s3:cret")
    with pytest.raises(ValueError):
        cli.parse_auth("nopassword")


def test_cli_knows_loopback_addresses():
    from ui import cli

    assert cli.is_loopback("127.0.0.1") and cli.is_loopback("::1") and not cli.is_loopback("0.0.0.0")


def test_cli_flags_fit_the_citeqa_parser():
    from citeqa.cli import build_parser

    args = build_parser().parse_args(["chat", "--index", "somewhere", "--port", "7999"])
    assert args.host == "127.0.0.1" and args.index == "somewhere" and args.port == 7999


def test_exports_older_than_a_day_are_deleted(ui):
    _, first = ask(ui, STALLS)
    [old] = ui.chat.export_dir().iterdir()
    day_ago = old.stat().st_mtime - 2 * 86_400
    os.utime(old, (day_ago, day_ago))
    ask(ui, MERCURY, first["conversation"])
    assert not old.exists() and len(list(ui.chat.export_dir().iterdir())) == 1


def test_ask_is_usable_once_the_stored_conversation_is_back(ui, assistant):
    app = build_app(assistant)
    ask_button = next(b for b in app.blocks.values() if getattr(b, "elem_id", None) == "cq-ask")
    assert ask_button.interactive is False
    restored = dict(zip(OUTPUTS, ui.chat.restore([]), strict=True))
    assert restored["ask"].interactive is True
