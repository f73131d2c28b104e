"""The `/ask` endpoint for scripts (gradio_client): one question in, the answer with its citations out."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ui.settings import Assistants


class Api:
    def __init__(self, assistants: Assistants, top_k: int) -> None:
        self.assistants = assistants
        self.top_k = top_k

    def ask(self, question: str, top_k: int = 0, history: list[list[str]] | None = None,
            generator: str = "") -> dict[str, Any]:
        """Answer one question; returns the answer text with its citations as JSON."""
        from qa.errors import QuestionError

        pairs = [(str(q), str(a)) for q, a in (history or []) if q is not None and a is not None]
        try:
            answer = self.assistants.get(generator).ask(question, history=pairs, k=int(top_k) or self.top_k)
        except QuestionError as exc:
            raise gr.Error(str(exc)) from None
        data = answer.to_dict()
        data["answer"] = data.pop("text")  # the endpoint's name for it since its first version
        del data["passages"]  # what a script needs is the cited sentences, not every passage retrieved
        return data
