"""Answers as Markdown: the text with its markers as footnotes that name the source, its title, the
character span and the quoted sentence. "Copy" gives one answer; "Export conversation" the whole chat."""

from __future__ import annotations

import re
from typing import Any

from ui import conversation as conv

MARKER = re.compile(r"\[(\d{1,3})\]")


def one_line(text: str) -> str:
    return " ".join(text.split())


def footnote(label: str, citation: dict[str, Any]) -> str:
    title = one_line(citation["title"])
    where = f"{citation['source']}, characters {citation['start']}–{citation['end']}"
    named = f"*{title}*, {where}" if title else where
    return f"[^{label}]: {named}: “{one_line(citation['text'])}”"


def answer_markdown(answer: dict[str, Any], prefix: str = "") -> str:
    """The answer with markers [n] written as footnotes [^n] (labels `prefix` + n, unique in an export)."""
    if answer["abstained"]:
        return f"No answer in your documents: {one_line(answer.get('reason') or answer['text'])}"
    markers = {c["marker"] for c in answer["citations"]}

    def to_footnote(match: re.Match) -> str:
        marker = int(match.group(1))
        return f"[^{prefix}{marker}]" if marker in markers else match.group(0)

    body = MARKER.sub(to_footnote, answer["text"].strip())
    notes = [footnote(f"{prefix}{c['marker']}", c) for c in answer["citations"]]
    return body + ("\n\n" + "\n".join(notes) if notes else "")


def entry_markdown(entry: conv.Entry, prefix: str = "") -> str:
    if entry["state"] == conv.ANSWERED:
        return answer_markdown(entry["answer"], prefix)
    if entry["state"] == conv.FAILED:
        return f"*Could not answer: {one_line(entry['error'])}*"
    partial = entry.get("partial", "").strip()
    if partial:
        return f"{partial}\n\n*Stopped: the answer above is incomplete and was not checked.*"
    return "*Stopped before an answer was given.*"


def conversation_markdown(conversation: list[conv.Entry], title: str = "citeqa conversation") -> str:
    parts = [f"# {title}"]
    for number, entry in enumerate(conversation, start=1):
        parts.append(f"## {number}. {one_line(entry['question'])}")
        parts.append(entry_markdown(entry, prefix=f"{number}-"))
    return "\n\n".join(parts) + "\n"
