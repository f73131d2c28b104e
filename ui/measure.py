"""Measure, in Settings: time the chosen generator here and now on the example questions, so that its speed
on this machine is known before a reader waits on it. The answers' own timings are recorded (`ui.speeds`),
the model's load too when it was not loaded yet."""

from __future__ import annotations

import logging

from ui.errors import sentence
from ui.render import done, refused
from ui.settings import Assistants, model_name
from ui.speeds import seconds_text

log = logging.getLogger("citeqa.ui")
QUESTIONS = 3


def measure(assistants: Assistants, generator: str | None, questions: list[str]) -> str:
    """Answer up to QUESTIONS example questions with `generator`; returns the status line to show."""
    name = assistants.name(generator)
    if not questions:
        return refused(name, "there are no example questions to time it on yet: add documents first.")
    try:
        assistant = assistants.load(name)
        times = []
        for question in questions[:QUESTIONS]:
            answer = assistant.ask(question)
            if assistants.speeds is not None:
                assistants.speeds.record_answer(answer.generator or model_name(name), answer.timings)
            times.append(answer.timings.get("total", 0.0))
    except Exception as exc:
        log.exception("measuring %s failed", name)
        assistants.forget(name)
        return refused(name, sentence(exc))
    shown = ", ".join(seconds_text(t) for t in times)
    return done(name, f"timed on {len(times)} example question{'' if len(times) == 1 else 's'}: {shown}.")
