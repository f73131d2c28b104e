"""BM25 over the chunks: a sparse matrix of precomputed term weights, so a query is one column sum."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
from scipy import sparse

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
    """Okapi BM25 (k1=1.5, b=0.75). Rows follow `ids`, the chunk ids it was built from."""

    def __init__(self, ids: np.ndarray, weights: sparse.csc_matrix, vocabulary: dict[str, int]) -> None:
        self.ids = ids
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
        shape = (len(texts), max(len(vocabulary), 1))
        tf = sparse.csr_matrix((np.asarray(counts, dtype=np.float32), (rows, cols)), shape=shape)
        if len(texts):
            df = np.bincount(np.asarray(cols, dtype=np.int64), minlength=shape[1]).astype(np.float32)
            idf = np.log(1.0 + (len(texts) - df + 0.5) / (df + 0.5)).astype(np.float32)
            norm = k1 * (1.0 - b + b * lengths / max(float(lengths.mean()), 1e-9))
            data = tf.data
            row_of = np.repeat(np.arange(len(texts)), np.diff(tf.indptr))
            tf.data = idf[tf.indices] * data * (k1 + 1.0) / (data + norm[row_of])
        return cls(np.asarray(ids, dtype=np.int64), tf.tocsc(), vocabulary)

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(chunk id, score) for the k best chunks that share at least one term with the query."""
        columns = sorted({self.vocabulary[t] for t in tokenize(query) if t in self.vocabulary})
        if not columns or not len(self.ids):
            return []
        scores = np.asarray(self.weights[:, columns].sum(axis=1)).ravel()
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > k:
            candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
        order = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in order]

    def save(self, folder: Path) -> None:
        sparse.save_npz(folder / "keyword.npz", self.weights.tocsr(), compressed=False)
        np.save(folder / "keyword_ids.npy", self.ids)
        (folder / "keyword_vocab.json").write_text(json.dumps(self.vocabulary), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        weights = sparse.load_npz(folder / "keyword.npz").tocsc()
        ids = np.load(folder / "keyword_ids.npy")
        vocabulary = json.loads((folder / "keyword_vocab.json").read_text(encoding="utf-8"))
        return cls(ids, weights, vocabulary)
