"""Before the first question: the index exists, the models are loaded, the example questions are found."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("citeqa.ui")


def warm(parts: Any) -> None:
    """Index the seeds if the index is new, start finding the example questions unless they are kept already
    (they are the first view: before the generator's load, which takes the cores for seconds), then load the
    models (the generator's load is timed, for Settings). `parts` is the page's `ui.app.Parts`."""
    assistant = parts.assistant
    try:
        documents = assistant.documents()
        log.info("%d documents in %s", len(documents), assistant.index.root)
        parts.examples.current()
        assistant.index.embed_query("warm up")
        parts.assistants.load(None)
    except Exception as exc:  # reported again, with its fix, on the first question
        log.warning("could not prepare the models yet: %s", exc)
