"""`citeqa eval --set halueval`: a question set and corpus built from HaluEval-QA dev rows.

The seeds set was written by the project and used to tune the answer checks, so it cannot show
over-fitting. This set is made of questions nobody on the project wrote:

- answerable questions, whose own passage (row `knowledge`) is indexed;
- unanswerable questions, whose passage is left out so that nothing indexed answers them;
- near-miss questions, whose passage is indexed with every sentence that states the answer (or most of its
  words) removed: the subject is in the documents, the answer is not. Only questions answered by a span of
  the passage qualify (not yes/no, not a choice the question names), with a sentence left after the removal;
- distractor passages from other rows, up to `passages` documents in all; one document a row.

The draw is deterministic (a fixed seed) and the folder is cached by a digest of its parameters, the
data file and the dev ids, so a second run reuses it. Built sets are ordinary JSONL sets plus a folder
of .txt documents, run by the ordinary runner.

The accidental-answer guard: a passage may answer an unanswerable question when it is a copy of the
question's own passage, or it mentions one of the question's key entities together with its right
answer (for a yes/no question, a key entity alone). Key entities are the quoted titles and capitalised
names of the question that occur in at most `COMMON` of all passages ("American" is not one; when all
are that common, the rarest). No such passage is indexed: an unanswerable candidate that an answerable
question's passage may answer, or that has no key entity to check, is skipped, and so is any distractor
that may answer a chosen unanswerable question.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eval import halueval
from eval.halueval import NAME, Row, SetSpec, answer_sentences
from eval.metrics import STOPWORDS, YES_NO, normalize_answer

BUILD = 2  # raise when the selection or the documents change, so that cached folders are rebuilt
COMMON = 0.01  # an entity named in more than 1% of all passages does not identify a question's subject
_QUOTED = re.compile(r'"([^"]+)"|“([^”]+)”')
_WORD = r"[A-Z0-9][\w'’.&-]*"
_NAME = re.compile(rf"{_WORD}(?:\s+(?:(?:of|the|de|del|da|di|du|la|le|von|van|for)\s+)*{_WORD})*")
_POSSESSIVE = re.compile(r"['’]s?$")
_LEADING = STOPWORDS | {"which", "who", "what", "when", "where", "how", "are", "is", "was", "were", "did", "does",
                        "in", "both", "between", "name"}
# Targets the issue sets for this set; the report shows each against the measured score.
TARGETS = {"abstention_recall": (">=", 0.90), "near_miss_abstained": (">=", 0.85), "false_abstention": ("<=", 0.10),
           "containment": (">=", 0.62), "grounding": (">=", 1.0)}


def digest(spec: SetSpec, dev_ids: Sequence[int], data: str = halueval.DATA_SHA256) -> str:
    """Names the cached folder: these parameters on this data (its sha256) with these dev ids, by this builder."""
    key = json.dumps({"spec": asdict(spec), "build": BUILD, "data": data, "dev_ids": list(dev_ids)}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Passage:
    """A row's document text and its normalised form, padded so that `" x " in padded` is a whole-token test."""

    row: Row
    text: str
    padded: str

    @classmethod
    def of(cls, row: Row) -> Passage:
        text = halueval.restore_paragraphs(row.knowledge)
        return cls(row, text, f" {normalize_answer(text)} ")

    def mentions(self, phrase: str) -> bool:
        """`phrase` is already normalised."""
        return bool(phrase) and f" {phrase} " in self.padded


@dataclass(frozen=True, slots=True)
class Target:
    """An unanswerable question, as the guard sees it."""

    passage: Passage
    answer: str  # normalised right answer
    entities: tuple[str, ...]  # normalised key entities

    def answered_by(self, other: Passage) -> bool:
        if other.padded == self.passage.padded:
            return True
        named = any(other.mentions(e) for e in self.entities)
        return named and (self.answer in YES_NO or other.mentions(self.answer))


def without_answer(row: Row) -> str:
    """The row's passage with every sentence that states its answer removed ("" when nothing is left)."""
    text = halueval.restore_paragraphs(row.knowledge)
    for sentence in answer_sentences(row):
        text = text.replace(sentence, "")
    paragraphs = [" ".join(p.split()) for p in text.split("\n\n")]
    return "\n\n".join(p for p in paragraphs if len(p.split()) >= 5)


