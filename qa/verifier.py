"""The verifier: P(this sentence states that this candidate answers this question).

Retrieval scores, term coverage and the generator's own probabilities all say "these passages are about the
question"; none says "this sentence states this answer to it". A near-miss question (its subject in the
documents, its answer not) then gets another name, place or date of a relevant sentence, cited. The verifier
reads the question, the candidate and the sentence together, with the candidate marked where the sentence
holds it (« »), and the end of the sentence before it for its pronouns: a cross-encoder fine-tuned from the
packaged all-MiniLM-L6-v2 on HotpotQA rows set apart for training (`make verifier`, eval.train_verifier).
Its weights ship in `qa/data/verifier/`, run on CTranslate2 int8 (23 MB) with a logistic head in numpy, and
say how and when they were trained (`head.json`). Scoring ten pairs takes a few milliseconds.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.compute import CPU, choose, load_failure
from qa.lexicon import FILLER
from qa.matching import same_term

FOLDER = Path(__file__).resolve().parent / "data" / "verifier"
MAX_TOKENS = 160
CONTEXT_WORDS = 20  # of the sentence before: enough for who "he" is, short enough to keep pairs fast
# Candidates it was trained on are short answers (names, dates, numbers, a few words): a longer one, a whole
# sentence quoted as the answer, is not what it reads.
MAX_CANDIDATE_WORDS = 12
OPEN, CLOSE = "«", "»"
_WORD = re.compile(r"[\w’'.%£$€-]+")


class VerifierError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Pair:
    """What the verifier reads: does `sentence` (after `before`) state that `candidate` answers `question`?"""

    question: str
    candidate: str
    sentence: str
    before: str = ""


def _norm(word: str) -> str:
    return word.lower().strip(".’'-,")


def mark(sentence: str, candidate: str) -> str:
    """The sentence with the candidate's words marked « … » where it holds them: the shortest stretch holding the
    most of them, no longer than twice the candidate. Filler ("years old") counts only when it is all there is.
    Unmarked when the sentence holds none of them, which is itself what the verifier learns from."""
    every = [_norm(w) for w in _WORD.findall(candidate)]
    wanted = {w for w in every if w and w not in FILLER} or {w for w in every if w}
    if not wanted:
        return sentence
    words = list(_WORD.finditer(sentence))
    hits = [i for i, w in enumerate(words) if any(_norm(w.group()) == x or same_term(_norm(w.group()), x)
                                                  for x in wanted)]
    if not hits:
        return sentence
    longest = max(3, 2 * len(every))
    best, span = (0, 0, 0), (hits[0], hits[0])
    for a in range(len(hits)):
        for b in range(a, len(hits)):
            if hits[b] - hits[a] + 1 > longest:
                break
            held = len({_norm(words[i].group()) for i in hits[a:b + 1]})
            key = (held, -(hits[b] - hits[a]), -hits[a])
            if key > best:
                best, span = key, (hits[a], hits[b])
    start, end = words[span[0]].start(), words[span[1]].end()
    return f"{sentence[:start]}{OPEN}{sentence[start:end]}{CLOSE}{sentence[end:]}"


def second_text(pair: Pair) -> str:
    """The second segment of the model's input: the candidate, then the (context and) marked sentence."""
    before = " ".join(pair.before.split()[-CONTEXT_WORDS:])
    return f"{pair.candidate} [SEP] {before + ' ' if before else ''}{mark(pair.sentence, pair.candidate)}"


@dataclass(frozen=True, slots=True)
class Head:
    """A linear layer over the [CLS] vector, then Platt scaling fitted on the tune half of the dev rows."""

    weight: np.ndarray
    bias: float
    scale: float = 1.0
    shift: float = 0.0
    trained: dict | None = None

    def probability(self, cls: np.ndarray) -> np.ndarray:
        logits = cls @ self.weight + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(self.scale * logits + self.shift, -40, 40)))

    @classmethod
    def read(cls, path: Path) -> Head:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(np.asarray(data["weight"], dtype=np.float32), float(data["bias"]), float(data.get("scale", 1.0)),
                   float(data.get("shift", 0.0)), data.get("trained"))


class Verifier:
    """Scores pairs on the shipped cross-encoder. One model per process serves many threads."""

    def __init__(self, folder: Path = FOLDER, compute_type: str = "auto", threads: int = 1,
                 cpu: CPU | None = None) -> None:
        from tokenizers import Tokenizer

        self.folder = Path(folder)
        if not (self.folder / "model.bin").is_file() or not (self.folder / "head.json").is_file():
            raise VerifierError(f"the verifier's weights are missing from {self.folder}: reinstall citeqa, or "
                                "retrain them with `make verifier`")
        self.compute_type = choose("verifier", compute_type, cpu)
        self.head = Head.read(self.folder / "head.json")
        self.tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        # The longer of the two segments is cut first: the sentence, unless a question alone fills the window.
        self.tokenizer.enable_truncation(MAX_TOKENS, strategy="longest_first")
        self.tokenizer.no_padding()
        self.lock = threading.Lock()
        import ctranslate2

        try:
            self.model = ctranslate2.Encoder(str(self.folder), device="cpu", compute_type=self.compute_type,
                                             intra_threads=threads)
        except (RuntimeError, ValueError) as exc:
            raise VerifierError(load_failure("the verifier", self.compute_type, exc, cpu)) from None

    def cls_vectors(self, pairs: Sequence[Pair]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch([(p.question, second_text(p)) for p in pairs])
        tokens = [e.tokens for e in encodings]
        types = [e.type_ids for e in encodings]
        with self.lock:
            output = self.model.forward_batch(tokens, token_type_ids=types)
        return np.asarray(output.last_hidden_state, dtype=np.float32)[:, 0, :]

    def score(self, pairs: Sequence[Pair]) -> np.ndarray:
        """P(states) of each pair, in order."""
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        return self.head.probability(self.cls_vectors(pairs))
