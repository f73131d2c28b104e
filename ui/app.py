"""The Gradio page: past conversations beside the chat with its Evidence panel, the Documents tab and
Settings, wired to handlers.

The handlers are plain objects (`ui.chat`, `ui.sidebar`, `ui.documents`, `ui.api`, `ui.examples`), testable
without a browser; `build_app` lays out the components and wires their events, `launch` serves the page.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from ui.api import Api  # noqa: E402
from ui.chat import Chat  # noqa: E402
from ui.chatdb import default_path  # noqa: E402
from ui.documents import Documents  # noqa: E402
from ui.evidence import PANEL_HELP  # noqa: E402
from ui.examples import ExampleCache, ExampleFinder  # noqa: E402
from ui.history import History  # noqa: E402
from ui.measure import measure  # noqa: E402
from ui.page import CITE_TARGET_ID, CSS, FOCUS_QUESTION, FOCUS_RENAME, HEAD, theme  # noqa: E402
from ui.render import e  # noqa: E402
from ui.settings import Assistants, missing, model_name, render_generators  # noqa: E402
from ui.sidebar import Sidebar  # noqa: E402
from ui.speeds import SpeedLog  # noqa: E402
from ui.uploads import MAX_UPLOAD_MB, UPLOAD_FOLDER, UPLOAD_SUFFIXES  # noqa: E402
from ui.welcome import render_welcome  # noqa: E402

MAX_QUEUE = 64  # requests waiting beyond this are refused ("queue is full") rather than piling up
PRIVATE = {"api_visibility": "private"}
EXAMPLES_EVERY = 2.0  # seconds between checks that the documents, and so the examples, changed
CHAT_MIN_PX, CHAT_MAX_PX = 240, 480  # the chat's height: empty (its welcome), and at most


@dataclass(frozen=True)
class Parts:
    """The handlers behind one page (`app.citeqa`), for callers and tests."""

    assistants: Assistants
    chat: Chat
    sidebar: Sidebar
    documents: Documents
    api: Api
    examples: ExampleFinder
    chat_file: Path  # the SQLite file of past conversations, speeds and examples

    @property
    def assistant(self) -> Any:
        return self.assistants.base


def browser_storage(index_root: Path) -> tuple[str, str]:
    """(localStorage key, key the page encrypts it with) for which conversation a page shows, stable per index
    folder so a reload and a restart show it again. The page must know the key: this keeps apart the pages of
    different indexes, it is not a secret."""
    digest = hashlib.sha256(str(Path(index_root).resolve()).encode()).hexdigest()
    return f"citeqa-chat-{digest[:12]}", digest[12:44]


def examples_update(finder: ExampleFinder, shown: str) -> tuple[Any, Any, Any]:
    """(example list, the chat's welcome, what they show): changed only when the live documents or their examples
    did."""
    found = finder.current()
    documents = finder.documents()
    welcome = render_welcome(documents) if documents is not None else ""
    key = "\n".join([welcome, *found])
    if key == shown:
        return gr.skip(), gr.skip(), gr.skip()
    return (gr.Dataset(samples=[[q] for q in found], visible=bool(found)),
            gr.Chatbot(placeholder=welcome or None), key)


def build_app(assistant: Any | Callable[[str | None], Any], *, generator: str | None = None,
              top_k: int | None = None, max_upload_mb: float = MAX_UPLOAD_MB, upload_dir: Path | None = None,
              examples: list[str] | None = None, chat_file: Path | None = None, title: str = "citeqa",
              shared_conversations: bool = False) -> gr.Blocks:
    """The whole page. `assistant` is an Assistant, or a factory `f(generator_name) -> Assistant`.
    `examples` replaces the example questions derived from the documents (still only offered when answered);
    `chat_file` is the SQLite file of past conversations (default: chat.sqlite3 in the index folder), a list per
    browser unless `shared_conversations`."""
    assistants = Assistants(assistant, generator)
    base = assistants.base
    root = Path(base.index.root)
    chat_file = Path(chat_file) if chat_file else default_path(root)
    assistants.speeds = SpeedLog(chat_file)
    unavailable = {name: missing(name) for name in assistants.choices()}  # what this installation lacks
    top_k = top_k or getattr(getattr(base, "config", None), "top_k", 5)
    history = History(chat_file)
    chat_handlers = Chat(assistants, top_k, history, shared=shared_conversations)
    parts = Parts(
        assistants=assistants,
        chat=chat_handlers,
        sidebar=Sidebar(history, chat_handlers),
        documents=Documents(base, Path(upload_dir) if upload_dir else root / UPLOAD_FOLDER, max_upload_mb),
        api=Api(assistants, top_k),
        examples=ExampleFinder(base, ExampleCache(chat_file), fixed=examples),
        chat_file=chat_file,
    )
    storage_key, storage_secret = browser_storage(root)
    with gr.Blocks(title=title, analytics_enabled=False, delete_cache=(3600, 86_400)) as app:
        app.citeqa = parts
        current = gr.BrowserState("", storage_key=storage_key, secret=storage_secret)
        with gr.Sidebar(label="Conversations", open=True, width=290, elem_id="cq-sidebar"):
            gr.Markdown("#### Conversations")
            search = gr.Textbox(placeholder="Search by title", show_label=False, max_lines=1, container=False,
                                elem_id="cq-history-search")
            conversations = gr.Radio(choices=[], label="Past conversations", show_label=False, container=False,
                                     interactive=False, elem_id="cq-history")
            with gr.Row():
                rename = gr.Button("Rename", size="sm", min_width=60, elem_id="cq-rename")
                delete = gr.Button("Delete", size="sm", min_width=60, elem_id="cq-delete")
            with gr.Row(visible=False, elem_id="cq-rename-row") as rename_row:
                new_title = gr.Textbox(show_label=False, max_lines=1, container=False, elem_id="cq-rename-title")
                save_title = gr.Button("Save", size="sm", variant="primary", min_width=60, elem_id="cq-rename-save")
                keep_title = gr.Button("Cancel", size="sm", min_width=60, elem_id="cq-rename-cancel")
            with gr.Row(visible=False, elem_id="cq-delete-confirm") as delete_row:
                delete_text = gr.HTML(elem_id="cq-delete-text")
                confirm_delete = gr.Button("Yes, delete", size="sm", variant="stop", min_width=60,
                                           elem_id="cq-delete-yes")
                keep = gr.Button("Cancel", size="sm", min_width=60, elem_id="cq-delete-cancel")
        gr.Markdown(f"## {e(title)}\nAnswers from your own documents, with citations you can check.")
        with gr.Tabs() as tabs:
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=320):
                        # No floating label over the messages; the welcome (`ui.welcome`) shows while it is empty,
                        # and it grows with the conversation, so the examples below stay in the first view.
                        chat = gr.Chatbot(elem_id="cq-chat", label="Chat", show_label=False, height=None,
                                          min_height=CHAT_MIN_PX, max_height=CHAT_MAX_PX, render_markdown=False,
                                          buttons=[], feedback_options=None)  # its copy would copy the HTML
                        with gr.Row():
                            question = gr.Textbox(elem_id="cq-question", show_label=False, scale=6,
                                                  placeholder="Ask about your documents…", max_lines=4,
                                                  submit_btn=False, autofocus=True)
                            # Usable once the open conversation is back (`restore` on load), so that a
                            # restore arriving late never overwrites a question already being answered.
                            ask = gr.Button("Ask", variant="primary", scale=1, min_width=80, interactive=False,
                                            elem_id="cq-ask")
                            stop = gr.Button("Stop", variant="stop", scale=1, min_width=80, visible=False,
                                             elem_id="cq-stop")
                        note = gr.HTML("", elem_id="cq-question-note")
                        example_list = gr.Dataset(components=[question], samples=[], label="Example questions",
                                                  visible=False, elem_id="cq-examples")
                        examples_shown = gr.State("")
                        replacing = gr.State("")  # the last entry's id while its question is being edited
                        # Pressed by the page's script from the buttons under the last answer.
                        regenerate = gr.Button("Regenerate", visible="hidden", elem_id="cq-regenerate")
                        edit_last = gr.Button("Edit question", visible="hidden", elem_id="cq-edit-last")
                        cancel_edit = gr.Button("Cancel editing", visible="hidden", elem_id="cq-edit-cancel")
                        with gr.Row():
                            new_chat = gr.Button("New chat", size="sm", elem_id="cq-new-chat")
                            export = gr.DownloadButton("Export conversation", size="sm", visible=False,
                                                       elem_id="cq-export")
                    with gr.Column(scale=2, min_width=320):
                        gr.Markdown("#### Evidence")
                        panel = gr.HTML(PANEL_HELP, elem_id="cq-panel")
                cite_target = gr.Textbox(visible="hidden", elem_id=CITE_TARGET_ID, show_label=False)
                examples_timer = gr.Timer(EXAMPLES_EVERY)
            with gr.Tab("Documents", id="documents"):
                files = gr.File(label=f"Upload .txt, .md, .html, .pdf (up to {max_upload_mb:g} MB each)",
                                file_count="multiple", file_types=list(UPLOAD_SUFFIXES), type="filepath",
                                elem_id="cq-upload")
                add = gr.Button("Add to index", variant="primary", elem_id="cq-add")
                status = gr.HTML("", elem_id="cq-upload-status")
                with gr.Row():
                    to_remove = gr.Dropdown(label="Document", choices=[], scale=4, elem_id="cq-remove-choice")
                    remove = gr.Button("Remove", variant="stop", scale=1, elem_id="cq-remove")
                with gr.Row(visible=False, elem_id="cq-confirm") as confirm_row:
                    confirm_text = gr.HTML(elem_id="cq-confirm-text")
                    confirm = gr.Button("Yes, remove", variant="stop", elem_id="cq-confirm-remove")
                    cancel = gr.Button("Cancel", elem_id="cq-cancel-remove")
                documents = gr.HTML(elem_id="cq-documents")
            with gr.Tab("Settings", id="settings") as settings_tab:
                with gr.Row():
                    generator_box = gr.Dropdown(
                        choices=assistants.choices(), value=assistants.default, allow_custom_value=True, scale=4,
                        label="Generator", info="one of those below, or a model folder, a .gguf file or a hub id "
                        "available offline", elem_id="cq-generator")
                    time_it = gr.Button("Measure", scale=1, elem_id="cq-measure")
                measured = gr.HTML("", elem_id="cq-measure-status")
                speeds = gr.HTML(elem_id="cq-speeds")
                top_k_box = gr.Slider(1, 20, value=top_k, step=1, label="Passages retrieved (top-k)",
                                      elem_id="cq-top-k")
                gr.HTML(f'<div class="cq-note">Index folder: <code>{e(str(root))}</code><br>'
                        f'Uploads are copied to: <code>{e(str(parts.documents.upload_dir))}</code><br>'
                        f'Past conversations are kept in: <code id="cq-chat-file">{e(str(chat_file))}</code>'
                        '</div>')

        chat_outputs = [chat, current, panel, question, note, ask, stop, new_chat, conversations, export, replacing]
        asking = [current, generator_box, top_k_box, search]
        focus = {"fn": None, "js": FOCUS_QUESTION, **PRIVATE}
        # "once": Enter or a click while an answer runs asks nothing more.
        gr.on([ask.click, question.submit], parts.chat.respond, [question, *asking, replacing], chat_outputs,
              trigger_mode="once", concurrency_limit=4, **PRIVATE).then(**focus)
        regenerate.click(parts.chat.regenerate, asking, chat_outputs, trigger_mode="once", concurrency_limit=4,
                         **PRIVATE).then(**focus)
        edit_last.click(parts.chat.edit_last, [current], [question, note, replacing], queue=False,
                        **PRIVATE).then(**focus)
        cancel_edit.click(parts.chat.cancel_edit, None, [note, replacing], queue=False, **PRIVATE)
        example_list.click(parts.chat.respond_example, [example_list, *asking], chat_outputs,
                           concurrency_limit=4, **PRIVATE).then(**focus)
        stop.click(parts.chat.stop, [question], [stop, question], queue=False, **PRIVATE).then(**focus)
        new_chat.click(parts.chat.new_chat, None, chat_outputs, queue=False, **PRIVATE).then(**focus)
        conversations.input(parts.chat.open, [conversations, search], [*chat_outputs, tabs], queue=False,
                            **PRIVATE).then(**focus)
        search.change(parts.sidebar.search, [search, current], [conversations], queue=False,
                     show_progress="hidden", **PRIVATE)
        rename.click(parts.sidebar.ask_rename, [current], [rename_row, new_title], queue=False, **PRIVATE).then(
            fn=None, js=FOCUS_RENAME, **PRIVATE)
        gr.on([save_title.click, new_title.submit], parts.sidebar.rename, [current, new_title, search],
              [conversations, rename_row], queue=False, **PRIVATE)
        keep_title.click(parts.sidebar.hide, None, [rename_row], queue=False, **PRIVATE)
        delete.click(parts.sidebar.ask_delete, [current], [delete_row, delete_text], queue=False, **PRIVATE)
        confirm_delete.click(parts.sidebar.delete, [current, search], [*chat_outputs, delete_row], queue=False,
                             **PRIVATE)
        keep.click(parts.sidebar.hide, None, [delete_row], queue=False, **PRIVATE)
        cite_target.change(parts.chat.show_citation, [cite_target, current], [panel], show_progress="hidden",
                           concurrency_limit=None, **PRIVATE)
        refresh_examples = {"fn": lambda shown: examples_update(parts.examples, shown), "inputs": [examples_shown],
                            "outputs": [example_list, chat, examples_shown], "queue": False,
                            "show_progress": "hidden", **PRIVATE}
        examples_timer.tick(**refresh_examples)

        add.click(parts.documents.upload, [files], [status, documents, to_remove], concurrency_limit=1,
                  concurrency_id="index-write", **PRIVATE).then(
            lambda: None, None, [files], **PRIVATE).then(**refresh_examples)
        remove.click(parts.documents.confirm, [to_remove], [status, confirm_row, confirm_text], **PRIVATE)
        cancel.click(parts.documents.cancel, None, [status, confirm_row], queue=False, **PRIVATE)
        confirm.click(parts.documents.remove, [to_remove], [status, documents, to_remove, confirm_row],
                      concurrency_limit=1, concurrency_id="index-write", **PRIVATE).then(**refresh_examples)

        def show_speeds() -> str:
            return render_generators([(name, unavailable.get(name, ""), assistants.speeds.speed(model_name(name)))
                                      for name in assistants.choices()])

        settings_tab.select(show_speeds, None, [speeds], queue=False, **PRIVATE)
        time_it.click(lambda name: measure(assistants, name, parts.examples.current()), [generator_box],
                      [measured], concurrency_limit=1, **PRIVATE).then(show_speeds, None, [speeds], **PRIVATE)
        app.load(parts.chat.restore, [current], chat_outputs, queue=False, **PRIVATE)
        app.load(**refresh_examples)
        app.load(parts.documents.view, None, [documents, to_remove], **PRIVATE)
        app.load(show_speeds, None, [speeds], queue=False, **PRIVATE)
        gr.api(parts.api.ask, api_name="ask")
    return app


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
