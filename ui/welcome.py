"""The first view of an empty chat: what is indexed (how many documents, their titles) and what to do, so that a
new reader knows at once what the assistant can answer. Escaped text in fixed markup, as in `ui.render`."""

from __future__ import annotations

from typing import Any

from ui.render import e

TITLES_SHOWN = 5  # more documents are counted, not named


def title_of(document: Any) -> str:
    return (document.title or "").strip() or document.source


def render_welcome(documents: list[Any]) -> str:
    """The chat's placeholder: the documents by title, newest first, and how answers are given."""
    if not documents:
        return ('<div class="cq-welcome"><p class="cq-welcome-title">No documents are indexed yet.</p>'
                '<p>Add articles under <b>Documents</b>, then ask about them here.</p></div>')
    newest = sorted(documents, key=lambda d: -d.indexed_at)
    named = "".join(f"<li>{e(title_of(d))}</li>" for d in newest[:TITLES_SHOWN])
    more = len(documents) - TITLES_SHOWN
    rest = f'<li class="cq-welcome-more">and {more:,} more (under Documents)</li>' if more > 0 else ""
    count = f"{len(documents):,} document{'' if len(documents) == 1 else 's'}"
    return (f'<div class="cq-welcome"><p class="cq-welcome-title">Ask about your {count}:</p>'
            f'<ul class="cq-welcome-titles">{named}{rest}</ul>'
            '<p>Each answer cites the sentences it comes from: click a marker such as [1] to read one in its '
            'document. When the documents do not say, the answer says so. Try an example below.</p></div>')
