"""One model load at a time in a process.

`from_pretrained(dtype=...)` sets torch's process-wide default dtype while it builds a model, and
transformers' lazy imports are not thread-safe. Two models loading at once in two threads (the chat
warming its generator while an upload loads the embedder) can come out with mixed dtypes ("mat1 and mat2
must have the same dtype") or fail to import. Every model load in citeqa holds this lock.
"""

from __future__ import annotations

import threading

MODEL_LOADING = threading.RLock()
