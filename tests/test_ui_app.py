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
from ui.chat import NO_CONVERSATION  # noqa: E402
from ui.chat import OUTPUTS as OUTPUT_NAMES  # noqa: E402
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
WITHHELD = "unknown. The officer shot the masons."  # a draft the checks withhold (no sentence states it)
MERCURY = "What is the boiling point of mercury?"
OUTPUTS = list(OUTPUT_NAMES)


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


def ask(ui: Parts, question: str, current: str = "", top_k=5) -> tuple[list[tuple], dict]:
    """Run the streaming handler to its end (in the conversation `current`, or a new one); returns every
    frame and the last one by output name."""
    frames = list(ui.chat.respond(question, current, "extractive", top_k))
    return frames, dict(zip(OUTPUTS, frames[-1], strict=True))


def entries(ui: Parts, shown: dict) -> list[dict]:
    """The entries of the conversation a frame shows, as kept in the chat's file."""
    return list(ui.chat.history.get(shown["current"]).entries)


# -- answering -----------------------------------------------------------------------------------------
def test_the_question_shows_before_its_answer(ui):
    frames, _ = ask(ui, STALLS)
    first = dict(zip(OUTPUTS, frames[0], strict=True))
    assert "Searching" in first["panel"] and first["chat"][0]["content"] == STALLS
    assert "cq-streaming" in first["chat"][1]["content"]


def test_searching_gives_way_once_the_answer_streams(ui):
    frames, _ = ask(ui, STALLS)
    writing = dict(zip(OUTPUTS, frames[1], strict=True))
    assert "Searching" not in writing["panel"] and "Writing the answer" in writing["panel"]
    assert "Searching" not in writing["chat"][1]["content"] and "40 stalls" in writing["chat"][1]["content"]


def test_a_draft_shows_as_a_draft_and_a_withheld_one_leaves_only_the_decline(ui, assistant):
    from tests.support import ScriptedGenerator

    rejected = build_app(assistant.with_generator(ScriptedGenerator(WITHHELD))).citeqa  # the checks withhold it
    frames = [dict(zip(OUTPUTS, frame, strict=True)) for frame in rejected.chat.respond(STALLS, "")]
    drafts = [f["chat"][1]["content"] for f in frames[:-1] if "masons" in str(f["chat"])]
    assert drafts and all('class="cq-answer cq-streaming cq-draft"' in shown and "checking" in shown
                          for shown in drafts)
    final = frames[-1]["chat"][1]["content"]
    shown, folded = final.split('<details class="cq-details">')  # what the generator wrote, only under details
    assert "cq-abstain" in shown and "masons" not in shown and "cq-draft" not in final and "masons" in folded


def test_the_answer_shows_clickable_markers(ui):
    _, last = ask(ui, STALLS)
    shown = last["chat"][-1]["content"]
    assert "40 stalls" in shown and 'href="#cq-cite-0-1"' in shown and "cq-abstain" not in shown
    assert 'href="#cq-cite-0-1"' in last["panel"]  # the panel lists the citations to click


def test_the_page_keeps_each_answer_as_answer_to_dict(ui, assistant):
    _, last = ask(ui, STALLS)
    kept = entries(ui, last)[0]["answer"]
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


def test_stop_keeps_the_text_written_so_far_marked_as_stopped(ui):
    running = ui.chat.respond(STALLS, "", "extractive", 5)
    next(running)  # the question is shown
    streaming = dict(zip(OUTPUTS, next(running), strict=True))
    assert "40 stalls" in streaming["chat"][-1]["content"]  # half-written
    ui.chat.stop()
    last = dict(zip(OUTPUTS, list(running)[-1], strict=True))
    [kept] = entries(ui, last)
    assert kept["state"] == conv.STOPPED and kept["answer"] is None and "40 stalls" in kept["partial"]
    assert "Stopped" in last["chat"][-1]["content"] and "40 stalls" in last["chat"][-1]["content"]
    assert last["ask"].interactive is True and last["stop"].visible is False


def test_stop_puts_the_question_back_into_an_empty_box(ui):
    running = ui.chat.respond(STALLS, "", "extractive", 5)
    next(running)
    _, question = ui.chat.stop("")
    list(running)
    assert question == STALLS


