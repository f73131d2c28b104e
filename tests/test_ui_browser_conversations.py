"""Past conversations in the browser, with the real `citeqa chat` command (extractive generator) on two small
invented articles: kept through New chat and a restart of the server, reopened, renamed, searched, deleted."""

from __future__ import annotations

import re

import pytest

from tests.support import FERRY_AND_GARDEN, ask, chat_page, chat_server, chromium, expect, write_corpus

pytestmark = pytest.mark.browser

FERRY = "Who said the crossings would run hourly?"
GARDEN = "When did the Dunmore Botanic Garden open?"


@pytest.fixture(scope="module")
def index(tmp_path_factory, embedder):
    from qa.assistant import Assistant

    root = tmp_path_factory.mktemp("conversations")
    Assistant(index_dir=root / "idx", generator="extractive", embedder=embedder).add(
        [write_corpus(root / "articles", FERRY_AND_GARDEN)])
    return root


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


FERRY_LINE = rf"^\s*\d{{1,2}} \w{{3}} \d{{4}}, \d\d:\d\d\s+{re.escape(FERRY)}$"  # its date and time, then its title


def titles(page) -> list[str]:
    """The list's titles, newest first, without their dates."""
    return [t.strip().split("\n")[-1] for t in page.locator("#cq-history label").all_inner_texts()]


def new_chat(page) -> None:
    page.click("#cq-new-chat")
    expect(page.locator("#cq-chat .message-row")).to_have_count(0)


def test_a_conversation_survives_new_chat_and_a_restart_and_can_be_reopened_and_deleted(index, browser, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    with chat_server(index / "idx", tmp_path / "first.log") as (url, _), chat_page(browser, url + "/",
                                                                                    context=context) as page:
        ask(page, FERRY)
        new_chat(page)
        expect(page.locator("#cq-history label")).to_have_text([re.compile(FERRY_LINE)])

    with chat_server(index / "idx", tmp_path / "second.log") as (url, _), chat_page(browser, url + "/",
                                                                                     context=context) as page:
        expect(page.locator("#cq-history label")).to_have_text([re.compile(FERRY_LINE)])  # a new server process
        page.locator("#cq-history label", has_text=FERRY).click()
        expect(page.locator("#cq-chat .message-row.user-row")).to_have_text([FERRY])
        assert "Ines Marlow" in page.locator("#cq-chat .cq-answer").inner_text()

        page.click("#cq-delete")
        expect(page.locator("#cq-delete-text")).to_contain_text(f"Delete “{FERRY}”?")
        assert titles(page) == [FERRY]  # nothing deleted before the confirmation
        page.click("#cq-delete-yes")
        expect(page.locator("#cq-history label")).to_have_count(0)
        expect(page.locator("#cq-chat .message-row")).to_have_count(0)
        page.reload()
        expect(page.locator("#cq-ask")).to_be_enabled()
        assert titles(page) == []
    context.close()


def test_two_browsers_do_not_see_each_others_conversations(index, browser, tmp_path):
    with chat_server(index / "idx", tmp_path / "server.log") as (url, _):
        with chat_page(browser, url + "/") as first, chat_page(browser, url + "/") as second:
            ask(first, FERRY)
            ask(second, GARDEN)
            second.reload()
            expect(second.locator("#cq-history label")).to_have_count(1)
            assert titles(second) == [GARDEN]
            first.reload()
            expect(first.locator("#cq-history label")).to_have_count(1)
            assert titles(first) == [FERRY]


def test_conversations_are_renamed_and_found_by_title(index, browser, tmp_path):
    with chat_server(index / "idx", tmp_path / "server.log") as (url, _), chat_page(browser, url + "/") as page:
        ask(page, GARDEN)
        new_chat(page)
        ask(page, FERRY)
        assert titles(page)[:2] == [FERRY, GARDEN]  # newest first
        page.click("#cq-rename")
        expect(page.locator("#cq-rename-title input")).to_be_focused()  # ready to type over
        page.keyboard.type("Ferry timetable")
        page.click("#cq-rename-save")
        expect(page.locator("#cq-history label").first).to_contain_text("Ferry timetable")
        page.fill("#cq-history-search input", "garden")
        expect(page.locator("#cq-history label")).to_have_count(1)
        assert titles(page) == [GARDEN]


def test_the_list_folds_away_on_a_phone_and_opens_a_conversation(index, browser, tmp_path):
    with chat_server(index / "idx", tmp_path / "server.log") as (url, _):
        with chat_page(browser, url + "/", width=420, height=900) as phone:
            ask(phone, GARDEN)
            new_chat(phone)
            expect(phone.locator("#cq-history label").first).not_to_be_in_viewport()  # folded away
            phone.locator(".sidebar .toggle-button").click()
            phone.locator("#cq-history label", has_text=GARDEN).first.click()
            expect(phone.locator("#cq-chat .message-row.user-row")).to_have_text([GARDEN])
            expect(phone.locator("#cq-history label").first).not_to_be_in_viewport()  # folded again
