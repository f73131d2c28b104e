"""Question sets: one JSON object per line, validated up front so a bad line fails with its line number.

A set is the contract between a user and `citeqa eval`: any JSONL file in this format can be run against
any corpus folder. Validation happens before any model loads, so a typo costs a second, not a run.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_SET = Path(__file__).parent / "data" / "seeds.jsonl"
REQUIRED = ("id", "question", "answers", "type")
OPTIONAL = ("source", "evidence", "answerable", "sources", "conflicting_answers")


class DatasetError(ValueError):
    """A set that cannot be evaluated; the message names the file and line to fix."""


@dataclass(frozen=True, slots=True)
class Question:
    """One evaluation item. Unanswerable items (`answerable=False`) have no answers, source or evidence."""

    id: str
    question: str
    answers: tuple[str, ...]
    type: str
    source: str = ""
    evidence: str = ""
    answerable: bool = True
    sources: tuple[str, ...] = ()
    conflicting_answers: tuple[str, ...] = ()
    line: int = 0

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "question": self.question, "answers": list(self.answers),
                                "type": self.type, "source": self.source, "evidence": self.evidence,
                                "answerable": self.answerable}
        if self.sources:
            data["sources"] = list(self.sources)
        if self.conflicting_answers:
            data["conflicting_answers"] = list(self.conflicting_answers)
        return data


def in_half(question_id: str, parity: int) -> bool:
    digits = "".join(c for c in question_id if c.isdigit())
    return bool(digits) and int(digits) % 2 == parity


@dataclass(frozen=True, slots=True)
class QuestionSet:
    """The questions of one file plus a digest, so a later run can tell whether it measured the same set."""

    path: Path
    questions: tuple[Question, ...]
    sha256: str

    def __len__(self) -> int:
        return len(self.questions)

    def half(self, name: str | None) -> QuestionSet:
        """The questions of one half, by the number in their id: `tune` even, `check` odd (None: all).

        The seed questions train the answer judge with the tune half and report it with the check half."""
        if name in (None, "both"):
            return self
        if name not in ("tune", "check"):
            raise DatasetError(f"half must be tune, check or both, not {name!r}")
        parity = 0 if name == "tune" else 1
        return QuestionSet(self.path, tuple(q for q in self.questions if in_half(q.id, parity)), self.sha256)

    def limited(self, limit: int | None) -> QuestionSet:
        """The first `limit` questions (all when None): quick runs while developing."""
        if limit is None or limit >= len(self.questions):
            return self
        if limit < 1:
            raise DatasetError("--limit must be at least 1")
        return QuestionSet(self.path, self.questions[:limit], self.sha256)


def _strings(value: Any, key: str, where: str, allow_empty: bool = True) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DatasetError(f"{where}: `{key}` must be a list of strings, got {json.dumps(value)[:80]}")
    cleaned = tuple(v.strip() for v in value)
    if any(not v for v in cleaned):
        raise DatasetError(f"{where}: `{key}` holds an empty string")
    if not allow_empty and not cleaned:
        raise DatasetError(f"{where}: `{key}` is empty; an answerable question needs at least one answer")
    return cleaned


def _text(row: dict[str, Any], key: str, where: str, required: bool) -> str:
    value = row.get(key, "")
    if not isinstance(value, str):
        raise DatasetError(f"{where}: `{key}` must be a string, got {json.dumps(value)[:80]}")
    value = value.strip() if key != "evidence" else value
    if required and not value.strip():
        raise DatasetError(f"{where}: `{key}` is missing or empty; answerable questions need it")
    return value


def parse_question(row: Any, where: str, line: int = 0) -> Question:
    """One validated Question from a decoded JSON value; `where` ("file:line") prefixes every error."""
    if not isinstance(row, dict):
        raise DatasetError(f"{where}: expected a JSON object, got {type(row).__name__}")
    missing = [key for key in REQUIRED if key not in row]
    if missing:
        raise DatasetError(f"{where}: missing {', '.join(f'`{k}`' for k in missing)} "
                           f"(required: {', '.join(REQUIRED)})")
    unknown = sorted(set(row) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise DatasetError(f"{where}: unknown key {', '.join(f'`{k}`' for k in unknown)} "
                           f"(known: {', '.join(REQUIRED + OPTIONAL)})")
    answerable = row.get("answerable", True)
    if not isinstance(answerable, bool):
        raise DatasetError(f"{where}: `answerable` must be true or false, got {json.dumps(answerable)}")
    identifier = row["id"]
    if not isinstance(identifier, str | int) or isinstance(identifier, bool) or not str(identifier).strip():
        raise DatasetError(f"{where}: `id` must be a non-empty string")
    question = _text(row, "question", where, required=True)
    kind = _text(row, "type", where, required=True)
    answers = _strings(row["answers"], "answers", where, allow_empty=not answerable)
    source = _text(row, "source", where, required=answerable)
    evidence = _text(row, "evidence", where, required=answerable)
    sources = _strings(row.get("sources", []), "sources", where)
    conflicting = _strings(row.get("conflicting_answers", []), "conflicting_answers", where)
    if not answerable and answers:
        raise DatasetError(f"{where}: an unanswerable question (`answerable: false`) must have no answers")
    return Question(str(identifier).strip(), question, answers, kind, source, evidence, answerable, sources,
                    conflicting, line)


def parse_lines(lines: Iterable[str], name: str = "<set>") -> tuple[Question, ...]:
    """Questions from JSONL lines; blank lines and `#` comment lines are skipped; ids must be unique."""
    questions: list[Question] = []
    first_line: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        where = f"{name}:{number}"
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        question = parse_question(row, where, number)
        if question.id in first_line:
            raise DatasetError(f"{where}: duplicate id {question.id!r} (first used on line {first_line[question.id]})")
        first_line[question.id] = number
        questions.append(question)
    if not questions:
        raise DatasetError(f"{name}: no questions (expected one JSON object per line)")
    return tuple(questions)


def load_set(path: str | Path | None = None) -> QuestionSet:
    """Read and validate a JSONL question set; the packaged seeds set when no path is given."""
    path = Path(path) if path is not None else DEFAULT_SET
    if not path.is_file():
        raise FileNotFoundError(f"no question set at {path}")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    return QuestionSet(path, parse_lines(text.splitlines(), str(path)), hashlib.sha256(data).hexdigest())


def quote_pattern(quote: str) -> re.Pattern[str]:
    """A regex for `quote` that tolerates any run of white space where the quote has white space."""
    return re.compile(r"\s+".join(re.escape(word) for word in quote.split()))


def evidence_spans(document: str, quote: str) -> list[tuple[int, int]]:
    """Every (start, end) where the quote occurs in the document, white space normalised."""
    if not quote.strip():
        return []
    return [(m.start(), m.end()) for m in quote_pattern(quote).finditer(document)]


def check_evidence(questions: Iterable[Question], corpus: str | Path) -> list[str]:
    """Problems with evidence quotes: a missing source file, or a quote not found verbatim in it.

    This reads the raw files (right for .txt and .md); an evaluation run instead checks quotes against
    the indexed document text, which also covers HTML and PDF.
    """
    corpus = Path(corpus)
    problems = []
    cache: dict[str, str | None] = {}
    for q in questions:
        if not q.answerable:
            continue
        if q.source not in cache:
            path = corpus / q.source
            cache[q.source] = path.read_text(encoding="utf-8") if path.is_file() else None
        text = cache[q.source]
        if text is None:
            problems.append(f"{q.id}: source {q.source!r} is not a file in {corpus}")
        elif q.evidence not in text:
            problems.append(f"{q.id}: evidence not found verbatim in {q.source}: {q.evidence[:80]!r}")
    return problems
