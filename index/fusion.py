"""Reciprocal rank fusion: rank-based, so dense cosine and BM25 scores need no common scale."""

from __future__ import annotations

from collections.abc import Sequence


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = 60,
                           weights: Sequence[float] | None = None) -> dict[int, float]:
    """Fused score per id: the sum over rankings of weight / (k + rank), ranks starting at 1.

    Weights let the more reliable ranking lead (weighted RRF); all 1.0 when not given.
    """
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(rankings)} rankings but {len(weights)} weights")
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return scores
