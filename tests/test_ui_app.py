"""The chat's handlers, called directly: extractive generator, a tiny corpus in tmp_path, no browser."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

gr = pytest.importorskip("gradio")

from ui import app as ui_app  # noqa: E402
from ui.app import ChatUI, UploadError, build_app, safe_upload_name, store_upload  # noqa: E402

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


def no_progress(*args, **kwargs) -> None:
    return None


@pytest.fixture(scope="module")
def built_index(tmp_path_factory, embedder) -> Path:
    """Index the tiny corpus once per module; each test works on its own copy."""
    from qa.assistant import Assistant

    root = tmp_path_factory.mktemp("ui-index")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in CORPUS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    a = Assistant(index_dir=root / "idx", generator="extractive")
    a.index._embedder = embedder
    report = a.add([corpus])
    assert EVIL_NAME in report.added and not report.skipped
    return root / "idx"


@pytest.fixture
def assistant(tmp_path, built_index, embedder):
    from qa.assistant import Assistant

    shutil.copytree(built_index, tmp_path / "idx")
    a = Assistant(index_dir=tmp_path / "idx", generator="extractive")
    a.index._embedder = embedder
    return a


@pytest.fixture
def ui(assistant) -> ChatUI:
    return build_app(assistant).citeqa


def ask(ui: ChatUI, question: str, turns=None, chat=None, top_k=5):
    """Run the streaming handler to its end; returns every yield and the last one."""
    steps = list(ui.respond(question, chat or [], turns or [], "extractive", top_k))
    return steps, steps[-1]


# -- chat ---------------------------------------------------------------------------------------------
def test_answer_streams_then_shows_clickable_markers_and_timings(ui):
    steps, (chat, turns, panel, box) = ask(ui, "How many stalls did the fire destroy?")
    assert len(steps) >= 2 and "Searching" in steps[0][2]  # the question shows before the answer
    assert box == "" and [m["role"] for m in chat] == ["user", "assistant"]
    answer = chat[-1]["content"]
    assert "40 stalls" in answer and 'href="#cq-cite-0-1"' in answer and "cq-timings" in answer
    assert "cq-abstain" not in answer
    assert turns[0]["citations"][0]["source"] == "market.html"
    assert 'href="#cq-cite-0-1"' in panel  # the side panel lists the citations to click
    json.dumps(turns)  # the page keeps turns in gr.State: plain data only


def test_citation_click_shows_the_sentence_highlighted_in_its_document(ui, assistant):
    _, (_, turns, _, _) = ask(ui, "How many stalls did the fire destroy?")
    citation = turns[0]["citations"][0]
    panel = ui.show_citation("0:1:1732000000000", turns)
    assert f"<mark>{citation['text']}</mark>" in panel
    assert "market.html" in panel and "Market fire" in panel  # source and title
    document = assistant.document_text("market.html")
    assert document[: citation["start"]].strip().splitlines()[-1] in panel  # context before the sentence
    # Stale or forged targets change nothing.
    assert ui.show_citation("7:1", turns) is not None
    assert isinstance(ui.show_citation("nonsense", turns), type(gr.skip()))


def test_abstention_looks_different_and_lists_the_nearest_passages(ui):
    _, (chat, turns, panel, _) = ask(ui, "What is the boiling point of mercury?")
    answer = chat[-1]["content"]
    assert turns[0]["abstained"]
    assert "cq-abstain" in answer and "No answer in your documents" in answer and "cq-cite" not in answer
    assert "Nearest passages" in panel and 'data-abstained="true"' in panel


def test_follow_up_is_asked_with_the_chat_history(ui, monkeypatch):
    _, (chat, turns, _, _) = ask(ui, "Who cut the ribbon on the Harbour Bridge?")
    seen = {}
    real = type(ui.assistant).stream

    def spy(self, question, history=None, k=None):
        seen["history"] = history
        yield from real(self, question, history=history, k=k)

    monkeypatch.setattr(type(ui.assistant), "stream", spy)
    _, (chat, turns, _, _) = ask(ui, "When did she do it?", turns=turns, chat=chat)
    assert seen["history"] == [(turns[0]["question"], turns[0]["text"])]
    assert len(chat) == 4 and len(turns) == 2
    assert 'href="#cq-cite-1-' in chat[-1]["content"] or turns[1]["abstained"]


def test_empty_question_changes_nothing_and_errors_show_in_the_chat(ui, monkeypatch):
    with pytest.warns(UserWarning, match="Type a question"):
        _, (chat, turns, _, _) = ask(ui, "   ")
    assert chat == [] and turns == []

    def broken(self, question, history=None, k=None):
        raise RuntimeError("the model <b>weights</b> are missing")
        yield  # pragma: no cover

    monkeypatch.setattr(type(ui.assistant), "stream", broken)
    _, (chat, turns, _, _) = ask(ui, "Who won the award?")
    assert "cq-error" in chat[-1]["content"] and "&lt;b&gt;weights" in chat[-1]["content"] and turns == []


def test_clear_resets_chat_and_state():
    chat, turns, panel, box = ChatUI.clear()
    assert chat == [] and turns == [] and box == "" and "Ask a question" in panel


# -- safety: nothing from a document runs ------------------------------------------------------------------
def test_document_text_title_and_file_name_are_escaped_everywhere(ui):
    _, (chat, turns, panel, _) = ask(ui, "Who was the Zanzibar lighthouse keeper?")
    rendered = [chat[-1]["content"], panel]
    assert not turns[0]["abstained"], turns[0]["reason"]
    citation = turns[0]["citations"][0]
    assert citation["source"] == EVIL_NAME
    rendered.append(ui.show_citation("0:1", turns))
    table, _ = ui.documents_view()
    rendered.append(table)
    for html in rendered:
        assert "<script" not in html and "<img" not in html  # only escaped text, never a tag
    assert "&lt;img src=x onerror=alert(2)&gt;" in rendered[2]  # shown as text in the passage
    assert "&lt;img src=x onerror=alert(1)&gt;.txt" in rendered[2] and "&lt;img" in table  # file name
    assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;" in table  # title


def test_question_is_escaped_in_the_chat(ui):
    _, (chat, _, _, _) = ask(ui, "<script>alert(1)</script> Who won the design award?")
    assert "<script" not in chat[0]["content"] and "&lt;script&gt;" in chat[0]["content"]


# -- uploads -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, expected", [
    ("report.txt", "report.txt"),
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\windows\\evil.md", "evil.md"),
    ("/abs/path/notes.pdf", "notes.pdf"),
    (".hidden.html", "hidden.html"),
    ("a<b>c.txt", "a_b_c.txt"),
    ("x\x00y.txt", "xy.txt"),
    ("café ünïcode.md", "café ünïcode.md"),
])
def test_upload_names_keep_only_a_safe_base_name(name, expected):
    assert safe_upload_name(name) == expected


@pytest.mark.parametrize("name", ["", "..", "../..", "...", "/", ".txt"])
def test_unusable_upload_names_are_refused(name):
    with pytest.raises(UploadError):
        safe_upload_name(name)


def test_store_upload_stays_in_its_folder_and_checks_type_and_size(tmp_path):
    folder = tmp_path / "index" / "uploads"
    source = tmp_path / "incoming.txt"
    source.write_text("Some text.\n", encoding="utf-8")
    stored = store_upload(source, folder, name="../../../outside.txt")
    assert stored == (folder / "outside.txt").resolve() and stored.read_text() == "Some text.\n"
    assert not (tmp_path / "outside.txt").exists()
    with pytest.raises(UploadError, match="unsupported file type .exe"):
        store_upload(source, folder, name="tool.exe")
    with pytest.raises(UploadError, match="unsupported file type"):
        store_upload(source, folder, name="archive.txt.sh")
    with pytest.raises(UploadError, match="too large"):
        store_upload(source, folder, max_mb=0.000001, name="big.txt")
    empty = tmp_path / "empty.md"
    empty.write_bytes(b"")
    with pytest.raises(UploadError, match="empty"):
        store_upload(empty, folder)
    assert sorted(p.name for p in folder.iterdir()) == ["outside.txt"]


def test_upload_adds_lists_and_remove_deletes(ui, tmp_path):
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    good = incoming / "orchard.md"
    good.write_text("# Orchard news\n\nThe Millbrook orchard harvested 900 kilos of pears in 2023.\n", encoding="utf-8")
    bad = incoming / "latin1.txt"
    bad.write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    calls = []
    status, table, choices = ui.upload([str(good), str(bad), str(incoming / "x.exe")],
                                       progress=lambda *a, **k: calls.append((a, k)))
    assert "orchard.md: added" in status and "latin1.txt" in status and "not valid UTF-8" in status
    assert "unsupported file type .exe" in status
    assert calls and calls[-1][0][0] == 1.0  # progress reached the end
    assert "orchard.md" in table and "Orchard news" in table
    assert "uploads/orchard.md" in choices["choices"]
    assert (ui.upload_dir / "orchard.md").exists() and not (ui.upload_dir / "latin1.txt").exists()
    assert ui.upload_dir.parent == Path(ui.assistant.index.root)

    _, (_, turns, _, _) = ask(ui, "How many kilos of pears did the Millbrook orchard harvest?")
    assert turns[0]["citations"] and turns[0]["citations"][0]["source"] == "uploads/orchard.md"

    status, _, _ = ui.upload([str(good)], progress=no_progress)
    assert "unchanged" in status

    status, table, choices = ui.remove("uploads/orchard.md")
    assert "removed uploads/orchard.md" in status and "orchard.md" not in table
    assert "uploads/orchard.md" not in choices["choices"] and not (ui.upload_dir / "orchard.md").exists()
    status, _, _ = ui.remove("uploads/orchard.md")
    assert "not in the index" in status


def test_upload_file_names_are_escaped_in_the_status(ui, tmp_path):
    evil = tmp_path / "<b onmouseover=alert(1)>bold.exe"
    evil.write_text("x", encoding="utf-8")
    status, _, _ = ui.upload([str(evil)], progress=no_progress)
    assert "unsupported" in status and "&lt;b onmouseover=alert(1)&gt;bold.exe" in status and "<b " not in status
    sneaky = tmp_path / "<img src=x onerror=alert(1)>.md"
    sneaky.write_text("# Sneaky\n\nThe Quarry museum opened in 1977.\n", encoding="utf-8")
    status, table, _ = ui.upload([str(sneaky)], progress=no_progress)
    assert "added" in status and "<img" not in status and "<img" not in table
    assert [p.parent for p in ui.upload_dir.iterdir()] == [ui.upload_dir]


# -- API ---------------------------------------------------------------------------------------------------
def test_api_ask_returns_answer_and_citations_as_json(ui):
    result = ui.api_ask("How many stalls did the fire destroy?")
    data = json.loads(json.dumps(result))
    assert "40 stalls" in data["answer"] and data["citations"][0]["source"] == "market.html"
    assert data["abstained"] is False and "total" in data["timings"]
    follow = ui.api_ask("Who said no one was hurt?", 3, [["How many stalls did the fire destroy?", data["answer"]]])
    assert "Okoro" in follow["answer"]
    with pytest.raises(gr.Error):
        ui.api_ask("   ")


def test_app_has_an_ask_endpoint(assistant):
    app = build_app(assistant)
    names = {fn.api_name for fn in app.fns.values() if getattr(fn, "api_visibility", "public") == "public"}
    assert "ask" in names


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
    assert other.index.root == assistant.index.root and other.index._embedder is assistant.index._embedder
    assert ui.assistants.get("default") is other and ui.assistants.get(None) is assistant


# -- citeqa chat -----------------------------------------------------------------------------------------
def test_cli_binds_loopback_by_default_and_parses_auth():
    from ui import cli

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args([])
    assert args.host == "127.0.0.1" and args.port == 7860 and args.index is None and args.auth is None
    args = parser.parse_args(["--index", "x", "--generator", "extractive", "--auth", "me:s3:cret", "--port", "0"])
    assert cli.parse_auth(args.auth) == ("me", "s3:cret") and args.generator == "extractive"
    with pytest.raises(ValueError):
        cli.parse_auth("nopassword")
    assert cli.is_loopback("127.0.0.1") and cli.is_loopback("::1") and not cli.is_loopback("0.0.0.0")


def test_cli_flags_fit_the_citeqa_parser():
    from citeqa.cli import build_parser

    args = build_parser().parse_args(["chat", "--index", "somewhere", "--port", "7999"])
    assert args.host == "127.0.0.1" and args.index == "somewhere" and args.port == 7999


def test_render_helpers_escape_and_window():
    doc = "line one\n" + "x" * 2000 + "\nThe <b>cited</b> sentence.\n" + "y " * 1000
    start = doc.index("The <b>")
    citation = {"start": start, "end": start + len("The <b>cited</b> sentence."),
                "text": "The <b>cited</b> sentence.", "source": "s.txt", "title": "T"}
    html = ui_app.render_context(doc, citation)
    assert "<mark>The &lt;b&gt;cited&lt;/b&gt; sentence.</mark>" in html and "line one" not in html
    assert len(html) < 2 * ui_app.CONTEXT_CHARS + 400
    changed = ui_app.render_context(doc.replace("cited", "CITED"), citation)
    assert "changed since" in changed