@dataclass(frozen=True, slots=True)
class Selection:
    answerable: tuple[Passage, ...]
    unanswerable: tuple[Passage, ...]
    distractors: tuple[Passage, ...]
    order: tuple[int, ...]  # row numbers of the questions, in set order
    skipped_unanswerable: int  # candidates an answerable question's passage may answer, or with no key entity
    guarded: int  # distractors left out because they may answer an unanswerable question
    duplicates: int  # candidates left out as copies of a chosen passage
    entities: dict[int, tuple[str, ...]] = field(default_factory=dict)  # key entities of each unanswerable row
    near_miss: tuple[Passage, ...] = ()  # their passages without the answer: indexed, and never answering


def name_candidates(question: str) -> list[str]:
    """Quoted titles and capitalised name runs of a question, without leading question and function words."""
    found = [a or b for a, b in _QUOTED.findall(question)]
    for match in _NAME.finditer(_QUOTED.sub(" ", question)):
        words = match.group().split()
        while words and words[0].lower().strip("'’") in _LEADING:
            words.pop(0)
        if words:
            found.append(_POSSESSIVE.sub("", " ".join(words)))  # "Sara Carbonero's husband"
    return found


def key_entities(question: str, frequency: Callable[[str], float], common: float = COMMON) -> tuple[str, ...]:
    """The question's normalised names that identify its subject: those in no more than `common` of all
    passages (`frequency` gives the share), or the rarest one when every name is common."""
    names = list(dict.fromkeys(n for n in (normalize_answer(c) for c in name_candidates(question)) if n))
    if not names:
        return ()
    shares = {n: frequency(n) for n in names}
    kept = tuple(n for n in names if shares[n] <= common)
    return kept or (min(names, key=lambda n: shares[n]),)


def question_type(row: Row) -> str:
    """yes_no, choice (the answer is one of the options the question names) or span."""
    answer = normalize_answer(row.right_answer)
    if answer in YES_NO:
        return "yes_no"
    if answer and f" {answer} " in f" {normalize_answer(row.question)} ":
        return "choice"
    return "span"


def select(rows: Sequence[Row], dev_ids: Sequence[int], spec: SetSpec, common: float = COMMON) -> Selection:
    """The deterministic draw: questions from the dev rows of `spec.half`, distractors from any row."""
    rng = random.Random(spec.seed)
    pool = list(halueval.pick_half(dev_ids, spec.half))
    rng.shuffle(pool)
    passages: dict[int, Passage] = {}

    def passage(number: int) -> Passage:
        if number not in passages:
            passages[number] = Passage.of(rows[number])
        return passages[number]

    usable = [n for n in pool if rows[n].question.strip() and rows[n].right_answer.strip()
              and normalize_answer(rows[n].right_answer)]
    taken: set[str] = set()
    duplicates = 0
    answerable: list[Passage] = []
    used = 0
    while used < len(usable) and len(answerable) < spec.answerable:
        p = passage(usable[used])
        used += 1
        if p.padded in taken:
            duplicates += 1
            continue
        taken.add(p.padded)
        answerable.append(p)
    everything = [passage(n) for n in range(len(rows))] if spec.unanswerable or spec.near_miss else []
    shares: dict[str, float] = {}

    def share(name: str) -> float:
        if name not in shares:
            shares[name] = sum(p.mentions(name) for p in everything) / max(1, len(everything))
        return shares[name]

    unanswerable: list[Target] = []
    skipped = 0
    for number in usable[used:]:
        if len(unanswerable) == spec.unanswerable:
            break
        p = passage(number)
        target = Target(p, normalize_answer(p.row.right_answer), key_entities(p.row.question, share, common))
        if p.padded in taken:
            duplicates += 1
        elif not target.entities or any(target.answered_by(a) for a in answerable):
            skipped += 1  # no key entity: the guard could not tell which passages answer it
        else:
            taken.add(p.padded)
            unanswerable.append(target)
    near: list[Target] = []
    for number in usable[used:]:
        if len(near) == spec.near_miss:
            break
        p = passage(number)
        if number in {t.passage.row.number for t in unanswerable} or question_type(p.row) != "span":
            continue
        remainder = without_answer(p.row)
        target = Target(p, normalize_answer(p.row.right_answer), key_entities(p.row.question, share, common))
        if not remainder or p.padded in taken:
            continue
        if not target.entities or any(target.answered_by(a) for a in answerable):
            skipped += 1
            continue
        taken.add(p.padded)
        near.append(Target(Passage.of(Row(number, remainder, p.row.question, p.row.right_answer)), target.answer,
                           target.entities))
    if len(answerable) < spec.answerable or len(unanswerable) < spec.unanswerable or len(near) < spec.near_miss:
        raise ValueError(f"the {spec.half} dev rows give only {len(answerable)} answerable, {len(unanswerable)} "
                         f"unanswerable and {len(near)} near-miss questions; ask for fewer")
    unanswerable_targets = list(unanswerable)
    unanswerable = unanswerable + [Target(passage(t.passage.row.number), t.answer, t.entities) for t in near]
    chosen = {p.row.number for p in answerable} | {t.passage.row.number for t in unanswerable}
    others = [n for n in range(len(rows)) if n not in chosen]
    rng.shuffle(others)
    distractors: list[Passage] = []
    guarded = 0
    for number in others:
        if len(answerable) + len(near) + len(distractors) == spec.passages:
            break
        p = passage(number)
        if p.padded in taken:
            duplicates += 1
        elif any(t.answered_by(p) for t in unanswerable):
            guarded += 1
        else:
            taken.add(p.padded)
            distractors.append(p)
    if len(answerable) + len(near) + len(distractors) < spec.passages:
        raise ValueError(f"only {len(answerable) + len(near) + len(distractors)} distinct passages are left for "
                         f"--passages {spec.passages}; ask for fewer")
    order = [p.row.number for p in answerable] + [t.passage.row.number for t in unanswerable]
    rng.shuffle(order)
    return Selection(tuple(answerable), tuple(t.passage for t in unanswerable_targets), tuple(distractors),
                     tuple(order), skipped, guarded, duplicates,
                     {t.passage.row.number: t.entities for t in unanswerable}, tuple(t.passage for t in near))


