"""The chat's handlers: answer (streamed, stoppable), stop, restore after a reload, new chat, show a citation.

The conversation lives in the browser (`gr.BrowserState`) and comes back with every event, so each
handler first checks it (`conversation.restore`). The handlers that draw the chat return the page's chat
widgets in one order: chat, conversation, evidence panel, question box, Ask, Stop, export download.

Stop sets a flag of the page's session that the answering handler checks between pieces: it then closes
the Assistant's stream (which stops the model) and ends normally with the question marked as stopped.
Ending normally matters: Gradio cancelling the event instead leaves the page briefly believing the old
answer still runs, and drops an Ask pressed in that moment.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from ui import conversation as conv
from ui.evidence import PANEL_HELP, SEARCHING, render_citation_panel, render_panel_intro
from ui.markdown import conversation_markdown
from ui.render import chat_messages
from ui.settings import Assistants

log = logging.getLogger("citeqa.ui")
EXPORT_NAME = "citeqa-conversation.md"
EXPORT_KEEP_SECONDS = 86_400
Frame = tuple[Any, ...]


def idle() -> tuple[Any, Any]:
    """Ask usable, Stop hidden."""
    return gr.Button(interactive=True), gr.Button(visible=False)


def busy() -> tuple[Any, Any]:
    """While an answer runs: Ask disabled, Stop shown."""
    return gr.Button(interactive=False), gr.Button(visible=True, interactive=True)


def session(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or ""


class Chat:
    def __init__(self, assistants: Assistants, top_k: int, export_dir: Path | None = None) -> None:
        self.assistants = assistants
        self.top_k = top_k
        self._export_dir = export_dir
        self._export_lock = threading.Lock()
        self._stops: dict[str, threading.Event] = {}  # per page session, while it has an answer running

    @property
    def assistant(self) -> Any:
        return self.assistants.base

    # -- the conversation as a file ----------------------------------------------------------------
    def export(self, conversation: list[conv.Entry]) -> Any:
        """The download behind "Export conversation": a Markdown file, or hidden while the chat is empty."""
        if not conversation:
            return gr.DownloadButton(value=None, visible=False)
        text = conversation_markdown(conversation)
        folder = self.export_dir() / hashlib.sha256(text.encode()).hexdigest()[:20]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / EXPORT_NAME
        path.write_text(text, encoding="utf-8")
        self._prune(keep=folder)
        return gr.DownloadButton(value=str(path), visible=True)

    def export_dir(self) -> Path:
        """Where exports are written (Gradio serves a copy of each); a temporary folder made on first use."""
        with self._export_lock:
            if self._export_dir is None:
                self._export_dir = Path(tempfile.mkdtemp(prefix="citeqa-export-"))
            return self._export_dir

    def _prune(self, keep: Path) -> None:
        """Exports older than a day go: a long-running chat does not fill the disk."""
        old = time.time() - EXPORT_KEEP_SECONDS
        for folder in self.export_dir().iterdir():
            try:
                stale = folder != keep and folder.stat().st_mtime < old
            except OSError:  # pruned by another session meanwhile
                continue
            if stale:
                shutil.rmtree(folder, ignore_errors=True)

    def frame(self, conversation: list[conv.Entry], panel: Any, question: Any = gr.skip()) -> Frame:
        """The page once no answer runs."""
        return (chat_messages(conversation), conversation, panel, question, *idle(), self.export(conversation))

    # -- handlers ----------------------------------------------------------------------------------
    def respond(self, question: str, conversation: Any, generator: str | None = None,
                top_k: float | None = None, request: gr.Request | None = None) -> Iterator[Frame]:
        """Stream one answer into the chat, until it is done or Stop is pressed."""
        conversation = conv.restore(conversation)
        question = (question or "").strip()
        if not question:
            gr.Warning("Type a question first.")
            yield (gr.skip(),) * 7
            return
        entry = conv.asking(question)
        conversation = conv.append(conversation, entry)
        stop = self._stops[session(request)] = threading.Event()
        answering = self._answer(question, conversation, generator, top_k, stop)
        try:
            yield chat_messages(conversation), conversation, SEARCHING, "", *busy(), gr.skip()
            for text in answering:
                yield (chat_messages(conversation, text), *(gr.skip(),) * 6)
        finally:
            answering.close()  # when Gradio closes this handler (the page went away): the model stops too
            if self._stops.get(session(request)) is stop:
                del self._stops[session(request)]
        answer = conversation[-1]["answer"]
        yield self.frame(conversation, render_panel_intro(answer, len(conversation) - 1), "")

    def _answer(self, question: str, conversation: list[conv.Entry], generator: str | None,
                top_k: float | None, stop: threading.Event) -> Iterator[str]:
        """Yields the text so far while the answer streams; leaves the finished entry last in `conversation`."""
        from qa.answer import Answer
        from qa.errors import QuestionError

        entry = conversation[-1]
        pieces: list[str] = []
        try:
            stream = self.assistants.get(generator).stream(
                question, history=conv.history(conversation[:-1]), k=int(top_k) if top_k else self.top_k)
            try:
                for item in stream:
                    if stop.is_set():
                        conversation[-1] = conv.stopped(entry)
                        return
                    if isinstance(item, Answer):
                        conversation[-1] = conv.answered(entry, item.to_dict())
                        return
                    pieces.append(item)
                    yield "".join(pieces)
            finally:
                stream.close()
        except QuestionError as exc:
            conversation[-1] = conv.failed(entry, str(exc))
            return
        except Exception as exc:  # a model that will not load, an index that is missing: say so in the chat
            log.exception("answering failed")
            self.assistants.forget(generator)
            conversation[-1] = conv.failed(entry, f"{exc.__class__.__name__}: {exc}")
            return
        conversation[-1] = conv.failed(entry, "the answer ended before it was complete")

    def stop(self, request: gr.Request | None = None) -> Any:
        """Stop pressed: the running answer of this page ends at its next piece, marked as stopped."""
        running = self._stops.get(session(request))
        if running is not None:
            running.set()
        return gr.Button(interactive=False)  # until the answer has ended

    def restore(self, conversation: Any) -> Frame:
        """On page load: the stored conversation again."""
        return self.frame(conv.restore(conversation), PANEL_HELP)

    def new_chat(self) -> Frame:
        return self.frame([], PANEL_HELP, "")

    def show_citation(self, target: str, conversation: Any) -> Any:
        """`target` is "turn:marker:nonce" as written by the page's click handler."""
        conversation = conv.restore(conversation)
        match = re.fullmatch(r"\s*(\d+):(\d+)(?::(\d+))?\s*", target or "")
        if not match or int(match.group(1)) >= len(conversation):
            return gr.skip()
        turn, marker = int(match.group(1)), int(match.group(2))
        entry = conversation[turn]
        if entry["state"] != conv.ANSWERED:
            return gr.skip()
        answer = entry["answer"]
        citation = next((c for c in answer["citations"] if c["marker"] == marker), None)
        document = None
        if citation is not None:
            try:
                document = self.assistant.document_text(citation["source"])
            except Exception:  # removed since, or the index moved: show the sentence alone
                document = None
        return render_citation_panel(answer, turn, marker, document, match.group(3) or "")
