from pathlib import Path

import pytest

from index.loaders import SkipFile, Skipped, load_documents, load_file
from tests.support import minimal_pdf

MB = 1_000_000


def test_text_loader_keeps_text_exact(tmp_path: Path):
    path = tmp_path / "a.txt"
    path.write_text("Title line\nBody text.\n", encoding="utf-8")
    doc = load_file(path, "a.txt", MB)
    assert doc.text == "Title line\nBody text.\n"
    assert doc.title == "Title line"
    assert len(doc.sha256) == 64


def test_markdown_title_drops_hashes(tmp_path: Path):
    path = tmp_path / "b.md"
    path.write_text("# Big news\n\nSomething happened.", encoding="utf-8")
    assert load_file(path, "b.md", MB).title == "Big news"


def test_html_drops_script_style_and_navigation(corpus: Path):
    doc = load_file(corpus / "market.html", "market.html", MB)
    assert "40 stalls" in doc.text and "Ruth Okoro" in doc.text
    assert "alert" not in doc.text and "color" not in doc.text
    assert "Home | News" not in doc.text and "Copyright" not in doc.text
    assert doc.title == "Market fire"


def _pdf(path: Path, pages: list[str]) -> None:
    path.write_bytes(minimal_pdf(pages))


def test_pdf_keeps_page_numbers(tmp_path: Path):
    path = tmp_path / "report.pdf"
    _pdf(path, ["First page says hello.", "Second page says goodbye."])
    doc = load_file(path, "report.pdf", MB)
    pages = doc.metadata["pages"]
    assert [p[0] for p in pages] == [1, 2]
    assert doc.text[pages[1][1]:pages[1][2]] == "Second page says goodbye."


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "no text"),
        ("blank.md", b"   \n\n ", "no text"),
        ("binary.txt", b"\x00\x01\x02abc", "binary"),
        ("latin.txt", "caf\xe9".encode("latin-1"), "UTF-8"),
        ("photo.jpg", b"\xff\xd8\xff", "unsupported"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
    ],
)
def test_bad_files_are_skipped_with_a_reason(tmp_path: Path, name: str, content: bytes, reason: str):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SkipFile, match=reason):
        load_file(path, name, MB)


def test_too_large_file_is_skipped(tmp_path: Path):
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000, encoding="utf-8")
    with pytest.raises(SkipFile, match="too large"):
        load_file(path, "big.txt", 100)


def test_bad_file_does_not_stop_good_ones(corpus: Path, caplog):
    (corpus / "junk.bin").write_bytes(b"\x00\x00")
    (corpus / "empty.txt").write_text("", encoding="utf-8")
    items = list(load_documents([corpus], MB))
    skipped = {i.source for i in items if isinstance(i, Skipped)}
    loaded = {i.source for i in items if not isinstance(i, Skipped)}
    assert skipped == {"junk.bin", "empty.txt"}
    assert loaded == {"harbour.txt", "library.md", "market.html"}
    assert sum("skipped" in r.message for r in caplog.records) == 2


def test_sources_are_relative_to_the_added_folder(tmp_path: Path):
    (tmp_path / "news" / "2024").mkdir(parents=True)
    (tmp_path / "news" / "2024" / "a.txt").write_text("Some text.", encoding="utf-8")
    (tmp_path / "news" / ".hidden.txt").write_text("Hidden.", encoding="utf-8")
    sources = [d.source for d in load_documents([tmp_path / "news"], MB)]
    assert sources == ["2024/a.txt"]
