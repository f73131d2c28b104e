"""The nouns of the index layer: what goes in (Document), what is stored (Chunk), what comes back (Passage)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Document:
    """One loaded file. `source` is its path relative to the folder it was added from, so it is stable."""

    source: str
    title: str
    text: str
    sha256: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A span of a document; `document.text[start:end] == text` always holds."""

    source: str
    text: str
    start: int
    end: int
    position: int


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved chunk with the scores that ranked it, ready to show or to cite."""

    chunk_id: int
    source: str
    title: str
    text: str
    start: int
    end: int
    score: float
    dense_score: float | None = None
    keyword_score: float | None = None
    dense_rank: int | None = None
    keyword_rank: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class IndexReport:
    """What one `add` did, so a user sees that unchanged documents were not embedded again."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    chunks_embedded: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        text = (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            f"{len(self.removed)} removed, {len(self.skipped)} skipped "
            f"({self.chunks_embedded} chunks embedded in {self.seconds:.1f} s)"
        )
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": list(self.added),
            "updated": list(self.updated),
            "unchanged": list(self.unchanged),
            "removed": list(self.removed),
            "skipped": [{"source": s, "reason": r} for s, r in self.skipped],
            "chunks_embedded": self.chunks_embedded,
            "seconds": round(self.seconds, 3),
        }
