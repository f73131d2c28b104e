"""Before the first question: the index exists, the models are loaded, the example questions are found."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("citeqa.ui")


def warm(parts: Any) -> None:
    """Index the seeds if the index is new, load the models (the generator's load is timed, for Settings),
    then start finding example questions. `parts` is the page's `ui.app.Parts`."""
    assistant = parts.assistant
    try:
        documents = assistant.documents()
        log.info("%d documents in %s", len(documents), assistant.index.root)
        assistant.index.embed_query("warm up")
        parts.assistants.load(None)
    except Exception as exc:  # reported again, with its fix, on the first question
        log.warning("could not prepare the models yet: %s", exc)
        return
    parts.examples.current()
