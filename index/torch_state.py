"""Torch settings that are process-wide, and the locks that keep threads from changing them under each other.

Model loading: `from_pretrained(dtype=...)` sets torch's default dtype while it builds a model, and
transformers' lazy imports are not thread-safe. Two models loading at once in two threads (the chat warming
its generator while an upload loads the embedder) can come out with mixed dtypes ("mat1 and mat2 must have
the same dtype") or fail to import. Every model load in citeqa holds MODEL_LOADING.

Thread count: a one-sentence query runs no faster on two intra-op threads, and when another process (or
the generator) keeps the cores busy, two threads wait on each other: on 2 busy cores a query took p90
480 ms on two threads and 21 ms on one. Queries are therefore embedded on one thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

MODEL_LOADING = threading.RLock()
_THREAD_COUNT = threading.Lock()


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run the block on `count` intra-op threads (None: leave torch as it is), then restore the setting."""
    if not count:
        yield
        return
    import torch

    with _THREAD_COUNT:
        before = torch.get_num_threads()
        torch.set_num_threads(count)
        try:
            yield
        finally:
            torch.set_num_threads(before)
