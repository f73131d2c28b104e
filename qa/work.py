"""The working set of one answer: what each step of `Assistant` computed, computed once and read by the rest.

Steps (`qa.steps`) fill it in order: the question as it stands alone and its analysis, the query vector and
the store snapshot, the retrieved passages, the ranked sentences, the prompt, the draft, the cited claim, the
judge's signals and verdict. A step that decides the answer cannot be given sets `rejected`, and the steps
after it do not run. One Work belongs to one answer and one thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from index.backend import StoreSnapshot
from index.documents import Passage
from qa.analysis import QuestionAnalysis
from qa.answer import Citation, Confidence, Evidence, Verdict
from qa.citing import CitedClaim
from qa.engines import Piece
from qa.prompt import Prompt

History = list[tuple[str, str]]


@dataclass(slots=True)
class Work:
    question: str  # as the user asked it, cleaned
    history: History = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    asked: str = ""  # the question as it stands alone (a follow-up resolved)
    analysis: QuestionAnalysis | None = None
    vector: np.ndarray | None = None
    snapshot: StoreSnapshot | None = None
    passages: tuple[Passage, ...] = ()  # the best `top_k`: what an answer is drawn from
    reserve: tuple[Passage, ...] = ()  # the next ones, from the same search: where a conflict is looked for
    sentences: list[Evidence] = field(default_factory=list)  # from `passages`, best first
    prompt: Prompt | None = None
    pieces: list[Piece] = field(default_factory=list)
    draft: str = ""  # what the generator wrote
    confidence: Confidence = field(default_factory=Confidence)
    answer: str = ""  # the draft after the rewriting steps, markers stripped
    claim: CitedClaim | None = None
    conflict: tuple[Evidence, str] | None = None  # another document's sentence and its answer
    chosen: list[Evidence] = field(default_factory=list)  # a long answer's sentences to draw from (qa.longform)
    pool: list[Evidence] = field(default_factory=list)  # the larger pool a generator may pick a long answer's from
    parts: list = field(default_factory=list)  # a long answer's sentences, each with what it cites (qa.longform.Part)
    dropped: int = 0  # a long answer's sentences the check dropped
    support: tuple[tuple[Evidence, float], ...] = ()  # the verifier's P(states the answer) of each sentence, best first
    readings: tuple[tuple[str, Evidence, float], ...] = ()  # spans of the best sentences read as answers, best first
    read: bool = False  # the answer is a span the reader chose over the draft (qa.steps.Reader)
    signals: dict[str, float] = field(default_factory=dict)  # what the judge weighs (qa.signals)
    probability: float | None = None  # the judge's P(the answer is right)
    verdicts: list[Verdict] = field(default_factory=list)
    repaired: str = ""  # the reason a second draft was asked for, if one was
    calls: int = 0  # model calls made for this answer
    searches: int = 0  # index searches made for this answer
    timings: dict[str, float] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)  # document texts read from `snapshot`, by source

    @property
    def rejected(self) -> Verdict | None:
        return next((v for v in self.verdicts if not v.keep), None)

    def reject(self, check: str, reason: str, detail: str = "") -> None:
        self.verdicts.append(Verdict(check, False, reason, detail))

    def keep(self, check: str, detail: str = "") -> None:
        self.verdicts.append(Verdict(check, True, "", detail))

    def text_of(self, source: str) -> str:
        """A document's text in this answer's snapshot: offsets of citations index into it."""
        text = self.texts.get(source)
        if text is None:
            document = self.snapshot.document(source) if self.snapshot is not None else None
            if document is None:
                raise KeyError(f"not in the index: {source}")
            text = self.texts[source] = document.text
        return text

    def mark(self, step: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[step] = self.timings.get(step, 0.0) + now - since
        return now

    def citations(self) -> tuple[Citation, ...]:
        return self.claim.citations if self.claim is not None else ()

    def to_dict(self) -> dict[str, Any]:
        """What eval records beside the answer: the signals and where the time went."""
        return {"signals": dict(self.signals), "calls": self.calls, "searches": self.searches,
                "repaired": self.repaired, "read": self.read}
