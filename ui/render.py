"""The chat bubbles as HTML, from the plain data of a conversation (Answer.to_dict() per answer).

Everything shown is escaped text put into fixed markup: document text, titles, sources, questions and
reasons all go through `html.escape`, so nothing from a document or a question runs in the page.
Citation markers are links `#cq-cite-<turn>-<marker>` that the page's script turns into a panel update.
"""

from __future__ import annotations

import difflib
import html
import re
from typing import Any

from ui import conversation as conv
from ui.markdown import answer_markdown
from ui.relevance import related_passages

e = html.escape
CITE_PREFIX = "#cq-cite-"
TURN_PREFIX = "#cq-turn-"
TIMING_ORDER = ["retrieve", "select", "first_token", "generate", "verify", "total"]
# The page ships its icons inline: a glyph such as ⏹ shows as an empty box where no installed font has it.
STOP_ICON = ('<svg class="cq-icon" viewBox="0 0 16 16" width="12" height="12" aria-hidden="true" focusable="false">'
             '<rect x="3" y="3" width="10" height="10" rx="1.5" fill="currentColor"/></svg>')
SEARCHING = "Searching your documents…"
PUNCTUATION = "?!.,;:"
DRAFT = "Draft: checking it against your documents…"


def label(item: dict[str, Any]) -> str:
    """A document's title stands in for its file name wherever it has one."""
    return item.get("title", "").strip() or item["source"]


def cite_link(turn: int, citation: dict[str, Any], text: str | None = None, gone: bool = False) -> str:
    """A marker; `gone` when its document is no longer in the index (marked before anyone clicks it)."""
    kind, note = ("cq-cite cq-cite-gone", " (no longer in the index)") if gone else ("cq-cite", "")
    return (f'<a class="{kind}" href="{CITE_PREFIX}{turn}-{citation["marker"]}" title="{e(label(citation) + note)}">'
            f'{e(text or "[%d]" % citation["marker"])}</a>')


def render_gone(answer: dict[str, Any], missing: frozenset[str]) -> str:
    """A note under an answer citing documents removed since it was given."""
    gone = [label(c) for c in answer["citations"] if c["source"] in missing]
    if not gone:
        return ""
    names = "; ".join(e(name) for name in dict.fromkeys(gone))
    return f'<div class="cq-note cq-gone">⚠ Cites a document no longer in the index: {names}</div>'


def render_timings(timings: dict[str, float]) -> str:
    keys = [k for k in TIMING_ORDER if k in timings] + [k for k in timings if k not in TIMING_ORDER]
    parts = [f"{e(k.replace('_', ' '))} {timings[k] * 1000:.0f} ms" for k in keys]
    return f'<div class="cq-timings">{" · ".join(parts)}</div>' if parts else ""


def render_details(answer: dict[str, Any]) -> str:
    """What only a curious reader needs, folded: the technical reason, the generator, the timings."""
    rows = []
    if answer.get("detail"):
        rows.append(f'<div class="cq-detail">{e(answer["detail"])}</div>')
    if answer.get("generator"):
        rows.append(f'<div class="cq-generator">generator: {e(answer["generator"])}</div>')
    rows.append(render_timings(answer["timings"]))
    body = "".join(rows)
    return f'<details class="cq-details"><summary>details</summary>{body}</details>' if body else ""


def render_confidence(answer: dict[str, Any]) -> str:
    """The answer judge's probability that the answer shown is right, where a judge ran; none beside a decline,
    where there is no answer to be right."""
    probability = answer.get("probability")
    if answer.get("abstained") or not isinstance(probability, int | float) or isinstance(probability, bool):
        return ""
    return (f'<span class="cq-confidence" title="How likely the answer checker judges this answer to be right">'
            f'{max(0.0, min(1.0, probability)):.0%} likely right</span>')


def render_actions(answer: dict[str, Any]) -> str:
    """Copy (the page's script copies the hidden Markdown beside it), the confidence and the folded details."""
    return (f'<div class="cq-actions"><button class="cq-copy" title="Copy the answer with its sources as '
            f'Markdown">Copy</button>{render_confidence(answer)}{render_details(answer)}</div>'
            f'<div class="cq-md">{e(answer_markdown(answer))}</div>')


def resolved(question: str, standalone: str) -> list[tuple[str, str]]:
    """What the rewrite of a follow-up put in place of its words, [("he", "Martyn Blake")], read from the two
    questions whatever rewrote them; [] when it resolved nothing (unchanged, or only the previous question added)."""
    said, meant = question.split(), standalone.split()
    opcodes = difflib.SequenceMatcher(a=said, b=meant, autojunk=False).get_opcodes()
    pairs = [(" ".join(said[i1:i2]).strip(PUNCTUATION), " ".join(meant[j1:j2]).strip(PUNCTUATION))
             for tag, i1, i2, j1, j2 in opcodes if tag == "replace"]
    return [(words, taken) for words, taken in pairs if words and taken and words != taken]


def render_understood(answer: dict[str, Any]) -> str:
    """A follow-up whose rewrite resolved a word: what the word was taken to mean, so a wrong guess shows at once."""
    asked = (answer.get("standalone_question") or "").strip()
    pairs = resolved(answer["question"], asked)
    if not pairs:
        return ""
    taken = "; ".join(f"“{e(words)}” as {e(meant)}" for words, meant in pairs)
    return f'<div class="cq-note cq-understood" title="Answered as: {e(asked)}">Understood {taken}.</div>'


