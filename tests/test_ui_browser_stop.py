"""In the browser, while an answer is being written and after: Ask is disabled, Enter queues nothing, Stop
ends the answer keeping what was written and gives the question back, the cursor returns to the question box,
and a question over the limit stays in the box.

A real Assistant (extractive) behind a wrapper that streams its answer a word at a time, slowly, and
records the questions it was asked and the streams closed before their answer. `Assistant` has no public
way yet to take a slowed generator; the wrapper only uses its public `stream`. Asking right after Stop
must work: the test does it at once.
"""

from __future__ import annotations

import re
import threading
import time

import pytest

from tests.support import FINISHED, chat_page, chromium, expect, served, write_corpus

pytestmark = [
    pytest.mark.browser,
    # Gradio's queue, served in this process, calls pandas in ways pandas 3 deprecates.
    pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

ARTICLE = {"tower.txt": "Clock tower restored\nThe Arden clock tower was restored in 2019 by a team of twelve "
                        "masons, who replaced every one of its four faces and rebuilt the bell frame.\n"}
QUESTION = "Who restored the Arden clock tower?"


class SlowAssistant:
    def __init__(self, assistant, delay: float) -> None:
        self.assistant = assistant
        self.delay = delay
        self.asked: list[str] = []
        self.closed_early = threading.Event()

    def __getattr__(self, name: str):
        return getattr(self.assistant, name)

    def stream(self, question, history=None, k=None):
        from qa.answer import Answer, Redraft

        self.asked.append(question)
        inner = self.assistant.stream(question, history=history, k=k)
        answered = False
        try:
            for item in inner:
                if isinstance(item, Answer):
                    answered = True
                    yield item
                    continue
                for n, word in enumerate(item.split(" ")):
                    time.sleep(self.delay)
                    yield Redraft(word + " ") if n == 0 and isinstance(item, Redraft) else word + " "
        finally:
            inner.close()
            if not answered:
                self.closed_early.set()


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder):
    from qa.assistant import Assistant
    from ui.app import build_app

    root = tmp_path_factory.mktemp("slow")
    assistant = Assistant(index_dir=root / "idx", generator="extractive", embedder=embedder)
    assistant.add([write_corpus(root / "articles", ARTICLE)])
    slow = SlowAssistant(assistant, delay=0.4)
    with chromium() as browser, served(build_app(slow, examples=[])) as url:
        yield browser, url, slow


@pytest.fixture
def slow(server):
    _, _, slow = server
    slow.asked.clear()
    slow.closed_early.clear()
    slow.delay = 0.4
    answering = slow.assistant
    yield slow
    slow.assistant = answering


@pytest.fixture
def page(server, slow):
    browser, url, _ = server
    with chat_page(browser, url) as page:
        yield page


WRITING = "#cq-chat .cq-streaming:not(.cq-searching)"  # past "Searching your documents…"


def start_answer(page, question: str = QUESTION) -> None:
    """Ask, and wait until the answer has begun to stream."""
    page.fill("#cq-question textarea", question)
    page.click("#cq-ask")
    page.wait_for_function(f"() => /\\w/.test(document.querySelector({WRITING!r})?.innerText || '')")


def test_ask_is_disabled_while_an_answer_runs(page):
    start_answer(page)
    expect(page.locator("#cq-ask")).to_be_disabled()
    expect(page.locator("#cq-stop")).to_be_visible()


def test_ask_comes_back_when_the_answer_is_done(page, slow):
    slow.delay = 0.0
    page.fill("#cq-question textarea", QUESTION)
    page.click("#cq-ask")
    page.locator(FINISHED).wait_for()
    expect(page.locator("#cq-ask")).to_be_enabled()
    expect(page.locator("#cq-stop")).to_be_hidden()


def test_stop_keeps_the_text_written_so_far_marked_as_stopped(page, slow):
    start_answer(page)
    partial = page.locator("#cq-chat .cq-draft-text").inner_text().strip(" …")
    page.click("#cq-stop")
    stopped = page.locator("#cq-chat .cq-stopped")
    expect(stopped).to_contain_text("Stopped: the answer above is incomplete")
    assert slow.closed_early.wait(15)  # the Assistant's stream was closed mid-answer
    assert partial in stopped.inner_text()
    expect(page.locator("#cq-ask")).to_be_enabled()
    page.reload()
    expect(page.locator("#cq-chat .cq-stopped")).to_contain_text(partial)  # kept, also as stored


def test_stop_puts_the_question_back_in_the_box(page):
    start_answer(page)
    page.click("#cq-stop")
    page.locator("#cq-chat .cq-stopped").wait_for()
    expect(page.locator("#cq-question textarea")).to_have_value(QUESTION)


