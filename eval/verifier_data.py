"""Pairs the verifier learns from and is measured on, built from HaluEval-QA rows (HotpotQA questions).

One positive a row: the right answer with the sentence that states it (the sentence before it as context).
Negatives, labelled by what they teach (the `group` of each pair):

- `hallucinated`: HaluEval's plausible wrong answer, with the sentence that states the right one;
- `same_sentence`: another name, place, number or date of that very sentence ("Streatham Hill" for a hospital);
- `same_passage`: another name, number or date of another sentence of the passage;
- `near_miss`: the right answer with a sentence of the passage that does not state it (what is left when every
  sentence that states it is removed);
- `question_words`: one of the question's own names, restated from a sentence that holds it;
- `restated`: a stretch of the question's own words that a sentence holds ("his gross misconduct hearing" for
  "What was the outcome of his gross misconduct hearing?");
- `role`: a description ("the director") where the question asks who;
- `other_row`: another row's sentence and answer, about something else.

Rows whose answer is yes or no are left out: no sentence states "yes".
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from eval.halueval import Row, Sentence, holds, sentences, words_of
from eval.metrics import YES_NO, normalize_answer
from qa.analysis import proper_names
from qa.lexicon import WHO
from qa.matching import terms
from qa.spans import candidate_spans
from qa.verifier import Pair

GROUPS = ("right", "hallucinated", "same_sentence", "same_passage", "near_miss", "question_words", "restated", "role",
          "other_row")
RESTATED_WORDS = (2, 6)  # how long a restated stretch of the question is, in words
_ROLE = re.compile(r"\b(?:the|a|an)\s+((?:[a-z][a-z-]+\s+){0,2}[a-z][a-z-]+)")


@dataclass(frozen=True, slots=True)
class Labelled:
    pair: Pair
    label: int
    group: str
    row: int


def _other(span_text: str, answer: str, question: str) -> bool:
    """A span that is neither the answer (nor part of it) nor words of the question."""
    words = words_of(span_text)
    return bool(words) and not (words & words_of(answer)) and not words <= words_of(question)


def _short(hallucinated: str, question: str, answer: str) -> str:
    """HaluEval's wrong answer is often a sentence: its first name, date or number the question does not hold."""
    if len(hallucinated.split()) <= 6:
        return hallucinated.strip().rstrip(".")
    spans = [s.text for s in candidate_spans(hallucinated) if _other(s.text, answer, question)]
    return spans[0] if spans else ""


def restated(question: str, answer: str, every: Sequence[Sentence]) -> list[tuple[str, Sentence]]:
    """Stretches of the question's words (not its first, the question word) that a sentence holds as written,
    the longest for each sentence, when they hold two content terms or more and none of the answer's words."""
    words = question.rstrip("?").split()[1:]
    found = []
    for sentence in every:
        lowered = f" {sentence.text.lower()} "
        best = ""
        for size in range(RESTATED_WORDS[1], RESTATED_WORDS[0] - 1, -1):
            for start in range(len(words) - size + 1):
                stretch = " ".join(words[start:start + size]).strip(",;:")
                if f" {stretch.lower()} " in lowered and not words_of(stretch) & words_of(answer):
                    best = stretch
                    break
            if best:
                break
        if best and len(terms(best)) >= RESTATED_WORDS[0]:
            found.append((best, sentence))
    return found


def pairs_of(row: Row, rng: random.Random, other: Row | None = None, per_group: int = 1) -> Iterator[Labelled]:
    """The labelled pairs of one row (none for a yes/no answer or one no sentence holds)."""
    question, answer = row.question.strip(), row.right_answer.strip()
    if normalize_answer(answer) in YES_NO:
        return
    every = sentences(row)
    stating = [s for s in every if holds(s.text, answer)]
    if not stating:
        return
    asked = words_of(question)
    best = max(stating, key=lambda s: len(words_of(s.text) & asked))
    rest = [s for s in every if not holds(s.text, answer)]

    def labelled(candidate: str, sentence: Sentence, label: int, group: str) -> Labelled:
        return Labelled(Pair(question, candidate, sentence.text, sentence.before), label, group, row.number)

    def some(items: Sequence, count: int = per_group) -> list:
        return rng.sample(list(items), min(count, len(items)))

    yield labelled(answer, best, 1, "right")
    wrong = _short(row.hallucinated_answer, question, answer)
    if wrong and _other(wrong, answer, question):
        yield labelled(wrong, best, 0, "hallucinated")
    for span in some([s.text for s in candidate_spans(best.text) if _other(s.text, answer, question)]):
        yield labelled(span, best, 0, "same_sentence")
    elsewhere = [(s.text, sentence) for sentence in rest for s in candidate_spans(sentence.text)
                 if _other(s.text, answer, question)]
    for span, sentence in some(elsewhere):
        yield labelled(span, sentence, 0, "same_passage")
    for sentence in some(rest, 1):
        yield labelled(answer, sentence, 0, "near_miss")
    named = [(name, s) for name in proper_names(question) for s in every if name in s.text]
    for name, sentence in some(named, 1):
        if not words_of(name) & words_of(answer):
            yield labelled(name, sentence, 0, "question_words")
    for stretch, sentence in some(restated(question, answer, every), 1):
        yield labelled(stretch, sentence, 0, "restated")
    if WHO.match(question) and proper_names(answer):
        roles = [m.group() for m in _ROLE.finditer(best.text) if not words_of(m.group(1)) <= asked]
        for role in some(roles, 1):
            yield labelled(role, best, 0, "role")
    if other is not None:
        theirs = [s for s in sentences(other) if holds(s.text, other.right_answer)]
        if theirs and normalize_answer(other.right_answer) not in YES_NO:
            yield labelled(other.right_answer.strip(), theirs[0], 0, "other_row")


def build(rows: Sequence[Row], numbers: Sequence[int], seed: int = 7, other_rows: int = 3) -> list[Labelled]:
    """Every labelled pair of the rows `numbers`, in a fixed shuffled order; one row in `other_rows` gets an
    `other_row` negative (the easy kind, which retrieval scores already tell apart)."""
    rng = random.Random(seed)
    chosen = [rows[n] for n in numbers]
    out: list[Labelled] = []
    for i, row in enumerate(chosen):
        other = chosen[(i + 1) % len(chosen)] if len(chosen) > 1 and i % other_rows == 0 else None
        out.extend(pairs_of(row, rng, other))
    rng.shuffle(out)
    return out
