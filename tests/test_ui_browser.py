"""End to end: the real `citeqa chat` command on the seed articles (extractive generator) on 127.0.0.1,
driven in Debian's headless Chromium, as a reader uses it.

Needs /usr/bin/chromium (`make browser` installs it); Playwright's own browser download is never used.
With CITEQA_SCREENSHOT=docs/chat.png the first test also saves the screenshots of docs/chat.md: the chat
with its past conversations at desktop width, and the list of past conversations on a phone.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from tests.support import FINISHED, REPO, ask, chat_page, chat_server, chromium, expect, require_chromium
from ui import conversation as conv
from ui.examples import SEED_EXAMPLES
from ui.markdown import answer_markdown, conversation_markdown

pytestmark = pytest.mark.browser

SCREENSHOT = os.environ.get("CITEQA_SCREENSHOT")  # `make screenshot` refreshes docs/chat.png
SHOT = "Where was Chris Kaba shot?"
MERCURY = "What is the boiling point of mercury?"
NEAR_MISS = "Did Martyn Blake ever fire a gun before?"  # abstained on, with passages about Martyn Blake
AA = 4.5  # WCAG AA contrast for normal text

# The contrast of an element's text against what is behind it, from computed colours: the background is
# the element's and its ancestors' backgrounds blended from the first opaque one up (white if none is).
CONTRAST = """element => {
  const parse = c => { const v = c.match(/[\\d.]+/g).map(Number); return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1]; };
  const over = (top, below) => [0, 1, 2].map(i => top[i] * top[3] + below[i] * (1 - top[3])).concat([1]);
  const layers = [];
  for (let node = element; node; node = node.parentElement) {
    const colour = parse(getComputedStyle(node).backgroundColor);
    if (colour[3] > 0) layers.push(colour);
    if (colour[3] >= 1) break;
  }
  let background = [255, 255, 255, 1];
  for (const layer of layers.reverse()) background = over(layer, background);
  const text = over(parse(getComputedStyle(element).color), background);
  const luminance = c => {
    const [r, g, b] = c.slice(0, 3).map(v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [a, b] = [luminance(text), luminance(background)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


@pytest.fixture(scope="module")
def index(tmp_path_factory, embedder) -> Path:
    """A fresh index of exactly the seed articles, its example questions found as `citeqa index` finds them."""
    require_chromium()
    from qa.assistant import Assistant
    from ui.examples import prepare

    root = tmp_path_factory.mktemp("chat")
    assistant = Assistant(index_dir=root / "idx", generator="extractive", embedder=embedder)
    report = assistant.add([REPO / "seeds"])
    assert not report.skipped and len(report.added) == 2
    assert prepare(assistant)
    return root / "idx"


@pytest.fixture(scope="module")
def kept_examples(index) -> list[tuple]:
    """The example questions kept beside the index before the server starts: (documents, found, when found)."""
    with sqlite3.connect(index / "chat.sqlite3") as db:
        return db.execute("SELECT documents, found, at FROM examples").fetchall()


@pytest.fixture(scope="module")
def server(index, kept_examples):
    """The real command, started on that index."""
    with chat_server(index, index.parent / "server.log", "--host", "127.0.0.1") as (url, _):
        yield url + "/"


@pytest.fixture(scope="module")
def browser(server):
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser, server):
    with chat_page(browser, server) as page:
        yield page


@pytest.fixture(scope="module")
def api(server):
    from gradio_client import Client

    return Client(server, verbose=False)


def api_entry(api, question: str) -> dict:
    """The conversation entry the page keeps for `question`, rebuilt from the /ask endpoint's answer."""
    result = api.predict(question, api_name="/ask")
    return conv.answered(conv.asking(question), dict(result, text=result["answer"], passages=[]))


def last_answer(page):
    return page.locator("#cq-chat .cq-answer").last


def click_example(page, question: str) -> None:
    """Click an example question and wait until its answer has finished: no Ask needed."""
    before = page.locator(FINISHED).count()
    page.locator("#cq-examples button", has_text=question).click()
    page.wait_for_function(f"n => document.querySelectorAll({FINISHED!r}).length > n", arg=before)
    expect(page.locator("#cq-ask")).to_be_enabled()


def test_a_fresh_server_shows_what_is_indexed_and_examples_kept_beforehand_in_the_first_view(browser, server, index,
                                                                                                 kept_examples):
    with chat_page(browser, server, width=1280, height=800) as page:
        examples = page.locator("#cq-examples button")
        expect(examples.first).to_be_visible()
        assert sorted(examples.all_inner_texts()) == sorted(SEED_EXAMPLES)
        assert examples.last.bounding_box()["y"] + examples.last.bounding_box()["height"] <= 800  # no scrolling
        welcome = page.locator("#cq-chat .cq-welcome")
        expect(welcome).to_contain_text("Ask about your 2 documents")
        expect(welcome.locator("li")).to_have_count(2)  # the documents by title
        assert "Chris Kaba" in welcome.inner_text()
    with sqlite3.connect(index / "chat.sqlite3") as db:  # none was checked at the page load, nor at the start
        assert db.execute("SELECT documents, found, at FROM examples").fetchall() == kept_examples


def test_an_example_click_asks_it_and_a_citation_shows_the_sentence_highlighted(page, browser, server):
    click_example(page, SHOT)
    assert page.locator("#cq-chat .message-row.user-row").inner_text().strip() == SHOT
    marker = page.locator("#cq-chat a.cq-cite").first
    marker.click()
    mark = page.locator("#cq-panel mark")
    assert "Streatham" in mark.inner_text()
    heading = page.locator("#cq-panel .cq-panel-title").first.inner_text()
    titles = [f.read_text(encoding="utf-8").splitlines()[0] for f in (REPO / "seeds").glob("*.txt")]
    assert any(t[:40] in heading for t in titles) and ".txt" not in heading  # a title stands in for the file name
    assert page.locator("#cq-panel .cq-context").inner_text().count("\n") >= 2  # the passage's context
    assert not page.dialogs
    if SCREENSHOT:
        save_screenshots(page, browser, server)


def save_screenshots(page, browser, server) -> None:
    """docs/chat.png: an answer, its cited sentence and the past conversations; docs/chat-phone.png: the
    past conversations opened on a phone."""
    with chat_page(browser, server, context=page.context) as other:  # two earlier conversations in the list
        other.click("#cq-new-chat")  # this browser's other tab opens on the same conversation
        expect(other.locator("#cq-chat .message-row")).to_have_count(0)
        ask(other, "Who is the Home Secretary?")
        other.click("#cq-new-chat")
        expect(other.locator("#cq-chat .message-row")).to_have_count(0)
        ask(other, "What will Martyn Blake face?")
    page.reload()
    expect(page.locator("#cq-history label")).to_have_count(3)
    page.locator("#cq-history label", has_text=SHOT).click()  # the other tab left its own conversation open
    expect(page.locator("#cq-chat .message-row.user-row")).to_have_text([SHOT])
    page.locator("#cq-chat a.cq-cite").first.click()
    page.locator("#cq-panel mark").wait_for()
    page.wait_for_timeout(500)  # let the scroll settle before the picture
    page.screenshot(path=SCREENSHOT)
    with chat_page(browser, server, context=page.context) as phone:  # the same browser, its list, on a phone
        phone.set_viewport_size({"width": 420, "height": 900})
        phone.reload()
        expect(phone.locator("#cq-ask")).to_be_enabled()
        phone.locator(".sidebar .toggle-button").click()
        expect(phone.locator("#cq-history label").first).to_be_in_viewport()
        phone.wait_for_timeout(500)  # the sidebar slides in
        phone.screenshot(path=str(Path(SCREENSHOT).with_name("chat-phone.png")))


def test_every_offered_example_is_answered_with_a_citation(page):
    page.locator("#cq-examples").wait_for()
    offered = [e.strip() for e in page.locator("#cq-examples button").all_inner_texts()]
    assert offered and set(offered) <= set(SEED_EXAMPLES)
    for question in offered:
        click_example(page, question)
        answer = last_answer(page)
        assert "cq-abstain" not in answer.get_attribute("class"), question
        assert answer.locator("a.cq-cite").count() >= 1, question


def test_a_follow_up_uses_the_conversation(page):
    ask(page, SHOT)
    ask(page, "How old was he?")
    answer = last_answer(page)
    assert answer.locator("a.cq-cite").count() >= 1
    assert answer.locator(".cq-understood").inner_text() == "Understood “he” as Chris Kaba."


def test_an_abstention_is_visibly_different(page):
    ask(page, MERCURY)
    abstained = page.locator("#cq-chat .cq-abstain").last
    assert abstained.is_visible() and "No answer in your documents" in abstained.inner_text()
    assert page.locator("#cq-chat a.cq-cite").count() == 0
    assert "Nearest passages" in page.locator("#cq-panel").inner_text()


def test_the_evidence_names_each_document_once(page):
    ask(page, NEAR_MISS)
    titles = page.locator("#cq-panel .cq-panel-title").all_inner_texts()[1:]  # after "Nearest passages"
    assert titles and len(titles) == len(set(titles))


def test_timings_are_behind_details(page):
    ask(page, SHOT)
    timings = last_answer(page).locator(".cq-timings")
    assert not timings.is_visible()
    last_answer(page).locator("summary", has_text="details").click()
    expect(timings).to_be_visible()
    assert " ms" in timings.inner_text()


def test_copy_gives_the_answer_with_its_citations_as_footnotes(browser, server, api):
    with chat_page(browser, server, permissions=["clipboard-read", "clipboard-write"]) as page:
        ask(page, SHOT)
        last_answer(page).locator("button.cq-copy").click()
        expect(last_answer(page).locator("button.cq-copy")).to_have_text("Copied")
        copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == answer_markdown(api_entry(api, SHOT)["answer"])
    assert "[^1]:" in copied and "characters" in copied and ".txt" in copied


def test_export_downloads_the_conversation_as_markdown(page, api):
    ask(page, SHOT)
    ask(page, MERCURY)
    with page.expect_download() as download:
        page.click("#cq-export")
    assert download.value.suggested_filename == "citeqa-conversation.md"
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text == conversation_markdown([api_entry(api, SHOT), api_entry(api, MERCURY)], SHOT)


def test_the_conversation_survives_a_reload(page):
    ask(page, SHOT)
    page.reload()
    page.locator("#cq-chat a.cq-cite").first.click()
    assert "Streatham" in page.locator("#cq-panel mark").inner_text()
    assert page.locator("#cq-chat .message-row").count() == 2


def test_new_chat_starts_afresh_and_survives_a_reload(page):
    ask(page, SHOT)
    page.click("#cq-new-chat")
    expect(page.locator("#cq-chat .message-row")).to_have_count(0)
    page.reload()
    expect(page.locator("#cq-ask")).to_be_enabled()  # the open conversation, if any, is back
    expect(page.locator("#cq-chat .message-row")).to_have_count(0)


def test_no_trash_icon_empties_the_chat_without_asking(page):
    ask(page, SHOT)
    expect(page.locator("#cq-chat button[aria-label='Clear']")).to_be_hidden()


IN_VIEW = """selector => {
    const element = document.querySelector(selector);
    const r = element && element.getBoundingClientRect();
    return !!r && r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight;
}"""


def test_on_a_phone_a_citation_click_shows_the_sentence_in_view(browser, server):
    with chat_page(browser, server, width=420, height=800) as page:
        ask(page, SHOT)
        page.locator("#cq-chat a.cq-cite").first.click()
        page.wait_for_function(IN_VIEW, arg="#cq-panel mark")


def test_on_a_phone_back_to_the_answer_shows_the_answer_again(browser, server):
    with chat_page(browser, server, width=420, height=800) as page:
        ask(page, SHOT)
        page.locator("#cq-chat a.cq-cite").first.click()
        page.wait_for_function(IN_VIEW, arg="#cq-panel mark")
        page.click("#cq-panel a.cq-back")
        page.wait_for_function(IN_VIEW, arg="#cq-chat .cq-turn-0 a.cq-cite")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_markers_and_highlights_meet_wcag_aa(browser, server, theme):
    with chat_page(browser, server + f"?__theme={theme}") as page:
        assert page.evaluate("() => document.body.classList.contains('dark')") == (theme == "dark")
        ask(page, MERCURY)
        ask(page, SHOT)
        ratios = {selector: page.locator(selector).first.evaluate(CONTRAST)
                  for selector in ["#cq-chat .cq-abstain-label", "#cq-chat a.cq-cite", "#cq-panel a.cq-cite"]}
        page.locator("#cq-chat a.cq-cite").first.click()
        ratios["#cq-panel mark"] = page.locator("#cq-panel mark").evaluate(CONTRAST)
        low = {selector: f"{ratio:.2f}:1" for selector, ratio in ratios.items() if ratio < AA}
        assert not low, f"below WCAG AA in the {theme} theme: {low}"


def test_the_footer_has_no_stray_separator(page):
    footer = page.locator("footer").inner_text().strip()
    assert footer and not footer.startswith("·") and not footer.endswith("·")


def test_gradio_client_asks_through_the_api(api):
    result = api.predict(SHOT, api_name="/ask")
    assert "Streatham" in result["answer"] and result["citations"]
    citation = result["citations"][0]
    assert {"marker", "source", "title", "text", "start", "end"} <= set(citation)
    assert f"[{citation['marker']}]" in result["answer"]
    follow = api.predict("How old was he?", 5, [[SHOT, result["answer"]]], api_name="/ask")
    assert "Chris Kaba" in follow["standalone_question"]