def render_abstention(answer: dict[str, Any], turn: int) -> str:
    reason = answer.get("reason") or "None of the indexed passages answers this question."
    reason = reason[:1].upper() + reason[1:]
    nearest = ""
    related = related_passages(answer)[:3]
    if related:
        names = "; ".join(e(t) for t in dict.fromkeys(label(p) for p in related))
        nearest = f'<div class="cq-note">Nearest passages, under Evidence: {names}</div>'
    return (f'<div class="cq-answer cq-abstain cq-turn-{turn}"><span class="cq-abstain-label">'
            f'⚠ No answer in your documents.</span> {e(reason)}{nearest}{render_understood(answer)}'
            f'{render_actions(answer)}</div>')


def render_answer(answer: dict[str, Any], turn: int, missing: frozenset[str] = frozenset()) -> str:
    """The answer bubble: escaped text, markers [n] as links to the evidence, copy and details below; `missing`
    names the sources no longer in the index."""
    if answer["abstained"]:
        return render_abstention(answer, turn)
    by_marker = {c["marker"]: c for c in answer["citations"]}

    def link(match: re.Match) -> str:
        citation = by_marker.get(int(match.group(1)))
        return cite_link(turn, citation, gone=citation["source"] in missing) if citation else match.group(0)

    def linked(text: str) -> str:
        return re.sub(r"\[(\d{1,3})\]", link, e(text))

    lines = answer["text"].split("\n")
    if len(lines) > 1 and all(line.startswith("- ") for line in lines):  # a long answer: quoted sentences
        body = '<ul class="cq-list">' + "".join(f"<li>{linked(line[2:])}</li>" for line in lines) + "</ul>"
    else:
        body = linked(answer["text"])
    conflict = '<div class="cq-note">⚠ The sources disagree: both are cited.</div>' if answer.get("conflict") else ""
    return (f'<div class="cq-answer cq-turn-{turn}">{body}{conflict}{render_gone(answer, missing)}'
            f'{render_understood(answer)}{render_actions(answer)}</div>')


def render_streaming(text: str) -> str:
    """The answer while it is written: a draft, shown as one, that the checks may still rewrite or withhold, so the
    finished answer (or decline) replaces it whole; before its first words, what is being done."""
    if not text:
        return f'<div class="cq-answer cq-streaming cq-searching">{SEARCHING}</div>'
    return (f'<div class="cq-answer cq-streaming cq-draft"><div class="cq-draft-label">{DRAFT}</div>'
            f'<div class="cq-draft-text">{e(text)} …</div></div>')


# Under the last answer: ask it again, or edit the question (the page's script presses the chat's hidden buttons).
AGAIN = ('<div class="cq-again"><button class="cq-regenerate" title="Ask the last question again">Regenerate</button>'
         '<button class="cq-edit" title="Change the last question and ask it instead">Edit question</button></div>')
EDITING = ('<div class="cq-note cq-editing" role="status">Editing your last question: Ask replaces it and its answer. '
           '<button class="cq-edit-cancel">Cancel</button></div>')


def render_stopped(partial: str = "") -> str:
    """A stopped answer keeps what was written, marked as incomplete."""
    if not partial.strip():
        return (f'<div class="cq-answer cq-stopped"><span class="cq-stopped-mark">{STOP_ICON} Stopped before '
                'any answer was written.</span></div>')
    return (f'<div class="cq-answer cq-stopped"><div class="cq-partial">{e(partial.strip())}</div>'
            f'<span class="cq-stopped-mark">{STOP_ICON} Stopped: the answer above is incomplete and was not '
            'checked against your documents.</span></div>')


def render_error(message: str) -> str:
    return f'<div class="cq-error">⚠ {e(message)}</div>'


def done(name: str, message: str) -> str:
    """A status line: what happened to one thing (an uploaded file, a generator measured), named as the
    reader knows it."""
    return f'<div class="cq-status-ok">✓ {e(name)}: {e(message)}</div>'


def refused(name: str, message: str) -> str:
    """A status line for what could not be done, with the reason: shown in red, in full size."""
    return f'<div class="cq-status-error" role="alert">✗ {e(name)}: {e(message)}</div>'


def render_entry(entry: conv.Entry, turn: int, streaming: str = "", waiting: str = "",
                 missing: frozenset[str] = frozenset()) -> str:
    if entry["state"] == conv.ANSWERED:
        return render_answer(entry["answer"], turn, missing)
    if entry["state"] == conv.FAILED:
        return render_error(entry["error"])
    if entry["state"] == conv.ANSWERING:
        return waiting if waiting and not streaming else render_streaming(streaming)
    return render_stopped(entry.get("partial", ""))


def chat_messages(conversation: list[conv.Entry], streaming: str = "", waiting: str = "",
                  missing: frozenset[str] = frozenset()) -> list[dict[str, str]]:
    """The Chatbot's messages; `streaming` is the text so far of an entry still answering, `waiting` what
    it shows before any (a model loading), `missing` the cited sources no longer in the index."""
    messages = []
    for turn, entry in enumerate(conversation):
        shown = render_entry(entry, turn, streaming, waiting, missing)
        if turn == len(conversation) - 1 and entry["state"] != conv.ANSWERING:
            shown += AGAIN
        messages.append({"role": "user", "content": e(entry["question"])})
        messages.append({"role": "assistant", "content": shown})
    return messages
