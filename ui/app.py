"""The Gradio page: the chat with its Evidence panel, the Documents tab and Settings, wired to handlers.

The handlers are plain objects (`ui.chat`, `ui.documents`, `ui.api`, `ui.examples`), testable without a
browser; `build_app` lays out the components and wires their events, `launch` serves the page.
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
from ui.documents import Documents  # noqa: E402
from ui.evidence import PANEL_HELP  # noqa: E402
from ui.examples import ExampleFinder  # noqa: E402
from ui.page import CITE_TARGET_ID, CSS, HEAD, theme  # noqa: E402
from ui.render import e  # noqa: E402
from ui.settings import Assistants  # noqa: E402
from ui.uploads import MAX_UPLOAD_MB, UPLOAD_FOLDER, UPLOAD_SUFFIXES  # noqa: E402

MAX_QUEUE = 64  # requests waiting beyond this are refused ("queue is full") rather than piling up
PRIVATE = {"api_visibility": "private"}


@dataclass(frozen=True)
class Parts:
    """The handlers behind one page (`app.citeqa`), for callers and tests."""

    assistants: Assistants
    chat: Chat
    documents: Documents
    api: Api
    examples: ExampleFinder

    @property
    def assistant(self) -> Any:
        return self.assistants.base


def browser_storage(index_root: Path) -> tuple[str, str]:
    """(localStorage key, key the page encrypts it with) for the conversation, stable per index folder so a
    conversation survives a reload and a restart. The page must know the key: this keeps apart the
    conversations of different indexes, it is not a secret."""
    digest = hashlib.sha256(str(Path(index_root).resolve()).encode()).hexdigest()
    return f"citeqa-chat-{digest[:12]}", digest[12:44]


def examples_update(finder: ExampleFinder) -> tuple[Any, Any]:
    """(example list, timer): the list once found for the live index, and the timer stops asking."""
    found = finder.current()
    if found is None:
        return gr.skip(), gr.skip()
    return gr.Dataset(samples=[[q] for q in found], visible=bool(found)), gr.Timer(active=False)


def build_app(assistant: Any | Callable[[str | None], Any], *, generator: str | None = None,
              top_k: int | None = None, max_upload_mb: float = MAX_UPLOAD_MB, upload_dir: Path | None = None,
              examples: list[str] | None = None, title: str = "citeqa") -> gr.Blocks:
    """The whole page. `assistant` is an Assistant, or a factory `f(generator_name) -> Assistant`.
    `examples` replaces the example questions derived from the documents (still only offered when answered)."""
    assistants = Assistants(assistant, generator)
    base = assistants.base
    top_k = top_k or getattr(getattr(base, "config", None), "top_k", 5)
    root = Path(base.index.root)
    parts = Parts(
        assistants=assistants,
        chat=Chat(assistants, top_k),
        documents=Documents(base, Path(upload_dir) if upload_dir else root / UPLOAD_FOLDER, max_upload_mb),
        api=Api(assistants, top_k),
        examples=ExampleFinder(base, fixed=examples),
    )
    storage_key, storage_secret = browser_storage(root)
    with gr.Blocks(title=title, analytics_enabled=False, delete_cache=(3600, 86_400)) as app:
        app.citeqa = parts
        gr.Markdown(f"## {e(title)}\nAnswers from your own documents, with citations you can check.")
        conversation = gr.BrowserState([], storage_key=storage_key, secret=storage_secret)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=320):
                        chat = gr.Chatbot(elem_id="cq-chat", label="Chat", height=480, render_markdown=False,
                                          buttons=[], feedback_options=None)  # its copy would copy the HTML
                        with gr.Row():
                            question = gr.Textbox(elem_id="cq-question", show_label=False, scale=6,
                                                  placeholder="Ask about your documents…", max_lines=4,
                                                  submit_btn=False, autofocus=True)
                            # Usable once the stored conversation is back (`restore` on load), so that a
                            # restore arriving late never overwrites a question already being answered.
                            ask = gr.Button("Ask", variant="primary", scale=1, min_width=80, interactive=False,
                                            elem_id="cq-ask")
                            stop = gr.Button("Stop", variant="stop", scale=1, min_width=80, visible=False,
                                             elem_id="cq-stop")
                        example_list = gr.Dataset(components=[question], samples=[], label="Example questions",
                                                  visible=False, elem_id="cq-examples")
                        with gr.Row():
                            new_chat = gr.Button("New chat", size="sm", elem_id="cq-new-chat")
                            export = gr.DownloadButton("Export conversation", size="sm", visible=False,
                                                       elem_id="cq-export")
                    with gr.Column(scale=2, min_width=320):
                        gr.Markdown("#### Evidence")
                        panel = gr.HTML(PANEL_HELP, elem_id="cq-panel")
                cite_target = gr.Textbox(visible="hidden", elem_id=CITE_TARGET_ID, show_label=False)
                examples_timer = gr.Timer(1.0)
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
            with gr.Tab("Settings", id="settings"):
                generator_box = gr.Dropdown(
                    choices=assistants.choices(), value=assistants.default, allow_custom_value=True,
                    label="Generator", info="default (Qwen2.5-Coder 1.5B), qwen-0.5b (faster, weaker), "
                    "extractive (quotes the best sentence, no model), "
                    "or a model folder / .gguf file / hub id available offline", elem_id="cq-generator")
                top_k_box = gr.Slider(1, 20, value=top_k, step=1, label="Passages retrieved (top-k)",
                                      elem_id="cq-top-k")
                gr.HTML(f'<div class="cq-note">Index folder: <code>{e(str(root))}</code><br>'
                        f'Uploads are copied to: <code>{e(str(parts.documents.upload_dir))}</code></div>')

        chat_outputs = [chat, conversation, panel, question, ask, stop, export]
        # "once": Enter or a click while an answer runs asks nothing more.
        gr.on([ask.click, question.submit], parts.chat.respond, [question, conversation, generator_box, top_k_box],
              chat_outputs, trigger_mode="once", concurrency_limit=4, **PRIVATE)
        stop.click(parts.chat.stop, None, [stop], queue=False, **PRIVATE)
        gr.on([new_chat.click, chat.clear], parts.chat.new_chat, None, chat_outputs, queue=False, **PRIVATE)
        cite_target.change(parts.chat.show_citation, [cite_target, conversation], [panel], show_progress="hidden",
                           concurrency_limit=None, **PRIVATE)
        example_list.click(lambda sample: sample[0], [example_list], [question], queue=False, **PRIVATE)
        examples_timer.tick(lambda: examples_update(parts.examples), None, [example_list, examples_timer],
                            queue=False, show_progress="hidden", **PRIVATE)
        restart_examples = {"fn": lambda: gr.Timer(active=True), "inputs": None, "outputs": [examples_timer]}

        add.click(parts.documents.upload, [files], [status, documents, to_remove], concurrency_limit=1,
                  concurrency_id="index-write", **PRIVATE).then(
            lambda: None, None, [files], **PRIVATE).then(**restart_examples, **PRIVATE)
        remove.click(parts.documents.confirm, [to_remove], [status, confirm_row, confirm_text], **PRIVATE)
        cancel.click(parts.documents.cancel, None, [status, confirm_row], queue=False, **PRIVATE)
        confirm.click(parts.documents.remove, [to_remove], [status, documents, to_remove, confirm_row],
                      concurrency_limit=1, concurrency_id="index-write", **PRIVATE).then(
            **restart_examples, **PRIVATE)
        app.load(parts.chat.restore, [conversation], chat_outputs, queue=False, **PRIVATE)
        app.load(parts.documents.view, None, [documents, to_remove], **PRIVATE)
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
