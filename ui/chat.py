"""The chat's handlers: answer (streamed, stoppable), stop, open a past conversation, new chat, show a citation.

A page keeps only which conversation it shows, its id, in the browser (`gr.BrowserState`, so a reload
shows it again); the conversations live in the chat's SQLite file (`ui.history`), listed beside the chat.
The handlers that draw the chat return the page's chat widgets in one order, `OUTPUTS`.

Stop sets a flag of the page's session that the answering handler checks between pieces: it then closes
the Assistant's stream (which stops the model) and ends normally, keeping the text written so far marked as
stopped, and the question goes back into the box if the reader has not typed another. Ending normally
matters: Gradio cancelling the event instead leaves the page briefly believing the old answer still runs,
and drops an Ask pressed in that moment. Nothing typed is lost: the box is emptied when an answer starts,
never when it ends, and a question that cannot be asked (too long) stays in it with the reason beside it.
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
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from ui import conversation as conv
from ui.errors import sentence
from ui.evidence import LOADING, PANEL_HELP, SEARCHING, WRITING, render_citation_panel, render_panel_intro
from ui.history import SHARED, Conversation, History, title_from
from ui.markdown import conversation_markdown
from ui.progress import render_loading
from ui.render import EDITING, chat_messages, e
from ui.settings import Assistants, model_name

log = logging.getLogger("citeqa.ui")
EXPORT_NAME = "citeqa-conversation.md"
EXPORT_KEEP_SECONDS = 86_400
PROGRESS_SECONDS = 1.0  # how often a loading model's progress is redrawn
OUTPUTS = ("chat", "current", "panel", "question", "note", "ask", "stop", "new_chat", "conversations", "export",
           "replacing")
# What a page keeps while it shows a new chat: not "", which the browser's store never writes (it would keep
# the conversation shown before, and a reload would bring that back).
NO_CONVERSATION = "new"
Frame = tuple[Any, ...]


BROWSER_COOKIE = "citeqa-browser"  # set by the page's script (ui.page): which browser a request comes from
BROWSER_ID = re.compile(r"[0-9a-f]{32}")
SESSION = "session:"  # the owner prefix of a page whose browser sent no cookie: its list lasts as long as the page


def session(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or ""


def browser_of(request: gr.Request | None) -> str:
    """The id of the browser a request comes from, from the cookie its page set, or "" without one."""
    cookies = getattr(request, "cookies", None) or {}
    value = str(cookies.get(BROWSER_COOKIE, ""))
    return value if BROWSER_ID.fullmatch(value) else ""


def render_note(message: str) -> str:
    """The message beside the question box (a question that cannot be asked as typed)."""
    return f'<div class="cq-question-error" role="alert">{e(message)}</div>' if message else ""


def skip_all() -> Frame:
    return (gr.skip(),) * len(OUTPUTS)


def controls(running: bool) -> tuple[Any, Any, Any]:
    """(Ask, Stop, New chat): while an answer runs Ask and New chat wait and Stop shows."""
    return (gr.Button(interactive=not running), gr.Button(visible=running, interactive=running),
            gr.Button(interactive=not running))


@dataclass(frozen=True, slots=True)
class Running:
    """A page's answer being written: the flag Stop sets, and the question to give back."""

    stop: threading.Event
    question: str


