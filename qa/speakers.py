"""Who is speaking in a quoted paragraph. News continues a quote over several paragraphs, each opening with a
quotation mark and only the first naming the speaker ("Ms Jones said: “…"). A sentence from a later
paragraph is offered to the generator together with that attribution, so "who said …?" has an answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from index.sentences import sentence_spans
from qa.answer import Evidence
from qa.lexicon import OPENING_QUOTES, SPEECH_VERB

def attribution(text: str, start: int, max_paragraphs: int = 12) -> tuple[int, int] | None:
    """Span of the sentence naming the speaker of the quote paragraph at `start`, or None.

    Walks back over paragraphs that open with a quotation mark to the paragraph before them; its sentence
    with a speech verb is the attribution. None when the paragraph is not a quote continuation.
    """
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    paragraph = text[line_start:line_end if line_end >= 0 else len(text)]
    if not paragraph.lstrip().startswith(tuple(OPENING_QUOTES)) or SPEECH_VERB.search(paragraph):
        return None  # not a quote, or a quote that names its own speaker
    for _ in range(max_paragraphs):
        if line_start == 0:
            return None
        previous = text.rfind("\n", 0, line_start - 1) + 1
        paragraph = text[previous:line_start - 1]
        if not paragraph.lstrip().startswith(tuple(OPENING_QUOTES)):
            for span in sentence_spans(paragraph, previous):
                if SPEECH_VERB.search(text[span.start:span.end]):
                    return span.start, span.end
            return None
        line_start = previous
    return None


def with_speakers(evidence: list[Evidence], document_text: Callable[[str], str], limit: int = 3) -> list[Evidence]:
    """The evidence with the attribution of each of the first `limit` quote-continuation sentences put just
    before it (once), at the same score."""
    have = {(e.source, e.start) for e in evidence}
    out: list[Evidence] = []
    for rank, item in enumerate(evidence):
        if rank < limit:
            span = attribution(document_text(item.source), item.start)
            if span is not None and (item.source, span[0]) not in have:
                text = document_text(item.source)[span[0]:span[1]]
                out.append(replace(item, text=text, start=span[0], end=span[1]))
                have.add((item.source, span[0]))
        out.append(item)
    return out
