"""The Documents tab: upload, list and remove (after a confirmation) the indexed documents."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import gradio as gr

from ui.errors import sentence
from ui.render import done, e, refused, render_error
from ui.uploads import UPLOAD_SOURCE_PREFIX, UploadError, safe_upload_name, store_upload, upload_copy

log = logging.getLogger("citeqa.ui")


def note(text: str) -> str:
    return f'<div class="cq-note">{text}</div>'


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def file_name(source: str) -> str:
    return source.rsplit("/", 1)[-1]


def choice_label(document: Any) -> str:
    title = document.title.strip()
    return f"{title} ({file_name(document.source)})" if title else document.source


def render_documents(documents: list[Any]) -> str:
    if not documents:
        return '<div class="cq-docs"><p>No documents yet: upload some above.</p></div>'
    rows = []
    for d in sorted(documents, key=lambda d: (d.title.strip() or d.source).lower()):
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(d.indexed_at)) if d.indexed_at else ""
        rows.append(f'<tr><td>{e(d.title.strip() or file_name(d.source))}</td><td class="cq-file">{e(d.source)}</td>'
                    f'<td class="cq-num">{d.chunks}</td><td>{e(when)}</td></tr>')
    total = sum(d.chunks for d in documents)
    return ('<div class="cq-docs"><table><thead><tr><th>Title</th><th>File</th><th>Chunks</th><th>Added</th>'
            '</tr></thead><tbody>' + "".join(rows) +
            f'</tbody></table><p>{plural(len(documents), "document")}, {plural(total, "chunk")}.</p></div>')


class Documents:
    def __init__(self, assistant: Any, upload_dir: Path, max_upload_mb: float) -> None:
        self.assistant = assistant
        self.upload_dir = upload_dir
        self.max_upload_mb = max_upload_mb

    def view(self) -> tuple[str, Any]:
        """(documents table, remove choices)."""
        try:
            documents = self.assistant.documents()
        except Exception as exc:
            return (render_error(f"The documents cannot be listed. {sentence(exc)}"),
                    gr.Dropdown(choices=[], value=None))
        choices = [(choice_label(d), d.source) for d in sorted(documents, key=choice_label)]
        return render_documents(documents), gr.Dropdown(choices=choices, value=None)

    def upload(self, files: list[Any] | None, progress: Any = gr.Progress()) -> tuple[str, str, Any]:
        """Check, copy and index uploaded files one by one; returns (status, documents table, remove choices)."""
        files = [f for f in (files or []) if f]
        if not files:
            return note("Choose files to upload first."), *self.view()
        lines = []
        for number, file in enumerate(files):
            path = Path(getattr(file, "name", None) or getattr(file, "path", None) or str(file))
            shown = getattr(file, "orig_name", None) or path.name
            if progress is not None:
                progress(number / len(files), desc=f"Indexing {shown}")
            lines.append(self._add(path, shown))
        if progress is not None:
            progress(1.0, desc="Done")
        return f'<div class="cq-status">{"".join(lines)}</div>', *self.view()

    def _add(self, path: Path, shown: str) -> str:
        """One file: copied, indexed as uploads/<name>; the copy is deleted again when indexing refuses it.
        Every outcome names the file as the reader uploaded it."""
        try:
            existed = (self.upload_dir / safe_upload_name(shown)).exists()
            stored = store_upload(path, self.upload_dir, self.max_upload_mb, name=shown)
        except UploadError as exc:
            return refused(shown, str(exc).removeprefix(f"{shown}: "))
        try:
            report = self.assistant.add([stored], source_prefix=UPLOAD_SOURCE_PREFIX)
        except Exception as exc:
            log.exception("indexing %s failed", stored)
            if not existed:
                stored.unlink(missing_ok=True)
            return refused(shown, sentence(exc))
        if report.skipped:
            if not existed:
                stored.unlink(missing_ok=True)
            return "".join(refused(shown, reason) for _, reason in report.skipped)
        if report.added:
            return done(shown, f"added ({plural(report.chunks_embedded, 'chunk')})")
        if report.updated:
            return done(shown, f"updated ({plural(report.chunks_embedded, 'chunk')})")
        return done(shown, "already indexed, unchanged")

    def confirm(self, source: str | None) -> tuple[str, Any, str]:
        """Remove pressed: ask first. Returns (status, confirmation row, its question)."""
        if not source:
            return note("Choose a document to remove."), gr.Row(visible=False), ""
        label = next((choice_label(d) for d in self.assistant.documents() if d.source == source), source)
        question = f"Remove “{e(label)}” from the index? Its answers can no longer be checked."
        return "", gr.Row(visible=True), note(question)

    @staticmethod
    def cancel() -> tuple[str, Any]:
        return note("Nothing was removed."), gr.Row(visible=False)

    def remove(self, source: str | None) -> tuple[str, str, Any, Any]:
        """Confirmed: remove the document (and an upload's copy). Returns (status, table, choices, row)."""
        if not source:
            return note("Choose a document to remove."), *self.view(), gr.Row(visible=False)
        try:
            self.assistant.remove(source)
        except KeyError:
            status = refused(file_name(source), "not in the index")
        except Exception as exc:
            status = refused(file_name(source), sentence(exc))
        else:
            status = done(file_name(source), "removed from the index")
            copy = upload_copy(source, self.upload_dir)
            if copy is not None:
                copy.unlink(missing_ok=True)
        return status, *self.view(), gr.Row(visible=False)
