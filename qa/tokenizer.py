"""A model's tokenizer and chat template read straight from its folder: `tokenizers` and jinja2, no torch.

Importing transformers to count tokens or render a chat template costs seconds of start-up; the saved
`tokenizer.json`, `tokenizer_config.json` and `chat_template.jinja` hold everything those need.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Message = dict[str, str]


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _token_text(value: Any) -> str | None:
    """A special token as tokenizer_config.json writes it: a string or {"content": ...}."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) and value else None


class TextTokenizer:
    """Encode, count, decode and render chat prompts for one model folder."""

    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer

        self.folder = Path(folder)
        self.core = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        settings = _json(self.folder / "tokenizer_config.json")
        self.bos_token = _token_text(settings.get("bos_token"))
        self.eos_token = _token_text(settings.get("eos_token"))
        template_file = self.folder / "chat_template.jinja"
        template = template_file.read_text(encoding="utf-8") if template_file.is_file() else \
            settings.get("chat_template")
        self.chat_template: str | None = template if isinstance(template, str) and template else None
        self._template = None
        limit = settings.get("model_max_length")
        self.max_length = int(limit) if isinstance(limit, int | float) and 0 < limit < 1_000_000 else None
        self.end_ids = self._end_ids()

    def _end_ids(self) -> list[int]:
        """Token ids that end an answer: the generation config's eos ids and the tokenizer's eos token."""
        configured = _json(self.folder / "generation_config.json").get("eos_token_id")
        ids = configured if isinstance(configured, list) else [configured] if isinstance(configured, int) else []
        if self.eos_token is not None and (found := self.core.token_to_id(self.eos_token)) is not None:
            ids.append(found)
        return list(dict.fromkeys(i for i in ids if isinstance(i, int)))

    def count(self, text: str) -> int:
        return len(self.core.encode(text, add_special_tokens=False).ids)

    def tokens(self, text: str, special: bool = False) -> list[str]:
        return self.core.encode(text, add_special_tokens=special).tokens

    def ids(self, text: str, special: bool = False) -> list[int]:
        return self.core.encode(text, add_special_tokens=special).ids

    def decode(self, ids: Sequence[int]) -> str:
        return self.core.decode(list(ids), skip_special_tokens=True)

    def id_to_text(self, token_id: int) -> str:
        return self.decode([token_id])

    def render_chat(self, messages: Sequence[Message]) -> str:
        """The prompt text the model was trained on, ending where the assistant's turn begins."""
        if self.chat_template is None:
            raise ValueError(f"{self.folder} has no chat template")
        if self._template is None:
            from jinja2.sandbox import ImmutableSandboxedEnvironment

            def raise_exception(message: str) -> None:
                raise ValueError(f"the model's chat template refused the prompt: {message}")

            environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
            environment.globals["raise_exception"] = raise_exception
            self._template = environment.from_string(self.chat_template)
        return self._template.render(messages=list(messages), add_generation_prompt=True,
                                     bos_token=self.bos_token or "", eos_token=self.eos_token or "")
