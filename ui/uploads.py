"""Uploaded files: checked, given a safe base name and copied into the index folder before indexing."""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from pathlib import Path

UPLOAD_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
MAX_UPLOAD_MB = 25.0
UPLOAD_FOLDER = "uploads"  # under the index folder
# Uploaded documents get their own sources ("uploads/notes.txt"), so an upload named like a document
# indexed from elsewhere (a seed article) is added beside it and never replaces it.
UPLOAD_SOURCE_PREFIX = UPLOAD_FOLDER + "/"


class UploadError(ValueError):
    """An upload refused before it reaches the index; the message says why."""


def safe_upload_name(name: str) -> str:
    """The base name only (either slash), no control or odd characters, no leading dots, at most 120 chars."""
    base = re.split(r"[\\/]", str(name))[-1]
    base = unicodedata.normalize("NFKC", base)
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C")
    base = re.sub(r"[^\w.\- ]+", "_", base).strip(" .")
    base = re.sub(r"\.{2,}", ".", base)
    stem, dot, suffix = base.rpartition(".")
    if dot and len(base) > 120:
        base = stem[: 119 - len(suffix)] + "." + suffix
    if not base or base in {".", ".."} or not stem.strip(" ._"):
        raise UploadError(f"unusable file name {name!r}")
    return base


def store_upload(path: str | Path, folder: Path, max_mb: float = MAX_UPLOAD_MB,
                 name: str | None = None) -> Path:
    """Check one uploaded file and copy it into `folder` under its sanitised base name."""
    path = Path(path)
    shown = name or path.name
    clean = safe_upload_name(shown)
    suffix = Path(clean).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise UploadError(f"{shown}: unsupported file type {suffix or '(none)'}; "
                          f"upload {', '.join(UPLOAD_SUFFIXES)}")
    if not path.is_file():
        raise UploadError(f"{shown}: the upload did not arrive")
    size = path.stat().st_size
    if size > max_mb * 1_000_000:
        raise UploadError(f"{shown}: too large ({size / 1e6:.1f} MB; the limit is {max_mb:g} MB)")
    if size == 0:
        raise UploadError(f"{shown}: the file is empty")
    folder.mkdir(parents=True, exist_ok=True)
    target = (folder / clean).resolve()
    if target.parent != folder.resolve():
        raise UploadError(f"{shown}: the name escapes the upload folder")
    partial = target.with_name(f".{target.name}.part")
    shutil.copyfile(path, partial)
    os.replace(partial, target)
    return target


def upload_copy(source: str, folder: Path) -> Path | None:
    """The copy in `folder` that an uploaded source was indexed from, or None for any other source."""
    if not source.startswith(UPLOAD_SOURCE_PREFIX):
        return None
    name = source[len(UPLOAD_SOURCE_PREFIX):]
    copy = folder / name
    if not name or "/" in name or "\\" in name or copy.resolve().parent != folder.resolve():
        return None
    return copy
