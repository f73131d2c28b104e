"""The Gradio chat: answers with clickable citations, the cited passage in its document, documents, settings.

Everything a handler shows is rendered here as HTML from escaped text: document text, titles, sources,
file names and questions all go through `html.escape`, so nothing from a document runs in the page.
The handlers are plain methods of `ChatUI`, testable without a browser; `build_app` wires them to
Gradio components and `launch` serves them.

Citation markers are links `#cq-cite-<turn>-<marker>`. A small script in the page's head catches clicks
on them, writes "<turn>:<marker>:<nonce>" into a visually hidden textbox, and the textbox's change
event renders the side panel on the server.
"""

from __future__ import annotations

import html
import logging
import os
import re
import shutil
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

log = logging.getLogger("citeqa.ui")

EXAMPLES = [
    "How old was Chris Kaba when he was shot?",
    "Who is the Home Secretary?",
    "Where was Chris Kaba shot?",
    "What will Martyn Blake face?",
]
UPLOAD_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
MAX_UPLOAD_MB = 25.0
UPLOAD_FOLDER = "uploads"  # under the index folder
# Uploaded documents get their own sources ("uploads/notes.txt"), so an upload named like a document
# indexed from elsewhere (a seed article) is added beside it and never replaces it.
UPLOAD_SOURCE_PREFIX = UPLOAD_FOLDER + "/"
MAX_QUEUE = 64  # requests waiting beyond this are refused ("queue is full") rather than piling up
GENERATORS = ["default", "extractive"]
MAX_GENERATOR_CHARS = 1000
CONTEXT_CHARS = 450  # document text shown on each side of a cited sentence
CITE_PREFIX = "#cq-cite-"
CITE_TARGET_ID = "cq-cite-target"

# Offline: system fonts only (the default theme fetches Google Fonts).
THEME_FONTS = dict(font=["ui-sans-serif", "system-ui", "sans-serif"],
                   font_mono=["ui-monospace", "SFMono-Regular", "monospace"])

CSS = """
.cq-answer { line-height: 1.5; }
.cq-answer a.cq-cite, .cq-panel a.cq-cite { font-weight: 600; text-decoration: none; padding: 0 2px;
  border-radius: 4px; background: rgba(37, 99, 235, 0.12); color: #1d4ed8; cursor: pointer; }
.cq-answer a.cq-cite:hover, .cq-panel a.cq-cite:hover { background: rgba(37, 99, 235, 0.25); }
.cq-abstain { border-left: 4px solid #d97706; background: rgba(217, 119, 6, 0.08); padding: 6px 10px;
  border-radius: 4px; font-style: italic; }
.cq-abstain-label { font-style: normal; font-weight: 600; color: #b45309; }
.cq-error { border-left: 4px solid #dc2626; padding: 6px 10px; color: #b91c1c; }
.cq-timings { font-size: 0.72em; opacity: 0.6; margin-top: 4px; }
.cq-streaming { opacity: 0.8; }
.cq-panel { font-size: 0.95em; }
.cq-panel-title { font-weight: 600; margin-bottom: 2px; }
.cq-source { font-size: 0.8em; opacity: 0.7; margin-bottom: 8px; word-break: break-all; }
.cq-context { white-space: pre-wrap; line-height: 1.5; max-height: 460px; overflow-y: auto;
  border: 1px solid rgba(128, 128, 128, 0.3); border-radius: 6px; padding: 8px 10px; }
.cq-context mark { background: #fde68a; color: inherit; padding: 1px 0; }
.cq-note { font-size: 0.85em; opacity: 0.75; margin-top: 6px; }
.cq-docs table { width: 100%; border-collapse: collapse; font-size: 0.9em; }
.cq-docs th, .cq-docs td { text-align: left; padding: 4px 6px; border-bottom: 1px solid rgba(128,128,128,0.25); }
.cq-docs td.cq-num { text-align: right; }
"""

