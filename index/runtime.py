"""Process-wide settings of torch and FAISS, and the locks that keep threads from changing them under each other.

Model loading: `from_pretrained(dtype=...)` sets torch's default dtype while it builds a model, and
transformers' lazy imports are not thread-safe. Two models loading at once in two threads (the chat warming
its generator while an upload loads the embedder) can come out with mixed dtypes ("mat1 and mat2 must have
the same dtype") or fail to import. Every model load in citeqa holds MODEL_LOADING.

Thread counts: one query gains little from two threads, and when another process (or the generator) keeps
the cores busy, two threads wait on each other. On 2 busy cores, embedding a query took p90 480 ms on two
threads and 21 ms on one, and a flat FAISS search over 63k vectors 38 ms against 9.5 ms. Queries are
therefore embedded and searched on one thread.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

MODEL_LOADING = threading.RLock()
_THREAD_COUNT = threading.Lock()


@contextmanager
def query_threads(count: int | None) -> Iterator[None]:
    """Run the block on `count` torch and FAISS threads (None: leave both as they are), then restore them.

    torch is only touched when something has imported it already: a process answering on CTranslate2 never
    needs it, and importing it would cost 1.5 s.
    """
    if not count:
        yield
        return
    import faiss

    torch = sys.modules.get("torch")
    with _THREAD_COUNT:
        before = torch.get_num_threads() if torch else None, faiss.omp_get_max_threads()
        if torch:
            torch.set_num_threads(count)
        faiss.omp_set_num_threads(count)
        try:
            yield
        finally:
            if torch:
                torch.set_num_threads(before[0])
            faiss.omp_set_num_threads(before[1])
