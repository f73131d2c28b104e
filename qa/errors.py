"""Errors a user can act on; the CLI prints them as one line."""

from __future__ import annotations


class QuestionError(ValueError):
    """The question cannot be asked as given (empty, too long)."""


class GeneratorError(RuntimeError):
    """A generator cannot be made: an unknown name, a model that will not load; the message says what to use."""
