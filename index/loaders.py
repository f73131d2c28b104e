"""Turn files into Documents. A bad file is skipped with one reason; it never aborts a run."""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from index.documents import Document

log = logging.getLogger("citeqa.index")

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES
DROPPED_HTML_TAGS = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form",
                     "iframe", "svg", "button", "menu")


class SkipFile(Exception):
    """Raised by a loader when a file cannot become a Document; the message is the reason shown to the user."""


@dataclass(frozen=True, slots=True)
class Skipped:
    source: str
    reason: str


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _title_from_text(text: str, fallback: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= 160 else line[:157].rstrip() + "…"
    return fallback


def _short(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise SkipFile("binary content (NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SkipFile(f"not valid UTF-8 (byte {exc.start}); convert it to UTF-8 first") from None
    return text


def load_text(data: bytes, stem: str) -> tuple[str, str, dict]:
    text = _decode(data)
    return text, _title_from_text(text, stem), {"format": "text"}


def load_html(data: bytes, stem: str) -> tuple[str, str, dict]:
    from bs4 import BeautifulSoup

    if b"\x00" in data[:8192]:
        raise SkipFile("binary content (NUL bytes)")
    soup = BeautifulSoup(data, "html.parser")
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    for tag in soup(list(DROPPED_HTML_TAGS)):
        tag.decompose()
    body = soup.find("article") or soup.find("main") or soup.body or soup
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in body.get_text("\n").splitlines())
    text = "\n".join(line for line in lines if line)
    if not title:
        h1 = soup.find("h1")
        title = h1.get_text(" ", strip=True) if h1 else _title_from_text(text, stem)
    return text, title, {"format": "html"}


def load_pdf(data: bytes, stem: str) -> tuple[str, str, dict]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages: list[str] = [(page.extract_text() or "").strip() for page in reader.pages]
        info_title = (reader.metadata.title if reader.metadata else None) or ""
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise SkipFile(f"unreadable PDF ({exc.__class__.__name__}: {_short(exc)})") from None
    except Exception as exc:  # noqa: BLE001 - pypdf also fails with AssertionError, RecursionError, ...
        raise SkipFile(f"unreadable PDF ({exc.__class__.__name__}: {_short(exc)})") from None
    spans: list[list[int]] = []
    parts: list[str] = []
    offset = 0
    for number, page_text in enumerate(pages, start=1):
        if parts:
            offset += 2  # the "\n\n" that joins pages
        spans.append([number, offset, offset + len(page_text)])
        parts.append(page_text)
        offset += len(page_text)
    text = "\n\n".join(parts)
    return text, str(info_title).strip() or _title_from_text(text, stem), {"format": "pdf", "pages": spans}


@dataclass(frozen=True, slots=True)
class RawFile:
    """A file read and hashed but not parsed: what decides whether it is indexed again, and what a Ray worker
    parses (index.cluster). `name` carries the suffix that picks the loader."""

    source: str
    name: str
    data: bytes
    sha256: str


def loader_kind(name: str) -> str:
    """Which loader reads a file of this name: files of the same bytes and kind load the same."""
    suffix = Path(name).suffix.lower()
    return "html" if suffix in HTML_SUFFIXES else "pdf" if suffix in PDF_SUFFIXES else "text"


def read_file(path: Path, source: str, max_bytes: int) -> RawFile:
    """The bytes of one file and their sha256, or SkipFile saying why it is not read."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise SkipFile(f"unsupported file type {suffix or '(none)'}; citeqa reads "
                       + ", ".join(sorted(SUPPORTED_SUFFIXES)))
    size = path.stat().st_size
    if size > max_bytes:
        raise SkipFile(f"too large ({size / 1e6:.1f} MB > {max_bytes / 1e6:.0f} MB limit; raise max_file_mb)")
    data = path.read_bytes()
    return RawFile(source, path.name, data, sha256_bytes(data))


def parse_file(raw: RawFile) -> Document:
    """The Document in a file's bytes, or SkipFile saying why there is none."""
    stem = Path(raw.name).stem
    kind = loader_kind(raw.name)
    try:
        if kind == "html":
            text, title, meta = load_html(raw.data, stem)
        elif kind == "pdf":
            text, title, meta = load_pdf(raw.data, stem)
        else:
            text, title, meta = load_text(raw.data, stem)
    except SkipFile:
        raise
    except Exception as exc:  # noqa: BLE001 - a parser's bug on one odd file must not stop the run
        raise SkipFile(f"could not read it ({exc.__class__.__name__}: {_short(exc)})") from None
    if not text.strip():
        raise SkipFile("no text in it (empty, or a scanned PDF without a text layer)")
    return Document(source=raw.source, title=title, text=text, sha256=raw.sha256, metadata=meta)


def load_file(path: Path, source: str, max_bytes: int) -> Document:
    """Load one file, or raise SkipFile saying why not."""
    return parse_file(read_file(path, source, max_bytes))


def discover(paths: Iterable[Path], prefix: str = "") -> Iterator[tuple[Path, str]]:
    """Yield (file, source) pairs; source is relative to the folder that was named, or the file's name.

    `prefix` (e.g. "uploads/") puts the sources in their own namespace, so they cannot replace documents
    added from elsewhere under the same name.
    """
    for given in paths:
        given = Path(given)
        if not given.exists():
            raise FileNotFoundError(f"{given}: no such file or folder")
        if given.is_file():
            yield given, prefix + given.name
            continue
        for file in sorted(given.rglob("*")):
            relative = file.relative_to(given)
            if any(part.startswith(".") for part in relative.parts) or not file.is_file():
                continue
            yield file, prefix + relative.as_posix()


def skipped(source: str, reason: str) -> Skipped:
    """A file left out, with its reason logged once."""
    log.warning("skipped %s: %s", source, reason)
    return Skipped(source, reason)


def read_files(paths: Iterable[Path], max_bytes: int, prefix: str = "") -> Iterator[RawFile | Skipped]:
    """Every file below `paths`, read and hashed, or Skipped with its reason logged once."""
    for file, source in discover(paths, prefix):
        try:
            yield read_file(file, source, max_bytes)
        except SkipFile as exc:
            yield skipped(source, str(exc))
        except OSError as exc:
            yield skipped(source, f"cannot read it ({exc.strerror or exc})")


def load_documents(paths: Iterable[Path], max_bytes: int, prefix: str = "") -> Iterator[Document | Skipped]:
    """Every file below `paths` as a Document, or as Skipped with a warning logged once."""
    for item in read_files(paths, max_bytes, prefix):
        if isinstance(item, Skipped):
            yield item
            continue
        try:
            yield parse_file(item)
        except SkipFile as exc:
            yield skipped(item.source, str(exc))
