"""Process-wide settings: the offline environment, torch's and FAISS's threads, and the locks that keep threads
from changing them under each other.

Offline: citeqa never downloads a model, and Hugging Face's libraries read their settings from the environment
when they are first imported. Every entry point (the `citeqa` command, each `python -m` front end, each place
that imports them for the Python API) calls `go_offline` first; a value the user set wins.

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

import os
import sys
import threading
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
               "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TRANSFORMERS_VERBOSITY": "error"}
MODEL_LOADING = threading.RLock()
_THREAD_COUNT = threading.Lock()


def go_offline(environ: MutableMapping[str, str] = os.environ) -> None:
    """No model download and no Hugging Face progress bars or chatter, unless the user set otherwise."""
    for name, value in OFFLINE_ENV.items():
        environ.setdefault(name, value)


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
