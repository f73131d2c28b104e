"""In the browser, on a user's own articles (not the seeds): examples drawn from them, the Documents tab,
and hostile documents that must never run in the page. The chat is built and served in this process."""

from __future__ import annotations

import pytest

from tests.support import FERRY_AND_GARDEN, ask, chat_page, chromium, expect, served, write_corpus
from tests.test_ui_examples import DEFINITION
from ui.examples import SEED_EXAMPLES

pytestmark = [
    pytest.mark.browser,
    # Gradio's queue, served in this process, calls pandas in ways pandas 3 deprecates.
    pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

EVIL_NAME = "<img src=x onerror=window.__pwned=1>.txt"
ARTICLES = {
    **FERRY_AND_GARDEN,
    EVIL_NAME: "<script>window.__pwned = 2</script> Lighthouse report\n"
               "The Zanzibar lighthouse keeper <img src=x onerror=window.__pwned=3> was Ottoline Brask, who "
               "served 31 years.\n<b onmouseover=window.__pwned=4>The lamp</b> was replaced in 1998.\n",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder):
    from qa.assistant import Assistant
    from ui.app import build_app

    root = tmp_path_factory.mktemp("own")
    assistant = Assistant(index_dir=root / "idx", generator="extractive", embedder=embedder)
    report = assistant.add([write_corpus(root / "articles", ARTICLES)])
    assert not report.skipped
    with chromium() as browser, served(build_app(assistant)) as url:
        yield browser, url


@pytest.fixture
def page(server):
    browser, url = server
    with chat_page(browser, url) as page:
        yield page


def open_documents(page) -> None:
    page.click("button[role=tab]:has-text('Documents')")
    page.locator("#cq-documents table").wait_for()


def choose_file(page, component: str, path) -> None:
    """Put a file into a gr.File. Retried: a file chosen while the component is still mounting is lost."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(3):
        page.set_input_files(f"{component} input[type=file]", str(path))
        try:  # its download link appears once the file has reached the server
            page.locator(f'{component} a[download="{path.name}"]').wait_for(timeout=10_000)
            return
        except PlaywrightTimeout:
            continue
    pytest.fail(f"the upload of {path.name} never showed in {component}")


def choose_to_remove(page, label: str) -> None:
    page.locator("#cq-remove-choice input").fill(label)
    page.get_by_role("option", name=label).click()


def test_examples_come_from_these_documents_and_each_is_answered(page):
    page.locator("#cq-examples").wait_for()
    offered = [e.strip() for e in page.locator("#cq-examples button").all_inner_texts()]
    assert offered and not set(offered) & set(SEED_EXAMPLES)
    for question in offered:
        ask(page, question)
        answer = page.locator("#cq-chat .cq-answer").last
        assert "cq-abstain" not in answer.get_attribute("class"), (question, answer.inner_text())
        assert answer.locator("a.cq-cite").count() >= 1, question


def test_citations_name_documents_by_title(page):
    ask(page, "When did the Dunmore Botanic Garden open?")
    marker = page.locator("#cq-chat a.cq-cite").first
    assert marker.get_attribute("title") == "Garden prize"
    marker.click()
    assert page.locator("#cq-panel .cq-panel-title").first.inner_text() == "[1] Garden prize"


def test_nothing_from_a_document_runs_in_the_page(page):
    ask(page, "Who was the Zanzibar lighthouse keeper?")
    page.locator("#cq-chat a.cq-cite").last.click()
    assert "<img src=x onerror=window.__pwned=3>" in page.locator("#cq-panel mark").inner_text()  # as text
    assert "<script>window.__pwned = 2</script>" in page.locator("#cq-panel .cq-panel-title").first.inner_text()
    open_documents(page)
    assert EVIL_NAME in page.locator("#cq-documents").inner_text()
    page.locator("#cq-documents td", has_text="Lighthouse report").hover()
    assert page.evaluate("() => window.__pwned") is None and not page.dialogs
    assert page.locator("#cq-panel img, #cq-chat img[src=x], #cq-documents img").count() == 0


def test_the_documents_table_shows_title_file_chunks_and_date(page):
    open_documents(page)
    headers = page.locator("#cq-documents th").all_inner_texts()
    assert headers == ["Title", "File", "Chunks", "Added"]
    row = page.locator("#cq-documents tr", has_text="Garden prize").inner_text().split("\t")
    assert row[1] == "garden.md" and row[2] == "1" and row[3][:2] == "20"


def test_upload_then_remove_after_a_confirmation(page, tmp_path):
    open_documents(page)
    note = tmp_path / "orchard notes.md"
    note.write_text("# Orchard news\n\nThe Millbrook orchard harvested 900 kilos of pears in 2023.\n",
                    encoding="utf-8")
    choose_file(page, "#cq-upload", note)
    page.click("#cq-add")
    page.locator("#cq-upload-status", has_text="orchard notes.md: added").wait_for()
    assert "Orchard news" in page.locator("#cq-documents tr", has_text="orchard notes.md").inner_text()

    page.click("button[role=tab]:has-text('Chat')")
    ask(page, "How many kilos of pears did the Millbrook orchard harvest?")
    assert "900 kilos" in page.locator("#cq-chat .cq-answer").last.inner_text()

    open_documents(page)
    label = "Orchard news (orchard notes.md)"
    choose_to_remove(page, label)
    page.click("#cq-remove")
    expect(page.locator("#cq-confirm-text")).to_contain_text(f"Remove “{label}” from the index?")
    page.click("#cq-cancel-remove")
    page.locator("#cq-upload-status", has_text="Nothing was removed").wait_for()
    expect(page.locator("#cq-confirm-remove")).to_be_hidden()
    assert page.locator("#cq-documents tr", has_text="orchard notes.md").count() == 1

    page.click("#cq-remove")
    page.click("#cq-confirm-remove")
    page.locator("#cq-upload-status", has_text="orchard notes.md: removed from the index").wait_for()
    assert page.locator("#cq-documents tr", has_text="orchard notes.md").count() == 0
    assert not page.dialogs
    page.reload()  # the answer citing it is marked, before its marker is clicked
    expect(page.locator("#cq-chat .cq-gone")).to_contain_text("no longer in the index: Orchard news")
    expect(page.locator("#cq-chat a.cq-cite-gone")).to_have_count(1)


BAKERY = "# Bakery news\n\nBaker Tilda Marsh, 47, opened the Fenwick Bakery in 2020. Tilda Marsh said the bread " \
         "sells out by noon.\n"


def examples_shown(page) -> str:
    return " ".join(page.locator("#cq-examples button").all_inner_texts())


def test_examples_change_after_an_upload_and_after_a_removal(page, tmp_path):
    page.locator("#cq-examples").wait_for()
    assert "Fenwick" not in examples_shown(page) and "Tilda Marsh" not in examples_shown(page)
    open_documents(page)
    bakery = tmp_path / "bakery.md"
    bakery.write_text(BAKERY, encoding="utf-8")
    choose_file(page, "#cq-upload", bakery)
    page.click("#cq-add")
    page.locator("#cq-upload-status", has_text="bakery.md: added").wait_for()
    page.click("button[role=tab]:has-text('Chat')")
    expect(page.locator("#cq-examples")).to_contain_text("Who opened the Fenwick Bakery in 2020?", timeout=30_000)
    offered = page.locator("#cq-examples button").all_inner_texts()
    assert not [q for q in offered if DEFINITION.match(q.strip())], offered  # each asks for a fact

    open_documents(page)
    choose_to_remove(page, "Bakery news (bakery.md)")
    page.click("#cq-remove")
    page.click("#cq-confirm-remove")
    page.locator("#cq-upload-status", has_text="bakery.md: removed from the index").wait_for()
    page.click("button[role=tab]:has-text('Chat')")
    expect(page.locator("#cq-examples")).not_to_contain_text("Fenwick", timeout=30_000)
    expect(page.locator("#cq-examples")).not_to_contain_text("Tilda Marsh")
    assert examples_shown(page)  # the other documents' examples stay


def test_refused_uploads_are_named_as_uploaded_and_stand_out(page, tmp_path):
    open_documents(page)
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    choose_file(page, "#cq-upload", empty)
    page.click("#cq-add")
    refused = page.locator("#cq-upload-status .cq-status-error")
    expect(refused).to_have_text("✗ empty.txt: the file is empty", timeout=30_000)
    colour = refused.evaluate("element => getComputedStyle(element).color")
    assert colour != page.locator("#cq-documents").evaluate("element => getComputedStyle(element).color")


# What sticks out past the right edge of the window and is not inside a box that scrolls sideways and fits.
STICKING_OUT = """() => {
  const width = window.innerWidth;
  const fits = element => element.getBoundingClientRect().right <= width + 1;
  const scrolls = element => ["auto", "scroll"].includes(getComputedStyle(element).overflowX);
  const out = [];
  for (const element of document.querySelectorAll("body *")) {
    const box = element.getBoundingClientRect();
    if (!box.width || !box.height || fits(element)) continue;
    let held = false;
    for (let up = element.parentElement; up && !held; up = up.parentElement) held = scrolls(up) && fits(up);
    if (!held) out.push(`${element.tagName}#${element.id}.${element.className}`);
  }
  return {page: document.documentElement.scrollWidth - width, out: out.slice(0, 5)};
}"""
TABS = ["Chat", "Documents", "Settings"]


def open_tab(page, tab: str) -> None:
    page.click(f"button[role=tab]:has-text('{tab}')")
    expect(page.locator("button[role=tab][aria-selected=true]")).to_have_text(tab)


@pytest.mark.parametrize("width", [360, 420])
def test_every_tab_fits_a_phone_and_a_wide_table_scrolls_in_its_box(server, width):
    browser, url = server
    with chat_page(browser, url, width=width, height=800) as page:
        ask(page, "Who said the crossings would run hourly?")
        for tab in TABS:
            open_tab(page, tab)
            page.locator("#cq-speeds table" if tab == "Settings" else "body").first.wait_for()
            assert page.evaluate(STICKING_OUT) == {"page": 0, "out": []}, tab
        speeds = page.locator("#cq-speeds .cq-docs")
        assert speeds.evaluate("box => box.scrollWidth > box.clientWidth")  # wider than a phone: it scrolls


def test_no_tab_has_a_serious_or_critical_accessibility_violation(page):
    from axe_playwright_python.sync_playwright import Axe

    ask(page, "Who said the crossings would run hourly?")
    ask(page, "What is the boiling point of mercury?")
    page.locator("#cq-chat a.cq-cite").first.click()
    page.locator("#cq-panel mark").wait_for()
    axe, found = Axe(), {}
    for tab in TABS:
        open_tab(page, tab)
        page.locator("#cq-speeds table" if tab == "Settings" else "body").first.wait_for()
        violations = axe.run(page).response["violations"]
        found[tab] = [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations
                      if v["impact"] in ("serious", "critical")]
    assert found == {tab: [] for tab in TABS}


def test_each_message_is_labelled_with_its_plain_text(page):
    ask(page, "Who said the crossings would run hourly?")
    labels = page.locator("#cq-chat [aria-label]").evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")
    answer = [label for label in labels if "Ines Marlow" in label]
    assert answer and not [label for label in labels if "<" in label or "&lt;" in label or "class=" in label]
