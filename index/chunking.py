"""Split documents into chunks that fit the embedding model's window, with exact character offsets."""

from __future__ import annotations

import re
from collections.abc import Callable

from langchain_text_splitters import RecursiveCharacterTextSplitter

from index.documents import Chunk, Document

_NON_SPACE = re.compile(r"\S")
# Text with no separator at all (base64, minified code) would be split character by character, one token
# count per character: 200 KB took 13.5 s. Such runs are cut into windows instead.
LONG_RUN = re.compile(r"\S{2000,}")
# Paragraphs first, then sentences, then clauses, then words: a chunk breaks at the largest boundary that fits.
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]


class Chunker:
    """Token-counted recursive splitting; `length` counts tokens with the embedding model's own tokenizer."""

    def __init__(self, length: Callable[[str], int], chunk_tokens: int = 200, overlap_tokens: int = 40) -> None:
        if chunk_tokens <= 0:
            raise ValueError("chunk_tokens must be positive")
        if not 0 <= overlap_tokens < chunk_tokens:
            raise ValueError("overlap_tokens must be at least 0 and smaller than chunk_tokens")
        self.length = length
        self.chunk_tokens = chunk_tokens
        self.splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_tokens,
            chunk_overlap=overlap_tokens,
            length_function=length,
            separators=SEPARATORS,
            keep_separator="end",
            strip_whitespace=True,
        )

    def run(self, document: Document) -> list[Chunk]:
        text = document.text
        spans: list[tuple[int, int]] = []
        done = 0
        for run in LONG_RUN.finditer(text):
            spans += self._split(text, done, run.start())
            spans += self._windows(text, run.start(), run.end())
            done = run.end()
        spans += self._split(text, done, len(text))
        return [Chunk(document.source, text[start:end], start, end, n) for n, (start, end) in enumerate(spans)]

    def _split(self, text: str, begin: int, stop: int) -> list[tuple[int, int]]:
        """(start, end) of the recursive splitter's pieces of text[begin:stop], as offsets into text."""
        spans: list[tuple[int, int]] = []
        cursor = covered = begin  # covered: end of the previous chunk
        for piece in self.splitter.split_text(text[begin:stop]):
            # A piece's new text begins at the first non-space character after the previous chunk, so the
            # piece starts there or earlier (an overlap), never later. In repetitive text ("the the the") it
            # also occurs inside the previous chunk: take the last occurrence that starts by then.
            fresh = _NON_SPACE.search(text, covered, stop)
            limit = min(stop, (fresh.start() if fresh else stop) + len(piece))
            start = text.rfind(piece, cursor, limit)
            if start < 0:  # a piece of overlap only: it repeats text before the cursor
                start = text.rfind(piece, begin, limit)
            if start < 0:
                start = text.find(piece, cursor, stop)
            if start < 0:
                start = text.find(piece, begin, stop)
            if start < 0:
                raise AssertionError("chunk not found in its document; this is a bug in chunking")
            end = start + len(piece)
            spans.append((start, end))
            cursor = start + 1
            covered = max(covered, end)
        return spans

    def _windows(self, text: str, begin: int, stop: int) -> list[tuple[int, int]]:
        """Consecutive windows of text[begin:stop] (no separators inside) that fit the token budget.

        A token covers at least one character, so shrinking a window in proportion to its excess converges
        in a few counts per window."""
        spans: list[tuple[int, int]] = []
        start = begin
        width = 4 * self.chunk_tokens
        while start < stop:
            width = min(width, stop - start)
            while width > 1 and (tokens := self.length(text[start:start + width])) > self.chunk_tokens:
                width = max(1, min(width - 1, width * self.chunk_tokens // tokens))
            spans.append((start, start + width))
            start += width
            width = 4 * self.chunk_tokens
        return spans