def document_name(number: int) -> str:
    return f"hq{number:05d}.txt"


def set_lines(selection: Selection) -> list[str]:
    """The JSONL lines of the question set, in `selection.order`; the evidence is the whole gold passage."""
    answerable = {p.row.number: p for p in selection.answerable}
    unanswerable = {p.row.number: p for p in selection.unanswerable}
    near = {p.row.number: p for p in selection.near_miss}
    lines = []
    for number in selection.order:
        if number in answerable:
            p = answerable[number]
            item = {"id": f"hq{number:05d}", "question": p.row.question.strip(),
                    "answers": [p.row.right_answer.strip()], "type": question_type(p.row),
                    "source": document_name(number), "evidence": p.text, "answerable": True}
        elif number in near:
            item = {"id": f"hq{number:05d}", "question": near[number].row.question.strip(), "answers": [],
                    "type": "near_miss", "source": document_name(number), "answerable": False}
        else:
            item = {"id": f"hq{number:05d}", "question": unanswerable[number].row.question.strip(), "answers": [],
                    "type": "unanswerable", "answerable": False}
        lines.append(json.dumps(item, ensure_ascii=False))
    return lines


@dataclass(frozen=True, slots=True)
class BuiltSet:
    folder: Path
    documents: Path  # the folder to index
    set_path: Path
    manifest: dict[str, Any]

    def recipe(self) -> dict[str, Any]:
        """For the report: how the set was made, what the guard left out, and the targets."""
        m = self.manifest
        half = m["spec"]["half"]
        rows = "all dev rows" if half == "both" else f"the {half} half of the dev rows"
        types = ", ".join(f"{n} {kind.replace('_', '/')}" for kind, n in m["types"].items()
                          if kind not in ("unanswerable", "near_miss"))
        guard = m["guard"]
        notes = [
            f"- {m['answerable']} answerable questions ({types}), {m['unanswerable']} unanswerable ones and "
            f"{m.get('near_miss', 0)} near-miss ones, drawn "
            f"with seed {m['spec']['seed']} from {rows} ({m['pool']} rows; tune = even row numbers, check = odd) "
            f"of HaluEval-QA (`{halueval.DATA_FILE}`, {m['data']}).",
            f"- {m['documents']} passages indexed, one document a row: the answerable questions' own passages and "
            f"{m['distractors']} distractors from other rows. Unanswerable questions have their own passage left out; "
            "near-miss questions have theirs indexed without the sentences that state the answer.",
            f"- The guard against accidental answers left out {guard['distractors_left_out']} distractors that name "
            "a key entity of an unanswerable question with its answer (for yes/no questions, a key entity alone), "
            f"and skipped {guard['unanswerable_skipped']} unanswerable candidates that an indexed passage may answer "
            f"or that name no key entity; {guard['duplicates_left_out']} "
            f"{'copy' if guard['duplicates_left_out'] == 1 else 'copies'} of a chosen passage "
            f"{'was' if guard['duplicates_left_out'] == 1 else 'were'} left out.",
            "- The evidence of a question is its whole passage: retrieval recall@k is the share of answerable "
            "questions with a passage of their own document among the top k.",
            f"- Paragraph breaks were restored at {m['paragraph_breaks']} places where the data joins two "
            "paragraphs with no space.",
        ]
        return {"name": NAME, "flags": m["flags"], "folder": str(self.folder), "notes": notes,
                "targets": {k: list(v) for k, v in TARGETS.items()}}


