"""BM25 over the chunks: precomputed term weights, kept by term, so that a query adds up one column per term.

numpy alone holds them: scipy.sparse took 0.3 s to import at every start, for one column sum. On disk they
keep scipy's CSR `.npz` layout, so indexes written with it read the same.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np

_TOKEN = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    """a an and are as at be been being but by did do does for from had has have he her hers him his how i if in
    into is it its me my no nor not of on or our she so than that the their them then there these they this those
    to was we were what when where which who whom whose why will with would you your""".split()
)


def tokenize(text: str) -> list[str]:
    """Lower-cased words without stop words, with a light plural fold ("officers" -> "officer")."""
    words = []
    for word in _TOKEN.findall(text.lower()):
        if word in STOPWORDS:
            continue
        if len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
        words.append(word)
    return words


class KeywordIndex:
    """Okapi BM25 (k1=1.5, b=0.75). Rows follow `ids`, the chunk ids it was built from.

    The weights are a compressed sparse column matrix: the rows and weights of term `t` are
    `rows[starts[t]:starts[t + 1]]` and `weights[...]`, rows ascending."""

    def __init__(self, ids: np.ndarray, starts: np.ndarray, rows: np.ndarray, weights: np.ndarray,
                 vocabulary: dict[str, int]) -> None:
        self.ids = ids
        self.starts = starts
        self.rows = rows
        self.weights = weights
        self.vocabulary = vocabulary

    @classmethod
    def build(cls, ids: list[int], texts: list[str], k1: float = 1.5, b: float = 0.75) -> KeywordIndex:
        vocabulary: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        counts: list[int] = []
        lengths = np.zeros(len(texts), dtype=np.float32)
        for row, text in enumerate(texts):
            tokens = tokenize(text)
            lengths[row] = len(tokens)
            for term, count in Counter(tokens).items():
                rows.append(row)
                cols.append(vocabulary.setdefault(term, len(vocabulary)))
                counts.append(count)
        row_of, term_of = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        weights = np.asarray(counts, dtype=np.float32)
        if len(texts):
            df = np.bincount(term_of, minlength=len(vocabulary)).astype(np.float32)
            idf = np.log(1.0 + (len(texts) - df + 0.5) / (df + 0.5)).astype(np.float32)
            norm = k1 * (1.0 - b + b * lengths / max(float(lengths.mean()), 1e-9))
            weights = idf[term_of] * weights * (k1 + 1.0) / (weights + norm[row_of])
        return cls.from_entries(np.asarray(ids, dtype=np.int64), row_of, term_of, weights, vocabulary)

    @classmethod
    def from_entries(cls, ids: np.ndarray, row_of: np.ndarray, term_of: np.ndarray, weights: np.ndarray,
                     vocabulary: dict[str, int]) -> KeywordIndex:
        """From one (row, term, weight) entry per term of each row, in any order."""
        order = np.lexsort((row_of, term_of))
        starts = np.zeros(max(len(vocabulary), 1) + 1, dtype=np.int64)
        np.cumsum(np.bincount(term_of, minlength=len(starts) - 1), out=starts[1:])
        return cls(ids, starts, row_of[order], weights[order], vocabulary)

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(chunk id, score) for the k best chunks that share at least one term with the query."""
        columns = sorted({self.vocabulary[t] for t in tokenize(query) if t in self.vocabulary})
        if not columns or not len(self.ids):
            return []
        scores = np.zeros(len(self.ids), dtype=np.float32)
        for column in columns:  # in term order, in float32: the sums scipy's column sum gave, to the bit
            span = slice(self.starts[column], self.starts[column + 1])
            scores[self.rows[span]] += self.weights[span]
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > k:
            candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
        order = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in order]

    def save(self, folder: Path) -> None:
        """scipy's uncompressed CSR layout (`scipy.sparse.save_npz`): rows in order, terms ascending in each."""
        term_of = np.repeat(np.arange(len(self.starts) - 1), np.diff(self.starts))
        order = np.lexsort((term_of, self.rows))
        indptr = np.zeros(len(self.ids) + 1, dtype=np.int32)
        np.cumsum(np.bincount(self.rows, minlength=len(self.ids)), out=indptr[1:])
        np.savez(folder / "keyword.npz", indices=term_of[order].astype(np.int32), indptr=indptr,
                 format=np.bytes_(b"csr"), shape=np.asarray([len(self.ids), len(self.starts) - 1], dtype=np.int64),
                 data=self.weights[order].astype(np.float32))
        np.save(folder / "keyword_ids.npy", self.ids)
        (folder / "keyword_vocab.json").write_text(json.dumps(self.vocabulary), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        with np.load(folder / "keyword.npz", allow_pickle=False) as stored:
            if stored["format"].item() != b"csr":
                raise ValueError(f"keyword.npz holds a {stored['format'].item()!r} matrix, not csr")
            indptr, terms, weights = stored["indptr"], stored["indices"], stored["data"]
            rows = int(stored["shape"][0])
        ids = np.load(folder / "keyword_ids.npy")
        vocabulary = json.loads((folder / "keyword_vocab.json").read_text(encoding="utf-8"))
        row_of = np.repeat(np.arange(rows, dtype=np.int64), np.diff(indptr))
        return cls.from_entries(ids, row_of, terms.astype(np.int64), weights.astype(np.float32), vocabulary)