HEAD = """
<script>
(function () {
  if (window.__citeqaCite) return;
  window.__citeqaCite = true;
  function send(value) {
    var root = document.getElementById("%(target)s");
    var box = root && root.querySelector("textarea, input");
    if (!box) return;
    var proto = box.tagName === "TEXTAREA" ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
    Object.getOwnPropertyDescriptor(proto, "value").set.call(box, value);
    box.dispatchEvent(new Event("input", { bubbles: true }));
    box.dispatchEvent(new Event("change", { bubbles: true }));
  }
  document.addEventListener("click", function (event) {
    var link = event.target && event.target.closest && event.target.closest('a[href^="%(prefix)s"]');
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    var parts = link.getAttribute("href").slice(%(cut)d).split("-");
    send(parts[0] + ":" + parts[1] + ":" + Date.now());
  }, true);
})();
</script>
""" % {"target": CITE_TARGET_ID, "prefix": CITE_PREFIX, "cut": len(CITE_PREFIX)}

e = html.escape


# -- rendering (pure functions of plain data) ------------------------------------------------------
def turn_record(answer: Any) -> dict[str, Any]:
    """What the page keeps of one answer: JSON-able, enough to redraw it and its citations."""
    return {
        "question": answer.question,
        "standalone_question": answer.standalone_question,
        "text": answer.text,
        "abstained": bool(answer.abstained),
        "reason": answer.reason,
        "conflict": bool(answer.conflict),
        "generator": answer.generator,
        "citations": [asdict(c) for c in answer.citations],
        "passages": [{"source": p.source, "title": p.title, "text": p.text, "start": p.start, "end": p.end,
                      "score": p.score} for p in answer.passages],
        "timings": {k: round(float(v), 4) for k, v in answer.timings.items()},
    }


def render_timings(timings: dict[str, float]) -> str:
    order = ["retrieve", "select", "first_token", "generate", "verify", "total"]
    keys = [k for k in order if k in timings] + [k for k in timings if k not in order]
    parts = [f"{e(k.replace('_', ' '))} {timings[k] * 1000:.0f} ms" for k in keys]
    return f'<div class="cq-timings">{" · ".join(parts)}</div>' if parts else ""


def render_understood(turn: dict[str, Any]) -> str:
    """A follow-up is answered as a question that stands alone: show which."""
    asked = turn.get("standalone_question") or ""
    if not asked or asked.strip() == turn["question"].strip():
        return ""
    return f'<div class="cq-note">Understood as: “{e(asked)}”</div>'


def render_answer(turn: dict[str, Any], index: int) -> str:
    """The answer bubble: escaped text, markers [n] as links to the side panel, timings small."""
    if turn["abstained"]:
        nearest = ""
        if turn["passages"]:
            titles = dict.fromkeys(p["title"] or p["source"] for p in turn["passages"][:3])
            names = "; ".join(e(t) for t in titles)
            nearest = f'<div class="cq-note">Nearest passages (shown on the right): {names}</div>'
        reason = f'<div class="cq-note">Why: {e(turn["reason"])}</div>' if turn["reason"] else ""
        return (f'<div class="cq-answer cq-abstain" data-abstained="true">'
                f'<span class="cq-abstain-label">⚠ No answer in your documents.</span> {e(turn["text"])}'
                f'{reason}{nearest}{render_understood(turn)}</div>{render_timings(turn["timings"])}')
    markers = {c["marker"] for c in turn["citations"]}

    def link(match: re.Match) -> str:
        marker = int(match.group(1))
        if marker not in markers:
            return match.group(0)
        citation = next(c for c in turn["citations"] if c["marker"] == marker)
        tip = e(f"{citation['title'] or citation['source']}")
        return f'<a class="cq-cite" href="{CITE_PREFIX}{index}-{marker}" title="{tip}">[{marker}]</a>'

    body = re.sub(r"\[(\d{1,3})\]", link, e(turn["text"]))
    conflict = ('<div class="cq-note">⚠ The sources disagree: both are cited.</div>' if turn["conflict"] else "")
    return (f'<div class="cq-answer">{body}{conflict}{render_understood(turn)}</div>'
            f'{render_timings(turn["timings"])}')