def build(out: Path, spec: SetSpec, log: Callable[[str], None] = lambda _: None,
          rows: Sequence[Row] | None = None, dev_ids: Sequence[int] | None = None) -> BuiltSet:
    """The set's folder under `out` (documents/, set.jsonl, manifest.json), built once and then reused.

    `rows` and `dev_ids` default to the installed wheel's rows and the packaged dev ids (tests pass their own).
    """
    dev_ids = tuple(dev_ids) if dev_ids is not None else halueval.read_dev_ids()
    data = halueval.DATA_SHA256 if rows is None else hashlib.sha256(
        json.dumps([asdict(r) for r in rows]).encode()).hexdigest()
    folder = Path(out) / f"{NAME}-{digest(spec, dev_ids, data)}"
    manifest_path = folder / "manifest.json"
    if (folder / ".complete").is_file():
        log(f"{NAME} set: reusing {folder}")
        return BuiltSet(folder, folder / "documents", folder / "set.jsonl",
                        json.loads(manifest_path.read_text(encoding="utf-8")))
    rows = tuple(rows) if rows is not None else halueval.load_rows()
    if dev_ids and max(dev_ids) >= len(rows):
        raise halueval.HaluEvalError(f"dev row {max(dev_ids)} is past the {len(rows)} rows of the data")
    log(f"{NAME} set: building {folder} ({spec.flags()})")
    selection = select(rows, dev_ids, spec)
    indexed = selection.answerable + selection.near_miss + selection.distractors
    lines = set_lines(selection)
    types: dict[str, int] = {}
    for line in lines:
        kind = json.loads(line)["type"]
        types[kind] = types.get(kind, 0) + 1
    manifest = {
        "spec": asdict(spec), "flags": spec.flags(), "build": BUILD, "data": f"{halueval.PACKAGE}=={halueval.VERSION}",
        "data_sha256": halueval.DATA_SHA256, "pool": len(halueval.pick_half(dev_ids, spec.half)),
        "answerable": len(selection.answerable), "unanswerable": len(selection.unanswerable),
        "near_miss": len(selection.near_miss),
        "documents": len(indexed), "distractors": len(selection.distractors), "types": types,
        "paragraph_breaks": sum(p.text.count("\n\n") for p in indexed),
        "guard": {"common_entity_share": COMMON, "unanswerable_skipped": selection.skipped_unanswerable,
                  "distractors_left_out": selection.guarded, "duplicates_left_out": selection.duplicates},
        "unanswerable_rows": [{"row": p.row.number, "question": p.row.question.strip(),
                               "right_answer": p.row.right_answer,
                               "key_entities": list(selection.entities[p.row.number])} for p in selection.unanswerable],
    }
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".{folder.name}.{uuid.uuid4().hex[:8]}"
    try:
        (staging / "documents").mkdir(parents=True)
        for p in indexed:
            (staging / "documents" / document_name(p.row.number)).write_text(p.text + "\n", encoding="utf-8")
        header = f"# HaluEval-QA dev questions: citeqa eval {spec.flags()}\n"
        (staging / "set.jsonl").write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
        (staging / ".complete").write_text("", encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BuiltSet(folder, folder / "documents", folder / "set.jsonl", manifest)