def test_the_cursor_is_back_in_the_question_box_after_an_answer(page, slow):
    slow.delay = 0.0
    page.fill("#cq-question textarea", QUESTION)
    page.click("#cq-ask")  # the click takes the focus to the button
    page.locator(FINISHED).wait_for()
    expect(page.locator("#cq-question textarea")).to_be_focused()


def test_a_question_over_the_limit_stays_in_the_box_with_the_reason_beside_it(page, slow):
    too_long = "Who restored the tower? " * 92  # 2,208 characters
    page.fill("#cq-question textarea", too_long)
    page.click("#cq-ask")
    expect(page.locator("#cq-question-note")).to_contain_text("the limit is 2,000")
    expect(page.locator("#cq-question textarea")).to_have_value(too_long)
    assert slow.asked == [] and page.locator("#cq-chat .message-row").count() == 0


def test_enter_during_an_answer_queues_no_second_question(page, slow):
    start_answer(page)
    page.fill("#cq-question textarea", "What did the masons replace?")
    page.press("#cq-question textarea", "Enter")
    page.click("#cq-stop")
    page.locator("#cq-chat .cq-stopped").wait_for()
    slow.delay = 0.0
    page.fill("#cq-question textarea", "When was the tower restored?")
    page.click("#cq-ask")
    page.locator("#cq-chat .cq-answer:not(.cq-streaming):not(.cq-stopped)").wait_for()
    assert slow.asked == [QUESTION, "When was the tower restored?"]
    assert page.locator("#cq-chat .message-row.user-row").count() == 2


# Records what the chat shows of a draft as the page changes: inside the draft's box, or anywhere else.
WATCH_DRAFT = """words => {
  window.__draft = {inBox: 0, elsewhere: []};
  const chat = document.querySelector("#cq-chat");
  new MutationObserver(() => {
    for (const answer of chat.querySelectorAll(".cq-answer")) {
      if (!answer.innerText.includes(words)) continue;
      if (answer.matches(".cq-draft")) window.__draft.inBox++;
      else window.__draft.elsewhere.push(answer.innerText);
    }
  }).observe(chat, {subtree: true, childList: true, characterData: true});
}"""


def test_a_draft_the_checks_withhold_shows_only_as_a_draft_and_leaves_only_the_decline(page, slow):
    from tests.support import ScriptedGenerator

    slow.delay = 0.1
    slow.assistant = slow.assistant.with_generator(ScriptedGenerator("unknown. The officer shot the masons."))
    page.evaluate(WATCH_DRAFT, "officer shot")
    page.fill("#cq-question textarea", QUESTION)
    page.click("#cq-ask")
    page.locator(FINISHED).wait_for()
    seen = page.evaluate("() => window.__draft")
    assert seen["inBox"] > 0 and seen["elsewhere"] == []  # streamed, always inside the draft's box
    shown = page.locator("#cq-chat .cq-answer")
    expect(shown).to_have_count(1)
    expect(shown).to_have_class(re.compile(r"\bcq-abstain\b"))
    assert "officer" not in page.locator("#cq-chat").inner_text() and "Draft" not in shown.inner_text()


def test_regenerate_and_edit_work_on_the_last_question(page, slow):
    slow.delay = 0.0
    page.fill("#cq-question textarea", QUESTION)
    page.click("#cq-ask")
    page.locator(FINISHED).wait_for()
    slow.delay = 0.2  # long enough to see the new answer being written
    page.locator("#cq-chat button.cq-regenerate").click()
    page.locator("#cq-chat .cq-draft").wait_for()
    page.locator("#cq-chat .cq-draft").wait_for(state="detached")
    expect(page.locator("#cq-ask")).to_be_enabled()
    assert slow.asked == [QUESTION, QUESTION] and page.locator("#cq-chat .message-row.user-row").count() == 1

    page.locator("#cq-chat button.cq-edit").click()
    expect(page.locator("#cq-question textarea")).to_have_value(QUESTION)
    expect(page.locator("#cq-question-note")).to_contain_text("Ask replaces it")
    page.fill("#cq-question textarea", "When was the Arden clock tower restored?")
    page.click("#cq-ask")
    expect(page.locator("#cq-chat .message-row.user-row")).to_have_text(["When was the Arden clock tower restored?"])
    page.locator(FINISHED).wait_for()
    assert "2019" in page.locator("#cq-chat .cq-answer").inner_text()
    expect(page.locator("#cq-question-note")).to_have_text("")