def render_streaming(text: str) -> str:
    return f'<div class="cq-answer cq-streaming">{e(text)} …</div>'


def render_error(message: str) -> str:
    return f'<div class="cq-error">⚠ {e(message)}</div>'


def _window(text: str, start: int, end: int, chars: int = CONTEXT_CHARS) -> tuple[int, int]:
    """Whole lines around [start, end) up to about `chars` on each side; cut at a space when a line is long."""
    lo = max(0, start - chars)
    hi = min(len(text), end + chars)
    line_lo = text.find("\n", lo, start)
    if line_lo != -1 and lo > 0:
        lo = line_lo + 1
    elif lo > 0:
        space = text.find(" ", lo, start)
        lo = space + 1 if space != -1 else lo
    line_hi = text.rfind("\n", end, hi)
    if line_hi != -1 and hi < len(text):
        hi = line_hi
    elif hi < len(text):
        space = text.rfind(" ", end, hi)
        hi = space if space != -1 else hi
    return lo, hi


def render_context(document: str | None, citation: dict[str, Any]) -> str:
    """The cited sentence inside its surrounding document text, the sentence in <mark>."""
    start, end = citation["start"], citation["end"]
    if document is None or document[start:end] != citation["text"]:
        note = ("This document is no longer in the index." if document is None
                else "This document has changed since the answer was given; showing the sentence as cited.")
        return (f'<div class="cq-context"><mark>{e(citation["text"])}</mark></div>'
                f'<div class="cq-note">{e(note)}</div>')
    lo, hi = _window(document, start, end)
    before = ("…" if lo > 0 else "") + e(document[lo:start])
    after = e(document[end:hi]) + ("…" if hi < len(document) else "")
    return f'<div class="cq-context">{before}<mark>{e(document[start:end])}</mark>{after}</div>'


def render_citation_links(turn: dict[str, Any], index: int, current: int | None = None) -> str:
    links = []
    for c in turn["citations"]:
        label = f"[{c['marker']}]" + (" (shown)" if c["marker"] == current else "")
        links.append(f'<a class="cq-cite" href="{CITE_PREFIX}{index}-{c["marker"]}" '
                     f'title="{e(c["title"] or c["source"])}">{e(label)}</a> {e(c["title"] or c["source"])}')
    return "<br>".join(links)


def render_panel_intro(turn: dict[str, Any] | None, index: int) -> str:
    """The side panel right after an answer: what to click, or the nearest passages of an abstention."""
    if turn is None:
        return ('<div class="cq-panel"><div class="cq-note">Ask a question. Click a citation marker such as '
                '[1] in an answer to see the cited sentence in its document.</div></div>')
    if turn["abstained"]:
        items = []
        for p in turn["passages"][:3]:
            text = p["text"] if len(p["text"]) <= 400 else p["text"][:400].rsplit(" ", 1)[0] + "…"
            items.append(f'<div class="cq-panel-title">{e(p["title"] or p["source"])}</div>'
                         f'<div class="cq-source">{e(p["source"])} · characters {p["start"]}–{p["end"]}</div>'
                         f'<div class="cq-context">{e(text)}</div>')
        body = "".join(items) or '<div class="cq-note">Nothing was retrieved: is the index empty?</div>'
        return (f'<div class="cq-panel" data-abstained="true"><div class="cq-panel-title">Nearest passages'
                f'</div><div class="cq-note">None of them answers the question.</div>{body}</div>')
    return (f'<div class="cq-panel"><div class="cq-note">Click a marker to see the cited sentence in its '
            f'document:</div>{render_citation_links(turn, index)}</div>')


