"""The nouns of answering: a Citation points at one exact sentence; an Answer carries its evidence."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from index.documents import Passage


class Redraft(str):
    """A streamed piece that begins another draft (a repair's): the text streamed before it is withdrawn, so a
    reader showing the stream starts again from it. Still a str: joining the pieces works as before."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Evidence:
    """A sentence offered to the generator as source [marker]; offsets are into its document's text."""

    marker: int
    source: str
    title: str
    text: str
    start: int
    end: int
    score: float


@dataclass(frozen=True, slots=True)
class Citation:
    """`doc_text[start:end] == text`; `supported` says whether the sentence backs the claim it is cited for."""

    marker: int
    source: str
    title: str
    text: str
    start: int
    end: int
    supported: bool = True

    @classmethod
    def of(cls, evidence: Evidence, marker: int, supported: bool = True) -> Citation:
        return cls(marker, evidence.source, evidence.title, evidence.text, evidence.start, evidence.end, supported)


@dataclass(frozen=True, slots=True)
class Confidence:
    """How sure the generator was: its answer's mean token log-probability, the probability it gave to
    beginning with a refusal ("unknown") instead, and for a yes/no question the share of "yes" in the
    probability of beginning with yes or no, and the probability of its first token. Unknown (None) for
    generators that do not say (extractive)."""

    mean_logprob: float | None = None
    refusal: float | None = None
    yes: float | None = None
    first: float | None = None  # the probability of the first token it wrote


@dataclass(frozen=True, slots=True)
class Verdict:
    """One step's judgement of an answer: kept, or withheld for a reason (qa.steps, qa.judge)."""

    check: str
    keep: bool
    reason: str = ""  # for a reader: one plain sentence
    detail: str = ""  # for a developer: what the check saw


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer with its citations, or an abstention (`abstained`) whose `reason` a reader understands and
    whose `detail` says what the step that withheld it saw. `checks` holds every verdict given."""

    question: str
    text: str
    citations: tuple[Citation, ...] = ()
    abstained: bool = False
    passages: tuple[Passage, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    conflict: bool = False
    standalone_question: str = ""
    generator: str = ""
    reason: str = ""
    detail: str = ""
    checks: tuple[Verdict, ...] = ()
    draft: str = ""  # what the generator wrote, before checks and citations
    engine: str = ""
    confidence: Confidence = field(default_factory=Confidence)
    # The answer judge's probability that the answer is right (qa.judge), shown beside it; None where no judge ran.
    probability: float | None = None
    candidate: str = ""  # the answer the judge weighed: the draft rewritten and cited, before any abstention
    signals: dict[str, float] = field(default_factory=dict)  # what the judge weighed (qa.signals)
    calls: int = 0  # model calls made for this answer
    searches: int = 0  # index searches made for this answer
    repaired: str = ""  # why a second draft was asked for (the judge's main reason), if one was
    read: bool = False  # the answer is the span the verifier read in a sentence, chosen over the draft

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values: the one shape the CLI's --json, the chat's API and the eval all use."""
        data = asdict(self)
        data["citations"] = [asdict(c) for c in self.citations]
        data["checks"] = [asdict(v) for v in self.checks]
        data["passages"] = [p.to_dict() for p in self.passages]
        data["timings"] = {k: round(v, 4) for k, v in self.timings.items()}
        return data
