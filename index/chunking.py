"""Split documents into chunks that fit the embedding model's window, with exact character offsets."""

from __future__ import annotations

import re
from collections.abc import Callable

from langchain_text_splitters import RecursiveCharacterTextSplitter

from index.documents import Chunk, Document

_NON_SPACE = re.compile(r"\S")
# Paragraphs first, then sentences, then clauses, then words: a chunk breaks at the largest boundary that fits.
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]


class Chunker:
    """Token-counted recursive splitting; `length` counts tokens with the embedding model's own tokenizer."""

    def __init__(self, length: Callable[[str], int], chunk_tokens: int = 200, overlap_tokens: int = 40) -> None:
        if chunk_tokens <= 0:
            raise ValueError("chunk_tokens must be positive")
        if not 0 <= overlap_tokens < chunk_tokens:
            raise ValueError("overlap_tokens must be at least 0 and smaller than chunk_tokens")
        self.splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_tokens,
            chunk_overlap=overlap_tokens,
            length_function=length,
            separators=SEPARATORS,
            keep_separator="end",
            strip_whitespace=True,
        )

    def run(self, document: Document) -> list[Chunk]:
        chunks: list[Chunk] = []
        cursor = 0
        covered = 0  # end of the previous chunk
        text = document.text
        for piece in self.splitter.split_text(text):
            # A piece's new text begins at the first non-space character after the previous chunk, so the
            # piece starts there or earlier (an overlap), never later. In repetitive text ("the the the") it
            # also occurs inside the previous chunk: take the last occurrence that starts by then.
            fresh = _NON_SPACE.search(text, covered)
            limit = (fresh.start() if fresh else len(text)) + len(piece)
            start = text.rfind(piece, cursor, limit)
            if start < 0:  # a piece of overlap only: it repeats text before the cursor
                start = text.rfind(piece, 0, limit)
            if start < 0:
                start = text.find(piece, cursor)
            if start < 0:
                start = text.find(piece)
            if start < 0:
                raise AssertionError(f"chunk not found in {document.source}; this is a bug in chunking")
            end = start + len(piece)
            chunks.append(Chunk(document.source, piece, start, end, len(chunks)))
            cursor = start + 1
            covered = max(covered, end)
        return chunks