def render_citation_panel(turn: dict[str, Any], index: int, marker: int, document: str | None) -> str:
    citation = next((c for c in turn["citations"] if c["marker"] == marker), None)
    if citation is None:
        return render_panel_intro(turn, index)
    support = "" if citation.get("supported", True) else '<div class="cq-note">⚠ Marked as not supporting.</div>'
    others = ""
    if len(turn["citations"]) > 1:
        others = f'<div class="cq-note">All citations of this answer:<br>{render_citation_links(turn, index, marker)}</div>'
    return (
        f'<div class="cq-panel" data-turn="{index}" data-marker="{marker}">'
        f'<div class="cq-panel-title">[{marker}] {e(citation["title"] or citation["source"])}</div>'
        f'<div class="cq-source">{e(citation["source"])} · characters {citation["start"]}–{citation["end"]}</div>'
        f'{render_context(document, citation)}{support}'
        f'<div class="cq-note">Question: {e(turn["question"])}</div>{others}</div>'
    )


def render_documents(documents: list[Any]) -> str:
    if not documents:
        return '<div class="cq-docs"><p>No documents yet: upload some above.</p></div>'
    rows = []
    for d in sorted(documents, key=lambda d: d.source.lower()):
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(d.indexed_at)) if d.indexed_at else ""
        rows.append(f'<tr><td>{e(d.source)}</td><td>{e(d.title)}</td><td class="cq-num">{d.chunks}</td>'
                    f'<td class="cq-num">{d.characters:,}</td><td>{e(when)}</td></tr>')
    total = sum(d.chunks for d in documents)
    return ('<div class="cq-docs"><table><thead><tr><th>Document</th><th>Title</th><th>Chunks</th>'
            '<th>Characters</th><th>Indexed</th></tr></thead><tbody>' + "".join(rows) +
            f'</tbody></table><p>{len(documents)} documents, {total} chunks.</p></div>')


# -- uploads -----------------------------------------------------------------------------------------
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


# -- one Assistant per generator per process -------------------------------------------------------
class Assistants:
    """Process-wide Assistants, one per generator, all on the same index; shared by every session."""

    def __init__(self, assistant: Any | Callable[[str | None], Any], default: str | None = None) -> None:
        self._lock = threading.Lock()
        self._by_name: dict[str, Any] = {}
        if callable(assistant) and not hasattr(assistant, "ask"):
            self._factory = assistant
            self.base = assistant(default)
        else:
            self.base = assistant
            self._factory = None
        self.default = default or getattr(getattr(self.base, "config", None), "generator", None) or "default"
        self._by_name[self.default] = self.base

    def get(self, generator: str | None = None) -> Any:
        name = (generator or "").strip() or self.default
        if len(name) > MAX_GENERATOR_CHARS:
            raise ValueError("the generator name is too long")
        with self._lock:
            if name not in self._by_name:
                self._by_name[name] = self._make(name)
            return self._by_name[name]

    def forget(self, generator: str | None) -> None:
        name = (generator or "").strip() or self.default
        with self._lock:
            if name != self.default:
                self._by_name.pop(name, None)

    def _make(self, name: str) -> Any:
        if self._factory is not None:
            return self._factory(name)
        from qa.assistant import Assistant

        made = Assistant(config=self.base.config.with_(generator=name))
        # Share the loaded embedding model rather than load a second copy.
        if getattr(self.base.index, "_embedder", None) is not None:
            made.index._embedder = self.base.index._embedder
        return made


