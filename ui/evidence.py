"""The Evidence panel: the cited sentence highlighted in its document, or the nearest passages of an
abstention. Escaped text in fixed markup, as in `ui.render`."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from ui.relevance import related_passages
from ui.render import SEARCHING as SEARCHING_TEXT
from ui.render import TURN_PREFIX, cite_link, e, label

CONTEXT_CHARS = 450  # document text shown on each side of a cited sentence
PASSAGE_CHARS = 400  # of a nearest passage
PANEL_HELP = ('<div class="cq-panel"><div class="cq-note">Ask a question. Click a citation marker such as [1] '
              'in an answer to see the cited sentence in its document.</div></div>')
SEARCHING = f'<div class="cq-panel"><div class="cq-note">{SEARCHING_TEXT}</div></div>'
LOADING = ('<div class="cq-panel"><div class="cq-note">Waiting for the model to load; your documents are searched '
           'next.</div></div>')
WRITING = ('<div class="cq-panel"><div class="cq-note">Writing the answer from the passages found. Its citations '
           'will be listed here when it is done.</div></div>')


def window(text: str, start: int, end: int, chars: int = CONTEXT_CHARS) -> tuple[int, int]:
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
    lo, hi = window(document, start, end)
    before = ("…" if lo > 0 else "") + e(document[lo:start])
    after = e(document[end:hi]) + ("…" if hi < len(document) else "")
    return f'<div class="cq-context">{before}<mark>{e(document[start:end])}</mark>{after}</div>'


def by_document(items: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Items grouped under their document's label, in order of first appearance: each title shown once."""
    order = {label(item): n for n, item in reversed(list(enumerate(items)))}
    ranked = sorted(items, key=lambda item: order[label(item)])
    return [(name, list(group)) for name, group in groupby(ranked, key=label)]


def render_citation_links(answer: dict[str, Any], turn: int, current: int | None = None) -> str:
    rows = []
    for name, citations in by_document(answer["citations"]):
        links = " ".join(cite_link(turn, c, f"[{c['marker']}]" + (" (shown)" if c["marker"] == current else ""))
                         for c in citations)
        rows.append(f'<div class="cq-cited-doc">{links} {e(name)}</div>')
    return "".join(rows)


def render_nearest(answer: dict[str, Any]) -> str:
    """The passages retrieved that share the question's words (ui.relevance), each document's title once."""
    groups = []
    for name, passages in by_document(related_passages(answer)[:3]):
        texts = []
        for p in passages:
            text = p["text"] if len(p["text"]) <= PASSAGE_CHARS else p["text"][:PASSAGE_CHARS].rsplit(" ", 1)[0] + "…"
            texts.append(f'<div class="cq-source">characters {p["start"]}–{p["end"]}</div>'
                         f'<div class="cq-context">{e(text)}</div>')
        groups.append(f'<div class="cq-panel-title" title="{e(passages[0]["source"])}">{e(name)}</div>'
                      + "".join(texts))
    if groups:
        return "".join(groups)
    if answer["passages"]:
        return '<div class="cq-note">No passage in your documents shares the words of this question.</div>'
    return '<div class="cq-note">Nothing was retrieved: is the index empty?</div>'


def render_panel_intro(answer: dict[str, Any] | None, turn: int) -> str:
    """The panel right after an answer: what to click, or the nearest passages of an abstention."""
    if answer is None:
        return PANEL_HELP
    if answer["abstained"]:
        intro = '<div class="cq-note">None of them answers the question.</div>' if related_passages(answer) else ""
        return ('<div class="cq-panel cq-nearest"><div class="cq-panel-title">Nearest passages</div>'
                f'{intro}{render_nearest(answer)}</div>')
    return ('<div class="cq-panel"><div class="cq-note">Click a marker to see the cited sentence in its '
            f'document:</div>{render_citation_links(answer, turn)}</div>')


def render_citation_panel(answer: dict[str, Any], turn: int, marker: int, document: str | None,
                          nonce: str = "") -> str:
    """One citation: its sentence highlighted in its document. `nonce` tells the page's script which
    click this panel answers, so it scrolls the right highlight into view."""
    citation = next((c for c in answer["citations"] if c["marker"] == marker), None)
    if citation is None:
        return render_panel_intro(answer, turn)
    support = "" if citation.get("supported", True) else '<div class="cq-note">⚠ Marked as not supporting.</div>'
    others = ""
    if len(answer["citations"]) > 1:
        others = (f'<div class="cq-note">All citations of this answer:'
                  f'{render_citation_links(answer, turn, marker)}</div>')
    return (
        f'<div class="cq-panel cq-shown-{e(nonce)}">'
        f'<a class="cq-back" href="{TURN_PREFIX}{turn}">↑ Back to the answer</a>'
        f'<div class="cq-panel-title" title="{e(citation["source"])}">[{marker}] {e(label(citation))}</div>'
        f'<div class="cq-source">characters {citation["start"]}–{citation["end"]}</div>'
        f'{render_context(document, citation)}{support}'
        f'<div class="cq-note">Question: {e(answer["question"])}</div>{others}</div>'
    )
