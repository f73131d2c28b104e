"""The list of past conversations beside the chat: search by title, and rename or delete (after a
confirmation) the conversation that is open. Opening one and starting a new one are `ui.chat`'s."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ui.chat import Chat
from ui.evidence import PANEL_HELP
from ui.history import History
from ui.render import e


class Sidebar:
    def __init__(self, history: History, chat: Chat) -> None:
        self.history = history
        self.chat = chat

    def _open(self, current: Any, request: gr.Request | None):
        conversation = self.chat.conversation(current, request)
        if conversation is None:
            gr.Warning("Open a conversation from the list first.")
        return conversation

    def search(self, text: str, current: Any, request: gr.Request | None = None) -> Any:
        return self.chat.listing(current if isinstance(current, str) else "", text or "",
                                 owner=self.chat.owner(request))

    def ask_rename(self, current: Any, request: gr.Request | None = None) -> tuple[Any, Any]:
        """Rename pressed: (the rename row, its box with the title to edit)."""
        conversation = self._open(current, request)
        if conversation is None:
            return gr.Row(visible=False), gr.skip()
        return gr.Row(visible=True), gr.Textbox(value=conversation.title)

    def rename(self, current: Any, title: str, search: str = "", request: gr.Request | None = None) -> tuple[Any, Any]:
        """Save pressed: (the list, the rename row)."""
        conversation = self._open(current, request)
        if conversation is None:
            return gr.skip(), gr.Row(visible=False)
        owner = self.chat.owner(request)
        try:
            self.history.rename(conversation.id, title, owner)
        except ValueError as exc:
            gr.Warning(str(exc))
            return gr.skip(), gr.skip()
        return self.chat.listing(conversation.id, search or "", owner=owner), gr.Row(visible=False)

    def ask_delete(self, current: Any, request: gr.Request | None = None) -> tuple[Any, str]:
        """Delete pressed: ask first. Returns (the confirmation row, its question)."""
        conversation = self._open(current, request)
        if conversation is None:
            return gr.Row(visible=False), ""
        return gr.Row(visible=True), (f'<div class="cq-note">Delete “{e(conversation.title)}”? It cannot be '
                                      'brought back.</div>')

    def delete(self, current: Any, search: str = "", request: gr.Request | None = None) -> tuple[Any, ...]:
        """Confirmed: the conversation goes, the chat starts afresh. Returns the chat's frame, then the row."""
        conversation = self._open(current, request)
        owner = self.chat.owner(request)
        if conversation is not None:
            self.history.delete(conversation.id, owner)
            gr.Info(f"Deleted “{conversation.title}”.")
        return (*self.chat.frame(None, PANEL_HELP, search=search or "", owner=owner), gr.Row(visible=False))

    @staticmethod
    def hide() -> Any:
        return gr.Row(visible=False)