def test_stop_keeps_a_question_typed_meanwhile(ui):
    running = ui.chat.respond(STALLS, "", "extractive", 5)
    next(running)
    _, question = ui.chat.stop("Who said no one was hurt?")
    list(running)
    assert isinstance(question, type(gr.skip()))


def test_stop_closes_the_assistants_stream(ui, streams):
    running = ui.chat.respond(STALLS, "", "extractive", 5)
    next(running)
    next(running)
    assert streams[0].gi_frame is not None  # the stream waits, mid-answer
    ui.chat.stop()
    list(running)
    assert streams[0].gi_frame is None


def test_a_page_that_goes_away_closes_the_assistants_stream(ui, streams):
    """Gradio closes the handler of a page that is gone; the Assistant's stream must close with it."""
    running = ui.chat.respond(STALLS, "", "extractive", 5)
    next(running)
    next(running)
    running.close()
    assert streams[0].gi_frame is None


def test_a_stop_with_no_answer_running_does_not_stop_the_next_one(ui):
    ui.chat.stop()
    _, last = ask(ui, STALLS)
    assert entries(ui, last)[0]["state"] == conv.ANSWERED


def test_abstention_looks_different_and_lists_the_nearest_passages(ui):
    _, last = ask(ui, MERCURY)
    assert entries(ui, last)[0]["answer"]["abstained"]
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
    ask(ui, "When did it reopen?", first["current"])
    answered = entries(ui, first)[0]
    assert seen == [[(answered["question"], answered["answer"]["text"])]]


def test_a_follow_up_is_answered_with_a_citation(ui):
    _, first = ask(ui, "Who cut the ribbon on the Harbour Bridge?")
    _, last = ask(ui, "When did it reopen?", first["current"])
    follow = entries(ui, last)[1]["answer"]
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
    assert entries(ui, last)[0]["state"] == conv.FAILED


def test_an_error_reads_as_a_sentence_without_a_class_name(ui, assistant, monkeypatch):
    def broken(question, history=None, k=None):
        raise RuntimeError("unknown generator 'nope': use default or extractive")

    monkeypatch.setattr(assistant, "stream", broken)
    _, last = ask(ui, "Who won the award?")
    error = entries(ui, last)[0]["error"]
    assert error == "Could not answer. Unknown generator 'nope': use default or extractive."
    assert "RuntimeError" not in last["chat"][-1]["content"]


def test_a_question_over_the_limit_stays_in_the_box_with_the_reason_beside_it(ui):
    frames, last = ask(ui, "Why? " * 500)
    assert len(frames) == 1 and isinstance(last["question"], type(gr.skip()))
    assert "2,499 characters" in last["note"] and "2,000" in last["note"] and "shorten it" in last["note"]
    assert ui.chat.history.summaries() == []  # nothing was asked


def test_an_answer_starts_with_the_message_beside_the_box_cleared(ui):
    frames, _ = ask(ui, STALLS)
    first = dict(zip(OUTPUTS, frames[0], strict=True))
    assert first["note"] == "" and first["question"] == ""


def test_the_box_is_not_emptied_when_the_answer_ends(ui):
    """What a reader types while an answer is written stays there."""
    frames, last = ask(ui, STALLS)
    assert all(isinstance(dict(zip(OUTPUTS, f, strict=True))["question"], type(gr.skip())) for f in frames[1:])


def test_an_example_is_asked_at_once(ui):
    frames = list(ui.chat.respond_example([STALLS], "", "extractive", 5))
    last = dict(zip(OUTPUTS, frames[-1], strict=True))
    assert entries(ui, last)[0]["question"] == STALLS and 'href="#cq-cite-0-1"' in last["chat"][-1]["content"]


def test_each_answer_is_timed_for_settings(ui):
    ask(ui, STALLS)
    speed = ui.assistants.speeds.speed("extractive")
    assert speed.answers == 1 and speed.answer_seconds is not None