# -- handlers ------------------------------------------------------------------------------------------
class ChatUI:
    """The handlers behind the page, as plain methods."""

    def __init__(self, assistants: Assistants, top_k: int | None = None, max_upload_mb: float = MAX_UPLOAD_MB,
                 upload_dir: Path | None = None, examples: list[str] | None = None) -> None:
        self.assistants = assistants
        config = getattr(assistants.base, "config", None)
        self.top_k = top_k or getattr(config, "top_k", 5)
        self.max_upload_mb = max_upload_mb
        self.upload_dir = Path(upload_dir) if upload_dir else Path(assistants.base.index.root) / UPLOAD_FOLDER
        self.examples = EXAMPLES if examples is None else examples

    @property
    def assistant(self) -> Any:
        return self.assistants.base

    # chat
    @staticmethod
    def history(turns: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return [(t["question"], t["text"]) for t in turns if not t["abstained"]]

    def respond(self, question: str, chat: list[dict] | None, turns: list[dict] | None,
                generator: str | None = None, top_k: float | None = None
                ) -> Iterator[tuple[list[dict], list[dict], str, str]]:
        """Stream one answer into the chat: yields (chat, turns, side panel, question box)."""
        from qa.answer import Answer
        from qa.errors import QuestionError

        chat = list(chat or [])
        turns = list(turns or [])
        question = (question or "").strip()
        if not question:
            gr.Warning("Type a question first.")
            yield chat, turns, gr.skip(), ""
            return
        chat.append({"role": "user", "content": e(question)})
        chat.append({"role": "assistant", "content": render_streaming("")})
        panel = '<div class="cq-panel"><div class="cq-note">Searching your documents…</div></div>'
        yield chat, turns, panel, ""
        k = int(top_k) if top_k else self.top_k
        pieces: list[str] = []
        try:
            assistant = self.assistants.get(generator)
            for item in assistant.stream(question, history=self.history(turns), k=k):
                if isinstance(item, Answer):
                    turn = turn_record(item)
                    turns.append(turn)
                    chat[-1] = {"role": "assistant", "content": render_answer(turn, len(turns) - 1)}
                    yield chat, turns, render_panel_intro(turn, len(turns) - 1), ""
                    return
                pieces.append(item)
                chat[-1] = {"role": "assistant", "content": render_streaming("".join(pieces))}
                yield chat, turns, panel, ""
        except QuestionError as exc:
            chat[-1] = {"role": "assistant", "content": render_error(str(exc))}
        except Exception as exc:  # a model that will not load, an index that is missing: say so in the chat
            log.exception("answering failed")
            self.assistants.forget(generator)
            chat[-1] = {"role": "assistant", "content": render_error(f"{exc.__class__.__name__}: {exc}")}
        yield chat, turns, render_panel_intro(turns[-1] if turns else None, len(turns) - 1), ""

    def show_citation(self, target: str, turns: list[dict] | None) -> str:
        """`target` is "turn:marker[:nonce]" as written by the page's click handler."""
        turns = turns or []
        match = re.fullmatch(r"\s*(\d+):(\d+)(?::\d+)?\s*", target or "")
        if not match or int(match.group(1)) >= len(turns):
            return gr.skip()
        index, marker = int(match.group(1)), int(match.group(2))
        turn = turns[index]
        citation = next((c for c in turn["citations"] if c["marker"] == marker), None)
        document = None
        if citation is not None:
            try:
                document = self.assistant.document_text(citation["source"])
            except Exception:  # removed since, or the index moved: show the sentence alone
                document = None
        return render_citation_panel(turn, index, marker, document)

    @staticmethod
    def clear() -> tuple[list, list, str, str]:
        return [], [], render_panel_intro(None, -1), ""

    # documents
    def documents_view(self) -> tuple[str, Any]:
        try:
            documents = self.assistant.documents()
        except Exception as exc:
            return render_error(f"cannot list the documents: {exc}"), gr.update(choices=[], value=None)
        return render_documents(documents), gr.update(choices=[d.source for d in documents], value=None)

    def upload(self, files: list[Any] | None, progress: Any = gr.Progress()) -> tuple[str, str, Any]:
        """Check, copy and index uploaded files one by one; returns (status, documents table, remove choices)."""
        files = [f for f in (files or []) if f]
        if not files:
            table, choices = self.documents_view()
            return '<div class="cq-note">Choose files to upload first.</div>', table, choices
        lines = []
        for number, file in enumerate(files):
            path = Path(getattr(file, "name", None) or getattr(file, "path", None) or str(file))
            shown = getattr(file, "orig_name", None) or path.name
            if progress is not None:
                progress(number / len(files), desc=f"Indexing {shown}")
            try:
                existed = (self.upload_dir / safe_upload_name(shown)).exists()
                stored = store_upload(path, self.upload_dir, self.max_upload_mb, name=shown)
            except UploadError as exc:
                lines.append(f"✗ {e(str(exc))}")
                continue
            try:
                report = self.assistant.index.add([stored], source_prefix=UPLOAD_SOURCE_PREFIX)
            except Exception as exc:
                log.exception("indexing %s failed", stored)
                if not existed:
                    stored.unlink(missing_ok=True)
                lines.append(f"✗ {e(stored.name)}: {e(str(exc))}")
                continue
            if report.skipped:
                if not existed:
                    stored.unlink(missing_ok=True)
                lines.extend(f"✗ {e(source)}: {e(reason)}" for source, reason in report.skipped)
            elif report.added:
                lines.append(f"✓ {e(stored.name)}: added ({report.chunks_embedded} chunks)")
            elif report.updated:
                lines.append(f"✓ {e(stored.name)}: updated ({report.chunks_embedded} chunks)")
            else:
                lines.append(f"✓ {e(stored.name)}: already indexed, unchanged")
        if progress is not None:
            progress(1.0, desc="Done")
        table, choices = self.documents_view()
        return '<div class="cq-note">' + "<br>".join(lines) + "</div>", table, choices

    def remove(self, source: str | None) -> tuple[str, str, Any]:
        if not source:
            table, choices = self.documents_view()
            return '<div class="cq-note">Choose a document to remove.</div>', table, choices
        try:
            self.assistant.remove(source)
        except KeyError:
            status = f"✗ not in the index: {e(source)}"
        except Exception as exc:
            status = f"✗ {e(source)}: {e(str(exc))}"
        else:
            status = f"✓ removed {e(source)}"
            name = source[len(UPLOAD_SOURCE_PREFIX):] if source.startswith(UPLOAD_SOURCE_PREFIX) else ""
            copy = self.upload_dir / name
            if name and "/" not in name and "\\" not in name and copy.resolve().parent == self.upload_dir.resolve():
                copy.unlink(missing_ok=True)
        table, choices = self.documents_view()
        return f'<div class="cq-note">{status}</div>', table, choices

    # API
    def api_ask(self, question: str, top_k: int = 0, history: list[list[str]] | None = None,
                generator: str = "") -> dict[str, Any]:
        """Answer one question; returns the answer text with its citations as JSON."""
        from qa.errors import QuestionError

        pairs = [(str(q), str(a)) for q, a in (history or []) if q is not None and a is not None]
        try:
            answer = self.assistants.get(generator).ask(question, history=pairs, k=int(top_k) or self.top_k)
        except QuestionError as exc:
            raise gr.Error(str(exc)) from None
        return {
            "answer": answer.text,
            "citations": [asdict(c) for c in answer.citations],
            "abstained": answer.abstained,
            "reason": answer.reason,
            "conflict": answer.conflict,
            "question": answer.question,
            "standalone_question": answer.standalone_question,
            "generator": answer.generator,
            "timings": {k: round(float(v), 4) for k, v in answer.timings.items()},
        }


# -- the page ------------------------------------------------------------------------------------------
def build_app(assistant: Any | Callable[[str | None], Any], *, generator: str | None = None,
              top_k: int | None = None, max_upload_mb: float = MAX_UPLOAD_MB, upload_dir: Path | None = None,
              examples: list[str] | None = None, title: str = "citeqa") -> gr.Blocks:
    """The whole page. `assistant` is an Assistant, or a factory `f(generator_name) -> Assistant`."""
    ui = ChatUI(Assistants(assistant, generator), top_k, max_upload_mb, upload_dir, examples)
    private = {"api_visibility": "private"}
    with gr.Blocks(title=title, analytics_enabled=False) as app:
        app.citeqa = ui  # for tests and callers
        gr.Markdown(f"## {e(title)}\nAnswers from your own documents, with citations you can check.")
        turns = gr.State([])
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chat = gr.Chatbot(elem_id="cq-chat", label="Chat", height=480, render_markdown=False,
                                          buttons=[], feedback_options=None)  # copy would copy the HTML
                        with gr.Row():
                            question = gr.Textbox(elem_id="cq-question", show_label=False, scale=6,
                                                  placeholder="Ask about your documents…", max_lines=4,
                                                  submit_btn=False, autofocus=True)
                            ask = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="cq-ask")
                        if ui.examples:
                            gr.Examples(ui.examples, inputs=[question], label="Example questions")
                    with gr.Column(scale=2):
                        gr.Markdown("#### Evidence")
                        panel = gr.HTML(render_panel_intro(None, -1), elem_id="cq-panel")
                cite_target = gr.Textbox(visible="hidden", elem_id=CITE_TARGET_ID, show_label=False)
            with gr.Tab("Documents", id="documents"):
                files = gr.File(label=f"Upload .txt, .md, .html, .pdf (up to {max_upload_mb:g} MB each)",
                                file_count="multiple", file_types=list(UPLOAD_SUFFIXES), type="filepath",
                                elem_id="cq-upload")
                add = gr.Button("Add to index", variant="primary", elem_id="cq-add")
                status = gr.HTML("", elem_id="cq-upload-status")
                with gr.Row():
                    to_remove = gr.Dropdown(label="Document", choices=[], scale=4, elem_id="cq-remove-choice")
                    remove = gr.Button("Remove", variant="stop", scale=1, elem_id="cq-remove")
                documents = gr.HTML(elem_id="cq-documents")
            with gr.Tab("Settings", id="settings"):
                choices = list(dict.fromkeys([ui.assistants.default, *GENERATORS]))
                generator_box = gr.Dropdown(
                    choices=choices, value=ui.assistants.default, allow_custom_value=True, label="Generator",
                    info="default (Qwen 0.5B), extractive (quotes the best sentence, no model), or a model "
                         "folder / .gguf file / hub id available offline", elem_id="cq-generator")
                top_k_box = gr.Slider(1, 20, value=ui.top_k, step=1, label="Passages retrieved (top-k)",
                                      elem_id="cq-top-k")
                gr.HTML(f'<div class="cq-note">Index folder: <code>{e(str(ui.assistant.index.root))}</code><br>'
                        f'Uploads are copied to: <code>{e(str(ui.upload_dir))}</code></div>')

        ask_inputs = [question, chat, turns, generator_box, top_k_box]
        ask_outputs = [chat, turns, panel, question]
        ask.click(ui.respond, ask_inputs, ask_outputs, concurrency_limit=4, **private)
        question.submit(ui.respond, ask_inputs, ask_outputs, concurrency_limit=4, **private)
        chat.clear(ui.clear, None, [chat, turns, panel, question], queue=False, **private)
        cite_target.change(ui.show_citation, [cite_target, turns], [panel], show_progress="hidden",
                           concurrency_limit=None, **private)
        add.click(ui.upload, [files], [status, documents, to_remove], concurrency_limit=1,
                  concurrency_id="index-write", **private).then(lambda: None, None, [files], **private)
        remove.click(ui.remove, [to_remove], [status, documents, to_remove], concurrency_limit=1,
                     concurrency_id="index-write", **private)
        app.load(ui.documents_view, None, [documents, to_remove], **private)
        gr.api(ui.api_ask, api_name="ask")
    return app


def theme() -> gr.themes.Base:
    return gr.themes.Default(**THEME_FONTS)


def launch(app: gr.Blocks, host: str = "127.0.0.1", port: int | None = 7860,
           auth: tuple[str, str] | None = None, prevent_thread_lock: bool = False, quiet: bool = False,
           max_upload_mb: float = MAX_UPLOAD_MB):
    """Serve the page (Gradio 6: theme, css and head go to launch)."""
    app.queue(default_concurrency_limit=2, max_size=MAX_QUEUE)
    return app.launch(
        server_name=host, server_port=port, auth=auth, prevent_thread_lock=prevent_thread_lock, quiet=quiet,
        inbrowser=False, share=False, show_error=True, ssr_mode=False, max_file_size=f"{max_upload_mb:g}mb",
        theme=theme(), css=CSS, head=HEAD, footer_links=["api"], mcp_server=False,
    )
