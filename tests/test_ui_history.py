"""Past conversations: titles, the SQLite file they live in, and the list's rename, delete and search.
Plain entries for the file; the handlers with the extractive generator on a tiny corpus."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime

import pytest

gr = pytest.importorskip("gradio")

from tests.test_ui_app import STALLS, ask, assistant, built_index, ui  # noqa: E402,F401 - shared fixtures
from ui import conversation as conv  # noqa: E402
from ui.chat import BROWSER_COOKIE, NO_CONVERSATION  # noqa: E402
from ui.history import History, clean_title, title_from, when  # noqa: E402
from ui.speeds import SpeedLog, seconds_text  # noqa: E402


@pytest.fixture
def history(tmp_path) -> History:
    return History(tmp_path / "chat.sqlite3")


# -- titles ------------------------------------------------------------------------------------------------
def test_a_title_is_the_first_question_on_one_line():
    assert title_from("  Who runs\nthe ferry?  ") == "Who runs the ferry?"


def test_a_long_question_is_cut_at_a_word():
    title = title_from("How many kilos of pears did the Millbrook orchard harvest in the dry summer of 2023?")
    assert title == "How many kilos of pears did the Millbrook orchard harvest in…" and len(title) <= 61


def test_a_renamed_title_must_say_something():
    with pytest.raises(ValueError, match="needs a title"):
        clean_title("   ")


# -- the file ----------------------------------------------------------------------------------------------
def test_a_conversation_is_kept_with_its_entries(history):
    entry = conv.failed(conv.asking("Who runs the ferry?"), "The index is missing.")
    ident = history.start("Who runs the ferry?", [entry])
    kept = History(history.path).get(ident)  # another process, or after a restart
    assert kept.title == "Who runs the ferry?" and kept.entries == (entry,)


def test_an_entry_saved_again_replaces_itself(history):
    entry = conv.asking("Who runs the ferry?")
    ident = history.start("Who runs the ferry?", [entry])
    history.save_entry(ident, conv.stopped(entry, "Ines"))
    assert [e["state"] for e in history.get(ident).entries] == [conv.STOPPED]


def test_two_pages_adding_to_one_conversation_keep_both_questions(history):
    ident = history.start("First?", [conv.asking("First?")])
    entries = [conv.asking(f"Question {n}?") for n in range(8)]
    threads = [threading.Thread(target=history.save_entry, args=(ident, e)) for e in entries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(history.get(ident).entries) == 9


def test_the_list_is_newest_first(history):
    first = history.start("First?")
    second = history.start("Second?")
    history.save_entry(first, conv.asking("Again?"))
    assert [s.id for s in history.summaries()] == [first, second]


def test_the_list_is_searched_by_title_in_any_case(history):
    history.start("Who runs the Kelby Ferry?")
    history.start("When did the garden open?")
    assert [s.title for s in history.summaries("kelby FERRY")] == ["Who runs the Kelby Ferry?"]


def test_a_renamed_conversation_keeps_its_place(history):
    first = history.start("First?")
    history.start("Second?")
    history.rename(first, "Ferry notes")
    assert [s.title for s in history.summaries()] == ["Second?", "Ferry notes"]


def test_a_deleted_conversation_is_gone(history):
    ident = history.start("First?")
    assert history.delete(ident) and history.get(ident) is None and history.summaries() == []


def test_an_unknown_conversation_is_none(history):
    assert history.get("nope") is None and history.get("") is None


# -- the list's handlers -----------------------------------------------------------------------------------
def test_rename_offers_the_title_to_edit(ui):
    _, last = ask(ui, STALLS)
    row, box = ui.sidebar.ask_rename(last["current"])
    assert row.visible is True and box.value == STALLS


def test_rename_saves_the_new_title_in_the_list(ui):
    _, last = ask(ui, STALLS)
    listing, row = ui.sidebar.rename(last["current"], "  Market fire  ")
    assert [(label.split("\n")[-1], ident) for label, ident in listing.choices] == [("Market fire", last["current"])]
    assert row.visible is False


def test_delete_asks_first_naming_the_conversation(ui):
    _, last = ask(ui, STALLS)
    row, question = ui.sidebar.ask_delete(last["current"])
    assert row.visible is True and f"Delete “{STALLS}”?" in question
    assert ui.chat.history.get(last["current"]) is not None  # nothing deleted yet


def test_confirmed_delete_removes_it_and_starts_afresh(ui):
    _, last = ask(ui, STALLS)
    *frame, row = ui.sidebar.delete(last["current"])
    assert ui.chat.history.get(last["current"]) is None and frame[1] == NO_CONVERSATION and frame[0] == []
    assert row.visible is False


def test_rename_or_delete_with_no_conversation_open_says_so(ui):
    with pytest.warns(UserWarning, match="Open a conversation"):
        row, _ = ui.sidebar.ask_delete("")
    assert row.visible is False


def test_search_narrows_the_list(ui):
    _, first = ask(ui, STALLS)
    ask(ui, "Who said no one was hurt?")
    listing = ui.sidebar.search("stalls", first["current"])
    assert [ident for _, ident in listing.choices] == [first["current"]] and listing.value == first["current"]


# -- a list per browser ------------------------------------------------------------------------------------
def browser(letter: str, session: str = "page") -> gr.Request:
    """A request from the browser whose cookie holds `letter` * 32."""
    return gr.Request(cookies={BROWSER_COOKIE: letter * 32}, session_hash=session)


def test_each_browser_lists_only_its_own_conversations(ui):
    mine = ui.chat.respond(STALLS, "", "extractive", 5, request=browser("a"))
    *_, last = mine
    ask(ui, "Who said no one was hurt?")  # the shared list (no request)
    list(ui.chat.respond("Who cut the ribbon?", "", "extractive", 5, request=browser("b")))
    listed = ui.sidebar.search("", "", request=browser("a", "another page"))  # same browser, another tab
    assert [label.split("\n")[-1] for label, _ in listed.choices] == [STALLS]
    assert last[1] in [ident for _, ident in listed.choices]


def test_a_conversation_of_another_browser_cannot_be_opened_renamed_or_deleted(ui):
    *_, last = ui.chat.respond(STALLS, "", "extractive", 5, request=browser("a"))
    ident = last[1]
    with pytest.warns(UserWarning, match="no longer there"):
        frame = ui.chat.open(ident, request=browser("b"))
    assert frame[0] == []
    with pytest.warns(UserWarning, match="Open a conversation"):
        ui.sidebar.delete(ident, request=browser("b"))
    assert ui.chat.conversation(ident, browser("a")) is not None


def test_a_shared_server_lists_every_browsers_conversations(assistant):
    from ui.app import build_app

    shared = build_app(assistant, shared_conversations=True).citeqa
    list(shared.chat.respond(STALLS, "", "extractive", 5, request=browser("a")))
    listed = shared.sidebar.search("", "", request=browser("b"))
    assert [label.split("\n")[-1] for label, _ in listed.choices] == [STALLS]


def test_each_line_of_the_list_shows_the_date_and_time(history):
    history.start("Who runs the ferry?")
    history.start("Who runs the ferry?")
    first, second = history.summaries()
    assert first.label == f"{when(first.updated)}\nWho runs the ferry?" and first.id != second.id
    assert when(datetime(2026, 12, 3, 14, 5).timestamp()) == "3 Dec 2026, 14:05"


def test_owners_keep_apart_in_the_file(history):
    ident = history.start("Who runs the ferry?", owner="browser:a")
    assert history.get(ident) is None and history.get(ident, "browser:a") is not None
    assert not history.rename(ident, "Mine", "browser:b") and not history.delete(ident, "browser:b")
    assert not history.save_entry(ident, conv.asking("Again?"), "browser:b")
    assert [s.id for s in history.summaries(owner="browser:a")] == [ident] and history.summaries() == []


def test_conversations_kept_before_lists_had_owners_go_to_the_first_list_opened(tmp_path):
    path = tmp_path / "chat.sqlite3"
    with sqlite3.connect(path) as db:  # the file as an older citeqa wrote it
        db.execute("CREATE TABLE conversations (id TEXT PRIMARY KEY, title TEXT NOT NULL, created REAL NOT NULL, "
                   "updated REAL NOT NULL, entries TEXT NOT NULL)")
        db.execute("INSERT INTO conversations VALUES ('old', 'Who runs the ferry?', 1, 1, '[]')")
    history = History(path)
    assert history.adopt("browser:a") == 1 and history.adopt("browser:b") == 0
    assert [s.id for s in history.summaries(owner="browser:a")] == ["old"]


# -- speeds ------------------------------------------------------------------------------------------------
def test_speeds_are_the_medians_of_what_was_measured(tmp_path):
    log = SpeedLog(tmp_path / "chat.sqlite3")
    for total in (1.0, 3.0, 2.0):
        log.record_answer("qwen-0.5b", {"total": total, "first_token": total / 2})
    log.record_load("qwen-0.5b", 4.0)
    speed = SpeedLog(tmp_path / "chat.sqlite3").speed("qwen-0.5b")
    assert (speed.answers, speed.answer_seconds, speed.first_words_seconds, speed.load_seconds) == (3, 2.0, 1.0, 4.0)


def test_nothing_measured_is_none(tmp_path):
    speed = SpeedLog(tmp_path / "chat.sqlite3").speed("extractive")
    assert speed.answers == 0 and speed.answer_seconds is None


@pytest.mark.parametrize("seconds, shown", [(None, "—"), (0.021, "0.02 s"), (3.24, "3.2 s"), (154, "2 min 34 s")])
def test_seconds_read_as_people_say_them(seconds, shown):
    assert seconds_text(seconds) == shown
