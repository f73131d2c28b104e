"""A conversation as plain JSON, one entry a question: kept in the chat's SQLite file (`ui.history`).

An entry is {"id", "question", "state", "answer", "error", "partial"}. Its state is "answering" while the
answer streams, then "answered" (`answer` is `Answer.to_dict()`), "stopped" (Stop was pressed: `partial` is
the text written until then) or "failed" (`error` says what went wrong, as a sentence). What is read back
(from the file, or from a browser that kept the conversation before the file existed) is checked here entry
by entry: a damaged or outdated conversation loses the entries it cannot show, never raises.
"""

from __future__ import annotations

import uuid
from typing import Any

ANSWERING, ANSWERED, STOPPED, FAILED = "answering", "answered", "stopped", "failed"
MAX_ENTRIES = 50  # older questions drop off the stored conversation
Entry = dict[str, Any]

# The fields of Answer.to_dict() that the page reads, with their types.
ANSWER_FIELDS = {"question": str, "text": str, "abstained": bool, "citations": list, "passages": list,
                 "timings": dict}
CITATION_FIELDS = {"marker": int, "source": str, "title": str, "text": str, "start": int, "end": int}
PASSAGE_FIELDS = {"source": str, "title": str, "text": str, "start": int, "end": int}


def asking(question: str) -> Entry:
    return {"id": uuid.uuid4().hex[:12], "question": question, "state": ANSWERING, "answer": None, "error": ""}


def answered(entry: Entry, answer: dict[str, Any]) -> Entry:
    return dict(entry, state=ANSWERED, answer=answer)


def stopped(entry: Entry, partial: str = "") -> Entry:
    """Stopped by the reader (or cut off by a reload): the text written until then is kept, marked as such."""
    return dict(entry, state=STOPPED, answer=None, partial=partial or entry.get("partial", ""))


def failed(entry: Entry, message: str) -> Entry:
    return dict(entry, state=FAILED, answer=None, error=message)


def _typed(value: Any, fields: dict[str, type]) -> bool:
    return isinstance(value, dict) and all(
        isinstance(value.get(name), kind) and (kind is bool or not isinstance(value.get(name), bool))
        for name, kind in fields.items())


def _valid_answer(answer: Any) -> bool:
    return (_typed(answer, ANSWER_FIELDS)
            and all(_typed(c, CITATION_FIELDS) for c in answer["citations"])
            and all(_typed(p, PASSAGE_FIELDS) for p in answer["passages"])
            and all(isinstance(k, str) and isinstance(v, int | float) for k, v in answer["timings"].items()))


def _valid(entry: Any) -> bool:
    if not isinstance(entry, dict) or not isinstance(entry.get("question"), str):
        return False
    state = entry.get("state")
    if state == ANSWERED:
        return _valid_answer(entry.get("answer"))
    if state == FAILED:
        return isinstance(entry.get("error"), str)
    return state in {ANSWERING, STOPPED} and isinstance(entry.get("partial", ""), str)


def restore(value: Any) -> list[Entry]:
    """The entries of a stored conversation that can be shown. An entry still "answering" was cut off (by a
    reload, a lost connection or Stop): it becomes "stopped"."""
    if not isinstance(value, list):
        return []
    entries = [dict(e) for e in value if _valid(e)][-MAX_ENTRIES:]
    return [stopped(e) if e["state"] == ANSWERING else e for e in entries]


def append(conversation: list[Entry], entry: Entry) -> list[Entry]:
    return [*conversation, entry][-MAX_ENTRIES:]


def history(conversation: list[Entry]) -> list[tuple[str, str]]:
    """(question, answer text) of the answers a follow-up can build on: answered, not abstained."""
    return [(e["question"], e["answer"]["text"]) for e in conversation
            if e["state"] == ANSWERED and not e["answer"]["abstained"]]