class Chat:
    """The chat's handlers. Each browser has its own list of conversations unless `shared` (one list for all)."""

    def __init__(self, assistants: Assistants, top_k: int, history: History, export_dir: Path | None = None,
                 shared: bool = False) -> None:
        self.assistants = assistants
        self.top_k = top_k
        self.history = history
        self.shared = shared
        self._export_dir = export_dir
        self._export_lock = threading.Lock()
        self._running: dict[str, Running] = {}  # per page session, while it has an answer running

    @property
    def assistant(self) -> Any:
        return self.assistants.base

    def owner(self, request: gr.Request | None) -> str:
        """Whose list a request reads and writes: its browser's (or, without the cookie, its page session's), or
        the shared one. Handlers called without a request (tests, scripts) use the shared list."""
        if self.shared or request is None:
            return SHARED
        browser = browser_of(request)
        return f"browser:{browser}" if browser else SESSION + session(request)

    def conversation(self, ident: Any, request: gr.Request | None) -> Conversation | None:
        """The conversation `ident` if it is in the request's list."""
        return self.history.get(ident if isinstance(ident, str) else "", self.owner(request))

    def missing(self, entries: list[conv.Entry]) -> frozenset[str]:
        """The sources the entries' answers cite that are no longer in the index."""
        cited = {c["source"] for entry in entries if entry["state"] == conv.ANSWERED
                 for c in entry["answer"]["citations"]}
        if not cited:
            return frozenset()
        try:
            return frozenset(cited - {d.source for d in self.assistant.documents()})
        except Exception:  # the index cannot be read now: mark nothing rather than everything
            return frozenset()

    # -- the conversation as a file ----------------------------------------------------------------
    def export(self, conversation: Conversation | None) -> Any:
        """The download behind "Export conversation": a Markdown file, or hidden while the chat is empty."""
        if conversation is None or not conversation.entries:
            return gr.DownloadButton(value=None, visible=False)
        text = conversation_markdown(list(conversation.entries), conversation.title)
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

    # -- what the page shows -----------------------------------------------------------------------
    def listing(self, current: str | None, search: str | None = "", running: bool = False,
                owner: str = SHARED) -> Any:
        """The owner's past conversations, newest first, each with its date and time, the open one selected;
        `search=None` keeps its lines."""
        current = None if current == NO_CONVERSATION else current
        if search is None:
            return gr.Radio(value=current or None, interactive=not running)
        choices = [(s.label, s.id) for s in self.history.summaries(search, owner)]
        shown = current if any(ident == current for _, ident in choices) else None
        return gr.Radio(choices=choices, value=shown, interactive=not running)

    def frame(self, conversation: Conversation | None, panel: Any, question: Any = gr.skip(), note: str = "",
              search: str | None = "", owner: str = SHARED) -> Frame:
        """The page once no answer runs."""
        ident = conversation.id if conversation else NO_CONVERSATION
        entries = list(conversation.entries) if conversation else []
        return (chat_messages(entries, missing=self.missing(entries)), ident, panel, question, render_note(note),
                *controls(False), self.listing(ident, search, owner=owner), self.export(conversation), "")

    # -- handlers ----------------------------------------------------------------------------------
    def respond(self, question: str, current: Any, generator: str | None = None, top_k: float | None = None,
                search: str = "", replacing: str = "", request: gr.Request | None = None) -> Iterator[Frame]:
        """Stream one answer into the open conversation (a new one for a new chat), until done or stopped.
        `replacing` is the id of its last entry when the question replaces it (edited, or asked again)."""
        from qa.assistant import clean_question
        from qa.errors import QuestionError

        question = (question or "").strip()
        if not question:
            gr.Warning("Type a question first.")
            yield skip_all()
            return
        if session(request) in self._running:
            gr.Warning("An answer is still being written: wait for it, or press Stop.")
            yield skip_all()
            return
        try:
            clean_question(question)
        except QuestionError as exc:  # too long: the question stays in the box, the reason beside it
            yield (*skip_all()[:4], render_note(f"{sentence(exc)} It is still in the box: shorten it and ask again."),
                   *skip_all()[5:])
            return
        owner = self.owner(request)
        entry = conv.asking(question)
        opened = self.conversation(current, request)
        previous = opened.entries[-1] if opened is not None and opened.entries else None
        if previous is not None and replacing and previous.get("id") == replacing:
            entry["id"] = replacing  # saved over the last entry
            if len(opened.entries) == 1 and opened.title == title_from(previous["question"]):
                self.history.rename(opened.id, title_from(question), owner)
        if opened is None or not self.history.save_entry(opened.id, entry, owner):
            ident, entries = self.history.start(question, [entry], owner), [entry]
        elif entry["id"] == replacing:
            ident, entries = opened.id, [*opened.entries[:-1], entry]
        else:
            ident, entries = opened.id, conv.append(list(opened.entries), entry)
        running = self._running[session(request)] = Running(threading.Event(), question)
        answering = self._answer(question, entries, generator, top_k, running.stop)
        try:
            missing = self.missing(entries)
            yield (chat_messages(entries, missing=missing), ident, SEARCHING, "", "", *controls(True),
                   self.listing(ident, search, running=True, owner=owner), gr.skip(), "")
            writing = False
            for shown in answering:
                if isinstance(shown, float):  # the model is loading: seconds so far
                    name = self.assistants.name(generator)
                    speeds = self.assistants.speeds
                    last = speeds.speed(model_name(name)).load_seconds if speeds else None
                    yield (chat_messages(entries, waiting=render_loading(name, shown, last), missing=missing),
                           gr.skip(), LOADING, *skip_all()[3:])
                    continue
                panel = gr.skip() if writing else WRITING
                writing = True
                yield (chat_messages(entries, shown, missing=missing), gr.skip(), panel, *skip_all()[3:])
        finally:
            answering.close()  # when Gradio closes this handler (the page went away): the model stops too
            if entries[-1]["state"] == conv.ANSWERING:
                entries[-1] = conv.stopped(entries[-1], entries[-1].get("partial", ""))
            self.history.save_entry(ident, entries[-1], owner)
            if self._running.get(session(request)) is running:
                del self._running[session(request)]
        answer = entries[-1]["answer"]
        yield self.frame(self.history.get(ident, owner), render_panel_intro(answer, len(entries) - 1), search=search,
                         owner=owner)

    def respond_example(self, sample: Any, current: Any, generator: str | None = None, top_k: float | None = None,
                        search: str = "", request: gr.Request | None = None) -> Iterator[Frame]:
        """An example clicked: asked at once, as if typed and sent."""
        question = sample[0] if isinstance(sample, list | tuple) and sample else str(sample or "")
        yield from self.respond(question, current, generator, top_k, search, request=request)

    def regenerate(self, current: Any, generator: str | None = None, top_k: float | None = None, search: str = "",
                   request: gr.Request | None = None) -> Iterator[Frame]:
        """Regenerate pressed: the last question asked again, its new answer in place of the last."""
        conversation = self.conversation(current, request)
        if conversation is None or not conversation.entries:
            yield skip_all()
            return
        last = conversation.entries[-1]
        yield from self.respond(last["question"], current, generator, top_k, search, last.get("id", ""), request)

    def edit_last(self, current: Any, request: gr.Request | None = None) -> tuple[Any, str, str]:
        """Edit question pressed: (the question box with the last question, the note saying Ask replaces it,
        the id of the entry it replaces)."""
        conversation = self.conversation(current, request)
        if conversation is None or not conversation.entries:
            return gr.skip(), "", ""
        last = conversation.entries[-1]
        return last["question"], EDITING, last.get("id", "")

    @staticmethod
    def cancel_edit() -> tuple[str, str]:
        """(the note, the entry replaced): the next question is asked after the last again."""
        return "", ""

    def _load(self, generator: str | None, stop: threading.Event) -> Iterator[float]:
        """Load the generator's model in a thread, yielding the seconds so far every PROGRESS_SECONDS."""
        loaded: Future = Future()

        def load() -> None:
            try:
                loaded.set_result(self.assistants.load(generator))
            except BaseException as exc:  # raised again below, in the handler's thread
                loaded.set_exception(exc)

        threading.Thread(target=load, daemon=True, name="citeqa-load").start()
        started = time.monotonic()
        while not stop.is_set():
            try:
                loaded.result(timeout=PROGRESS_SECONDS)
                return
            except FutureTimeout:
                yield time.monotonic() - started

    def _answer(self, question: str, entries: list[conv.Entry], generator: str | None, top_k: float | None,
                stop: threading.Event) -> Iterator[str | float]:
        """Yields the seconds so far while a model loads, then the text so far while the answer streams;
        leaves the finished entry last in `entries` (with the text so far while it runs)."""
        from qa.answer import Answer, Redraft
        from qa.errors import QuestionError

        entry = entries[-1]
        pieces: list[str] = []
        try:
            if not self.assistants.loaded(generator):
                yield from self._load(generator, stop)
            if stop.is_set():
                entries[-1] = conv.stopped(entry)
                return
            stream = self.assistants.get(generator).stream(
                question, history=conv.history(entries[:-1]), k=int(top_k) if top_k else self.top_k)
            try:
                for item in stream:
                    if stop.is_set():
                        entries[-1] = conv.stopped(entry, "".join(pieces))
                        return
                    if isinstance(item, Answer):
                        entries[-1] = conv.answered(entry, item.to_dict())
                        if self.assistants.speeds is not None:
                            self.assistants.speeds.record_answer(item.generator or model_name(generator),
                                                                 item.timings)
                        return
                    if isinstance(item, Redraft):  # the checks asked for another draft: the first is withdrawn
                        pieces.clear()
                    pieces.append(item)
                    entries[-1] = dict(entry, partial="".join(pieces))
                    yield entries[-1]["partial"]
            finally:
                stream.close()
        except QuestionError as exc:
            entries[-1] = conv.failed(entry, sentence(exc))
            return
        except Exception as exc:  # a model that will not load, an index that is missing: say so in the chat
            log.exception("answering failed")
            self.assistants.forget(generator)
            entries[-1] = conv.failed(entry, f"Could not answer. {sentence(exc)}")
            return
        entries[-1] = conv.failed(entry, "The answer ended before it was complete.")

    def stop(self, question: str = "", request: gr.Request | None = None) -> tuple[Any, Any]:
        """Stop pressed: the running answer of this page ends at its next piece, marked as stopped, and its
        question goes back into the box unless another has been typed there. Returns (Stop, question box)."""
        running = self._running.get(session(request))
        if running is None:
            return gr.Button(interactive=False), gr.skip()
        running.stop.set()
        back = running.question if not (question or "").strip() else gr.skip()
        return gr.Button(interactive=False), back  # Stop stays disabled until the answer has ended

    def restore(self, stored: Any, request: gr.Request | None = None) -> Frame:
        """On page load: the conversation this page showed. Conversations kept before lists had owners join this
        browser's list; one kept in the browser by an older citeqa (a list of entries) moves into the file."""
        owner = self.owner(request)
        if not owner.startswith(SESSION):  # a list that lasts
            self.history.adopt(owner)
        if isinstance(stored, list):
            entries = conv.restore(stored)
            stored = self.history.start(entries[0]["question"], entries, owner) if entries else ""
        return self.frame(self.conversation(stored, request), PANEL_HELP, owner=owner)

    def new_chat(self, request: gr.Request | None = None) -> Frame:
        """An empty chat; the conversation shown so far stays in the list."""
        return self.frame(None, PANEL_HELP, search=None, owner=self.owner(request))

    def open(self, ident: Any, search: str = "", request: gr.Request | None = None) -> tuple[Any, ...]:
        """A past conversation chosen in the list: shown in the chat (whose tab comes forward)."""
        conversation = self.conversation(ident, request)
        if conversation is None:
            gr.Warning("That conversation is no longer there.")
        return (*self.frame(conversation, PANEL_HELP, search=search, owner=self.owner(request)),
                gr.Tabs(selected="chat"))

    def show_citation(self, target: str, current: Any, request: gr.Request | None = None) -> Any:
        """`target` is "turn:marker:nonce" as written by the page's click handler."""
        conversation = self.conversation(current, request)
        match = re.fullmatch(r"\s*(\d+):(\d+)(?::(\d+))?\s*", target or "")
        if conversation is None or not match or int(match.group(1)) >= len(conversation.entries):
            return gr.skip()
        turn, marker = int(match.group(1)), int(match.group(2))
        entry = conversation.entries[turn]
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
