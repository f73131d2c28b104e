"""End to end: `citeqa chat` in a subprocess on 127.0.0.1, driven in Debian's headless Chromium.

Needs /usr/bin/chromium (`apt-get install -y chromium`; `make browser` does it). Playwright's own
browser download is never used. With CITEQA_SCREENSHOT=docs/chat.png the test also saves the README screenshot.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support import REPO, chat_server

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOT = os.environ.get("CITEQA_SCREENSHOT")  # `make screenshot` refreshes docs/chat.png
EVIL_NAME = "<img src=x onerror=window.__pwned=1>.txt"
EVIL_TEXT = (
    "<script>window.__pwned = 2</script> Lighthouse report\n"
    "The Zanzibar lighthouse keeper <img src=x onerror=window.__pwned=3> was Ottoline Brask, who served 31 years.\n"
    "<b onmouseover=window.__pwned=4>The lamp</b> was replaced in 1998.\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder):
    """The real command on a fresh index of the seed articles plus one hostile document."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's Chromium with `apt-get install -y chromium` "
                    "(or `make browser`)")
    from qa.assistant import Assistant

    root = tmp_path_factory.mktemp("chat")
    corpus = root / "seeds"
    shutil.copytree(REPO / "seeds", corpus)
    (corpus / EVIL_NAME).write_text(EVIL_TEXT, encoding="utf-8")
    assistant = Assistant(index_dir=root / "idx", generator="extractive")
    assistant.index._embedder = embedder
    report = assistant.add([corpus])
    assert not report.skipped and len(report.added) >= 3

    with chat_server(root / "idx", root / "server.log", "--host", "127.0.0.1") as (url, _):
        yield url + "/"


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(30_000)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs
    page.goto(server)
    page.wait_for_selector("#cq-question textarea")
    yield page
    context.close()


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def ask(page, question: str) -> None:
    before = page.locator("#cq-chat .cq-answer:not(.cq-streaming), #cq-chat .cq-error").count()
    page.fill("#cq-question textarea", question)
    page.click("#cq-ask")
    page.wait_for_function(
        "n => document.querySelectorAll('#cq-chat .cq-answer:not(.cq-streaming), #cq-chat .cq-error').length > n",
        arg=before)


def choose_file(page, component: str, path: Path) -> None:
    """Put a file into a gr.File. Retried: a file chosen while the component is still mounting is lost."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(3):
        page.set_input_files(f"{component} input[type=file]", str(path))
        try:
            page.locator(component, has_text=path.name).wait_for(timeout=10_000)
            return
        except PlaywrightTimeout:
            continue
    pytest.fail(f"the upload of {path.name} never showed in {component}")


def test_ask_click_citation_see_highlighted_passage(page):
    # Example questions about the seed articles are offered on first load.
    example = page.get_by_text("Where was Chris Kaba shot?", exact=True)
    assert example.is_visible()
    example.click()
    expect(page.locator("#cq-question textarea")).to_have_value("Where was Chris Kaba shot?")
    page.click("#cq-ask")
    marker = page.locator("#cq-chat a.cq-cite").first
    marker.wait_for()
    answer = page.locator("#cq-chat .cq-answer").last.inner_text()
    assert "Streatham" in answer and "[1]" in answer
    assert page.locator("#cq-chat .cq-timings").last.is_visible()

    marker.click()
    mark = page.locator("#cq-panel mark")
    mark.wait_for()
    assert "Streatham" in mark.inner_text()
    panel = page.locator("#cq-panel .cq-panel").inner_text()
    assert ".txt" in panel and "Chris Kaba" in panel  # source and title shown
    assert page.locator("#cq-panel .cq-context").inner_text().count("\n") >= 2  # the passage's context
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT)

    # A follow-up uses the conversation.
    ask(page, "How old was he?")
    assert page.locator("#cq-chat .message-row").count() >= 4
    assert not page.dialogs


def test_abstention_is_visibly_different(page):
    ask(page, "What is the boiling point of mercury?")
    abstained = page.locator("#cq-chat .cq-abstain").last
    assert abstained.is_visible() and "No answer in your documents" in abstained.inner_text()
    assert page.locator("#cq-chat a.cq-cite").count() == 0
    assert "Nearest passages" in page.locator("#cq-panel").inner_text()


def test_nothing_from_a_document_runs_in_the_page(page):
    ask(page, "Who was the Zanzibar lighthouse keeper?")
    page.locator("#cq-chat a.cq-cite").last.click()
    mark = page.locator("#cq-panel mark")
    mark.wait_for()
    assert "<img src=x onerror=window.__pwned=3>" in mark.inner_text()  # shown as text
    assert EVIL_NAME in page.locator("#cq-panel .cq-source").inner_text()
    page.click("button[role=tab]:has-text('Documents')")
    page.locator("#cq-documents table").wait_for()
    assert EVIL_NAME in page.locator("#cq-documents").inner_text()
    page.locator("#cq-documents td", has_text="Lighthouse report").hover()
    assert page.evaluate("() => window.__pwned") is None and not page.dialogs
    assert page.locator("#cq-panel img, #cq-chat img[src=x], #cq-documents img").count() == 0


def test_upload_list_and_remove_a_document(page, tmp_path):
    page.click("button[role=tab]:has-text('Documents')")
    page.locator("#cq-documents table").wait_for()
    note = tmp_path / "orchard notes.md"
    note.write_text("# Orchard news\n\nThe Millbrook orchard harvested 900 kilos of pears in 2023.\n",
                    encoding="utf-8")
    choose_file(page, "#cq-upload", note)
    page.click("#cq-add")
    page.locator("#cq-upload-status", has_text="orchard notes.md: added").wait_for()
    row = page.locator("#cq-documents tr", has_text="orchard notes.md")
    assert "Orchard news" in row.inner_text()

    page.click("button[role=tab]:has-text('Chat')")
    ask(page, "How many kilos of pears did the Millbrook orchard harvest?")
    assert "900 kilos" in page.locator("#cq-chat .cq-answer").last.inner_text()

    page.click("button[role=tab]:has-text('Documents')")
    page.locator("#cq-remove-choice input").fill("orchard notes.md")
    page.get_by_role("option", name="orchard notes.md").click()
    page.click("#cq-remove")
    page.locator("#cq-upload-status", has_text="removed uploads/orchard notes.md").wait_for()
    assert page.locator("#cq-documents tr", has_text="orchard notes.md").count() == 0


def test_gradio_client_asks_through_the_api(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    result = client.predict("Where was Chris Kaba shot?", api_name="/ask")
    assert "Streatham" in result["answer"] and result["citations"]
    citation = result["citations"][0]
    assert {"marker", "source", "title", "text", "start", "end"} <= set(citation)
    assert f"[{citation['marker']}]" in result["answer"]
    follow = client.predict("How old was he?", 5, [["Where was Chris Kaba shot?", result["answer"]]],
                            api_name="/ask")
    assert "Chris Kaba" in follow["standalone_question"]
