"""The Documents tab's handlers and the upload checks: extractive generator, a tiny corpus, no browser."""

from __future__ import annotations

from pathlib import Path

import pytest

gr = pytest.importorskip("gradio")

from tests.test_ui_app import assistant, built_index, ui  # noqa: E402,F401 - shared fixtures
from ui.documents import render_documents  # noqa: E402
from ui.uploads import UploadError, safe_upload_name, store_upload  # noqa: E402

ORCHARD = "# Orchard news\n\nThe Millbrook orchard harvested 900 kilos of pears in 2023.\n"


def no_progress(*args, **kwargs) -> None:
    return None


@pytest.fixture
def orchard(tmp_path) -> Path:
    path = tmp_path / "incoming" / "orchard.md"
    path.parent.mkdir()
    path.write_text(ORCHARD, encoding="utf-8")
    return path


# -- upload names and checks -------------------------------------------------------------------------------
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


def test_store_upload_stays_in_its_folder(tmp_path):
    folder = tmp_path / "index" / "uploads"
    source = tmp_path / "incoming.txt"
    source.write_text("Some text.\n", encoding="utf-8")
    stored = store_upload(source, folder, name="../../../outside.txt")
    assert stored == (folder / "outside.txt").resolve() and stored.read_text() == "Some text.\n"
    assert not (tmp_path / "outside.txt").exists()


@pytest.mark.parametrize("name, max_mb, message", [
    ("tool.exe", 25.0, "unsupported file type .exe"),
    ("archive.txt.sh", 25.0, "unsupported file type"),
    ("big.txt", 0.000001, "too large"),
])
def test_store_upload_checks_type_and_size(tmp_path, name, max_mb, message):
    source = tmp_path / "incoming.txt"
    source.write_text("Some text.\n", encoding="utf-8")
    with pytest.raises(UploadError, match=message):
        store_upload(source, tmp_path / "uploads", max_mb=max_mb, name=name)
    assert not (tmp_path / "uploads").exists()


def test_store_upload_refuses_an_empty_file(tmp_path):
    empty = tmp_path / "empty.md"
    empty.write_bytes(b"")
    with pytest.raises(UploadError, match="empty"):
        store_upload(empty, tmp_path / "uploads")


# -- the tab -----------------------------------------------------------------------------------------------
def test_an_upload_is_added_listed_and_answered_from(ui, orchard):
    status, table, choices = ui.documents.upload([str(orchard)], progress=no_progress)
    assert "orchard.md: added" in status and "Orchard news" in table
    assert ("Orchard news (orchard.md)", "uploads/orchard.md") in choices.choices
    assert (ui.documents.upload_dir / "orchard.md").exists()
    assert ui.documents.upload_dir.parent == Path(ui.assistant.index.root)
    answer = ui.api.ask("How many kilos of pears did the Millbrook orchard harvest?")
    assert answer["citations"][0]["source"] == "uploads/orchard.md"


def test_refused_uploads_say_why_and_leave_no_copy(ui, tmp_path):
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    status, _, _ = ui.documents.upload([str(latin1), str(tmp_path / "x.exe")], progress=no_progress)
    assert "latin1.txt" in status and "not valid UTF-8" in status and "unsupported file type .exe" in status
    assert not (ui.documents.upload_dir / "latin1.txt").exists()


def test_upload_progress_reaches_the_end(ui, orchard):
    calls = []
    ui.documents.upload([str(orchard)], progress=lambda *a, **k: calls.append(a))
    assert calls[-1][0] == 1.0


def test_the_same_upload_again_is_unchanged(ui, orchard):
    ui.documents.upload([str(orchard)], progress=no_progress)
    status, _, _ = ui.documents.upload([str(orchard)], progress=no_progress)
    assert "unchanged" in status


def test_remove_asks_first_naming_the_document_by_its_title(ui):
    status, row, question = ui.documents.confirm("market.html")
    assert row.visible is True and "Remove “Market fire (market.html)” from the index?" in question
    assert "market.html" in {d.source for d in ui.assistant.documents()}


def test_cancelling_removes_nothing(ui):
    status, row = ui.documents.cancel()
    assert "Nothing was removed" in status and row.visible is False
    assert "market.html" in {d.source for d in ui.assistant.documents()}


def test_confirmed_remove_deletes_the_document_and_its_upload_copy(ui, orchard):
    ui.documents.upload([str(orchard)], progress=no_progress)
    status, table, choices, row = ui.documents.remove("uploads/orchard.md")
    assert "orchard.md: removed from the index" in status and "Orchard news" not in table and row.visible is False
    assert "uploads/orchard.md" not in [value for _, value in choices.choices]
    assert not (ui.documents.upload_dir / "orchard.md").exists()


def test_removing_a_missing_document_says_so(ui):
    status, _, _, _ = ui.documents.remove("uploads/never.md")
    assert "not in the index" in status


def test_the_table_shows_title_file_chunks_and_date_added(ui):
    table, _ = ui.documents.view()
    assert "<th>Title</th><th>File</th><th>Chunks</th><th>Added</th>" in table
    assert '<tr><td>Market fire</td><td class="cq-file">market.html</td><td class="cq-num">1</td>' in table


def test_an_untitled_document_is_listed_by_its_file_name():
    info = type("Info", (), dict(source="notes/a.txt", title="", chunks=2, characters=9, indexed_at=0.0))()
    assert "<tr><td>a.txt</td>" in render_documents([info])


def test_file_names_are_escaped_in_the_status_and_table(ui, tmp_path):
    evil = tmp_path / "<b onmouseover=alert(1)>bold.exe"
    evil.write_text("x", encoding="utf-8")
    status, _, _ = ui.documents.upload([str(evil)], progress=no_progress)
    assert "&lt;b onmouseover=alert(1)&gt;bold.exe" in status and "<b " not in status
    sneaky = tmp_path / "<img src=x onerror=alert(1)>.md"
    sneaky.write_text("# Sneaky\n\nThe Quarry museum opened in 1977.\n", encoding="utf-8")
    status, table, _ = ui.documents.upload([str(sneaky)], progress=no_progress)
    assert "added" in status and "<img" not in status and "<img" not in table and "&lt;img" in table
    assert [p.parent for p in ui.documents.upload_dir.iterdir()] == [ui.documents.upload_dir]


def test_one_chunk_is_one_chunk():
    info = type("Info", (), dict(source="a.txt", title="A", chunks=1, characters=9, indexed_at=0.0))()
    assert "1 document, 1 chunk." in render_documents([info])


def test_a_file_the_index_refuses_is_named_as_uploaded(ui, tmp_path):
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\x00\x01\x02 not text \xff\xfe")
    status, _, _ = ui.documents.upload([str(binary)], progress=no_progress)
    assert 'class="cq-status-error"' in status and "✗ binary.txt: " in status and "uploads/" not in status