def test_a_model_loading_shows_how_long_it_has_taken(ui, assistant, monkeypatch):
    """While a generator's model loads, the chat redraws what it waits for (not a frozen "Searching")."""
    import threading

    from ui import chat as chat_module

    class Loading:
        """The real Assistant, except that its model loads until the test has seen the chat wait."""

        def __init__(self) -> None:
            self.release = threading.Event()

        def __getattr__(self, name):
            return getattr(assistant, name)

        @property
        def generator(self):
            self.release.wait(30)
            return assistant.generator

    slow = Loading()
    monkeypatch.setattr(chat_module, "PROGRESS_SECONDS", 0.01)
    monkeypatch.setattr(ui.assistants, "get", lambda generator=None: slow)
    running = ui.chat.respond(STALLS, "", "qwen-0.5b", 5)
    next(running)
    waiting = dict(zip(OUTPUTS, next(running), strict=True))
    slow.release.set()
    last = dict(zip(OUTPUTS, list(running)[-1], strict=True))
    assert "Loading the model qwen-0.5b" in waiting["chat"][-1]["content"]
    assert "cq-progress" in waiting["chat"][-1]["content"]  # a packaged model has an estimate
    assert 'href="#cq-cite-0-1"' in last["chat"][-1]["content"]


# -- citations --------------------------------------------------------------------------------------------
def test_a_citation_click_shows_the_sentence_highlighted_in_its_document(ui, assistant):
    _, last = ask(ui, STALLS)
    citation = entries(ui, last)[0]["answer"]["citations"][0]
    panel = ui.chat.show_citation("0:1:1732000000000", last["current"])
    assert f"<mark>{citation['text']}</mark>" in panel and "Market fire" in panel
    document = assistant.document_text("market.html")
    assert document[: citation["start"]].strip().splitlines()[-1] in panel  # context before the sentence


@pytest.mark.parametrize("target", ["7:1", "nonsense", "", "0:1:x"])
def test_a_stale_or_forged_citation_target_changes_nothing(ui, target):
    _, last = ask(ui, STALLS)
    assert ui.chat.show_citation(target, last["current"]) == gr.skip()  # an update that changes nothing


def test_a_citation_of_a_removed_document_shows_the_sentence_alone(ui, assistant):
    _, last = ask(ui, STALLS)
    assistant.remove("market.html")
    panel = ui.chat.show_citation("0:1", last["current"])
    assert "no longer in the index" in panel and "<mark>" in panel


def test_an_answer_citing_a_removed_document_is_marked_before_any_click(ui, assistant):
    _, last = ask(ui, STALLS)
    assert "cq-cite-gone" not in last["chat"][1]["content"]
    assistant.remove("market.html")
    shown = dict(zip(OUTPUTS, ui.chat.restore(last["current"]), strict=True))["chat"][1]["content"]
    assert 'class="cq-cite cq-cite-gone"' in shown and "Cites a document no longer in the index: Market fire" in shown


# -- regenerate and edit the last question -------------------------------------------------------------------
def test_regenerate_answers_the_last_question_again_in_place_of_its_answer(ui):
    _, first = ask(ui, MERCURY)
    _, last = ask(ui, STALLS, first["current"])
    before = entries(ui, last)
    *_, again = ui.chat.regenerate(last["current"], "extractive", 5)
    after = entries(ui, dict(zip(OUTPUTS, again, strict=True)))
    assert [e["question"] for e in after] == [MERCURY, STALLS] and after[0] == before[0]
    assert after[1]["id"] == before[1]["id"] and after[1]["state"] == conv.ANSWERED


def test_an_edited_last_question_replaces_it_and_its_answer(ui):
    _, first = ask(ui, MERCURY)
    _, last = ask(ui, STALLS, first["current"])
    box, note, replacing = ui.chat.edit_last(last["current"])
    assert box == STALLS and "Ask replaces it" in note and replacing == entries(ui, last)[1]["id"]
    frames = list(ui.chat.respond("Who said no one was hurt?", last["current"], "extractive", 5, "", replacing))
    shown = dict(zip(OUTPUTS, frames[-1], strict=True))
    assert [e["question"] for e in entries(ui, shown)] == [MERCURY, "Who said no one was hurt?"]
    assert "Ruth Okoro" in shown["chat"][-1]["content"] and shown["replacing"] == ""
    assert ui.chat.cancel_edit() == ("", "")


