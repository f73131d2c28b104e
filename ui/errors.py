"""Errors as a reader sees them: one sentence, never the name of an exception class."""

from __future__ import annotations


def sentence(error: BaseException | str) -> str:
    """"unknown generator 'x': use …" -> "Unknown generator 'x': use …."; a KeyError loses its quotes."""
    if isinstance(error, KeyError) and error.args:
        text = str(error.args[0])
    else:
        text = str(error)
    text = " ".join(text.split()) or "Something went wrong, with no message to say what"
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
