"""What each answer check does: every check switched off in turn, computed from one run.

Every answer records every check's verdict (`Answer.checks`) and what the generator wrote before the checks
(`Answer.draft`). With one check off, an answer abstains only if another check rejected it, and then reads as
its draft. So the table costs no extra generation, and it is exact for the answer's words; citations of an
answer that only the removed check rejected are not known, so the table scores words and abstentions only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

ALWAYS = ("relevant",)  # the retrieval gate is not an answer check: nothing was generated to fall back to

Contains = Callable[[str, Sequence[str]], float]


@dataclass(frozen=True, slots=True)
class Outcome:
    """One answer, as the ablation needs it."""

    answerable: bool
    golds: tuple[str, ...]
    text: str
    draft: str
    verdicts: tuple[tuple[str, bool], ...]  # (check, kept) in pipeline order


@dataclass(frozen=True, slots=True)
class Row:
    removed: str  # "" for the pipeline as configured, "all" for no checks
    containment: float | None  # on answerable questions: share whose answer holds a gold answer
    answerable_abstained: float | None
    unanswerable_abstained: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"removed": self.removed, "containment": self.containment,
                "answerable_abstained": self.answerable_abstained,
                "unanswerable_abstained": self.unanswerable_abstained}


def _rate(values: list[bool]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def score(outcomes: Sequence[Outcome], contains: Contains, off: frozenset[str] = frozenset(),
          removed: str = "") -> Row:
    answerable, unanswerable, found = [], [], []
    for o in outcomes:
        rejected = [c for c, kept in o.verdicts if not kept and (c in ALWAYS or c not in off)]
        abstained = bool(rejected)
        text = o.text if not any(not kept for _, kept in o.verdicts) else o.draft
        if o.answerable:
            answerable.append(abstained)
            found.append(not abstained and bool(o.golds) and contains(text, o.golds) > 0)
        else:
            unanswerable.append(abstained)
    return Row(removed, _rate(found), _rate(answerable), _rate(unanswerable))


def ablation(outcomes: Sequence[Outcome], contains: Contains) -> list[Row]:
    """The configured pipeline, each check off in turn, and no checks at all."""
    checks = list(dict.fromkeys(c for o in outcomes for c, _ in o.verdicts if c not in ALWAYS))
    rows = [score(outcomes, contains)]
    rows += [score(outcomes, contains, frozenset({c}), c) for c in checks]
    rows.append(score(outcomes, contains, frozenset(checks), "all"))
    return rows