def test_only_the_last_answer_offers_regenerate_and_edit(ui):
    _, first = ask(ui, MERCURY)
    _, last = ask(ui, STALLS, first["current"])
    answers = [m["content"] for m in last["chat"] if m["role"] == "assistant"]
    assert "cq-regenerate" not in answers[0] and "cq-regenerate" in answers[1] and "cq-edit" in answers[1]


# -- the conversation: reload, new chat, past conversations, export ----------------------------------------
def test_a_reload_shows_the_open_conversation(ui):
    _, last = ask(ui, STALLS)
    restored = dict(zip(OUTPUTS, ui.chat.restore(last["current"]), strict=True))
    assert restored["chat"] == last["chat"] and restored["current"] == last["current"]


def test_a_conversation_kept_in_the_browser_by_an_older_citeqa_moves_into_the_file(ui):
    _, last = ask(ui, STALLS)
    stored = json.loads(json.dumps(entries(ui, last)))  # what the browser held: the entries themselves
    restored = dict(zip(OUTPUTS, ui.chat.restore(stored), strict=True))
    assert restored["current"] != last["current"] and restored["chat"] == last["chat"]
    assert [s.title for s in ui.chat.history.summaries()] == [STALLS, STALLS]


def test_new_chat_starts_afresh_and_keeps_the_conversation(ui):
    _, last = ask(ui, STALLS)
    cleared = dict(zip(OUTPUTS, ui.chat.new_chat(), strict=True))
    assert cleared["chat"] == [] and cleared["current"] == NO_CONVERSATION and "Ask a question" in cleared["panel"]
    assert cleared["export"].visible is False
    assert [s.id for s in ui.chat.history.summaries()] == [last["current"]]


def test_the_next_question_after_new_chat_starts_another_conversation(ui):
    _, first = ask(ui, STALLS)
    ui.chat.new_chat()
    _, second = ask(ui, MERCURY)
    assert second["current"] != first["current"]
    assert [s.title for s in ui.chat.history.summaries()] == [MERCURY, STALLS]  # newest first


def test_a_past_conversation_opens_in_the_chat(ui):
    _, first = ask(ui, STALLS)
    ui.chat.new_chat()
    opened = dict(zip([*OUTPUTS, "tabs"], ui.chat.open(first["current"]), strict=True))
    assert opened["chat"] == first["chat"] and opened["current"] == first["current"]
    assert opened["conversations"].value == first["current"]


def test_export_offers_the_conversation_as_a_markdown_file(ui):
    _, first = ask(ui, STALLS)
    _, last = ask(ui, MERCURY, first["current"])
    exported = Path(last["export"].value["path"])  # the copy that Gradio serves
    assert exported.name == "citeqa-conversation.md"
    assert exported.read_text(encoding="utf-8") == conversation_markdown(entries(ui, last), STALLS)


# -- safety: nothing from a document runs ------------------------------------------------------------------
def test_document_text_title_and_file_name_are_escaped_in_chat_and_panel(ui):
    _, last = ask(ui, "Who was the Zanzibar lighthouse keeper?")
    [kept] = entries(ui, last)
    assert not kept["answer"]["abstained"] and kept["answer"]["citations"][0]["source"] == EVIL_NAME
    panel = ui.chat.show_citation("0:1", last["current"])
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
    assert not args.shared_conversations  # each browser its own list unless asked
    assert build_parser().parse_args(["chat", "--shared-conversations"]).shared_conversations


def test_exports_older_than_a_day_are_deleted(ui):
    _, first = ask(ui, STALLS)
    [old] = ui.chat.export_dir().iterdir()
    day_ago = old.stat().st_mtime - 2 * 86_400
    os.utime(old, (day_ago, day_ago))
    ask(ui, MERCURY, first["current"])
    assert not old.exists() and len(list(ui.chat.export_dir().iterdir())) == 1


def test_ask_is_usable_once_the_stored_conversation_is_back(ui, assistant):
    app = build_app(assistant)
    ask_button = next(b for b in app.blocks.values() if getattr(b, "elem_id", None) == "cq-ask")
    assert ask_button.interactive is False
    restored = dict(zip(OUTPUTS, ui.chat.restore(""), strict=True))
    assert restored["ask"].interactive is True
