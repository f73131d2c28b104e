"""Before the first question: the index exists, the models are loaded, the example questions are found."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("citeqa.ui")


def warm(assistant: Any, examples: Any = None) -> None:
    """Index the seeds if the index is new, load the models, then start finding example questions."""
    try:
        documents = assistant.documents()
        log.info("%d documents in %s", len(documents), assistant.index.root)
        assistant.index.embed_query("warm up")
        assistant.generator  # noqa: B018 - loads the model
    except Exception as exc:  # reported again, with its fix, on the first question
        log.warning("could not prepare the models yet: %s", exc)
        return
    if examples is not None:
        examples.current()
