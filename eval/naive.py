"""The naive RAG baseline that `citeqa bench` and the long-answer eval answer with beside citeqa, on the same
models and engine.

Flat FAISS over 800-character chunks (LangChain's RecursiveCharacterTextSplitter, counting characters),
the top 5 chunks stuffed into one chat prompt, greedy decoding, no checks: the pipeline most RAG tutorials
build. It embeds with citeqa's embedder and generates with citeqa's loaded generator
(`generator.stream_messages`), so the difference is the pipeline, not the models.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SYSTEM = "Answer the question using only the context below. Keep the answer short."
FULL = "Answer the question fully using only the context below."  # for why, how and summary questions
CHUNK_CHARS = 800
OVERLAP_CHARS = 100
TOP_K = 5


@dataclass(frozen=True, slots=True)
class NaiveAnswer:
    text: str
    timings: dict[str, float]  # retrieve, first_token, total (seconds)


class NaiveRAG:
    """`build()` once, then `answer(generator, question)` with any loaded language-model generator."""

    def __init__(self, embedder, folder: Path, max_documents: int | None = None) -> None:
        self.embedder = embedder
        self.folder = folder
        self.max_documents = max_documents
        self.chunks: list[str] = []
        self.index = None
        self.facts: dict[str, float | int] | None = None  # what build() made, once it has run

    def build(self) -> dict[str, float | int]:
        import faiss
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from index.loaders import Skipped, load_documents

        started = time.perf_counter()
        splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_CHARS, chunk_overlap=OVERLAP_CHARS)
        documents = 0
        for item in load_documents([self.folder], 25_000_000):
            if isinstance(item, Skipped):
                continue
            self.chunks.extend(splitter.split_text(item.text))
            documents += 1
            if self.max_documents is not None and documents >= self.max_documents:
                break
        self.index = faiss.IndexFlatIP(int(self.embedder.dimension))
        if self.chunks:
            self.index.add(np.ascontiguousarray(self.embedder.encode_documents(self.chunks), dtype=np.float32))
        self.facts = {"documents": documents, "chunks": len(self.chunks), "chunk_chars": CHUNK_CHARS,
                      "overlap_chars": OVERLAP_CHARS, "k": TOP_K,
                      "build_seconds": round(time.perf_counter() - started, 2)}
        return self.facts

    def retrieve(self, question: str) -> list[str]:
        if not self.chunks:
            return []
        vector = np.ascontiguousarray(self.embedder.encode([question]), dtype=np.float32)
        _, ids = self.index.search(vector, min(TOP_K, self.index.ntotal))
        return [self.chunks[i] for i in ids[0] if i >= 0]

    @staticmethod
    def messages(question: str, chunks: list[str], system: str = SYSTEM) -> list[dict[str, str]]:
        context = "\n\n".join(chunks)
        return [{"role": "system", "content": system},
                {"role": "user", "content": f"Context:\n{context}\n\nQuestion: {question}"}]

    def answer(self, generator, question: str, system: str = SYSTEM, max_new_tokens: int | None = None) -> NaiveAnswer:
        started = time.perf_counter()
        chunks = self.retrieve(question)
        timings = {"retrieve": time.perf_counter() - started}
        pieces = []
        for piece in generator.stream_messages(self.messages(question, chunks, system), max_new_tokens=max_new_tokens):
            if not pieces:
                timings["first_token"] = time.perf_counter() - started
            pieces.append(piece.text)
        timings["total"] = time.perf_counter() - started
        return NaiveAnswer("".join(pieces).strip(), timings)
