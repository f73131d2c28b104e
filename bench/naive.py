"""The naive RAG baseline that `citeqa bench` runs side by side with citeqa, from the same models.

Flat FAISS over 800-character chunks (LangChain's RecursiveCharacterTextSplitter, counting characters),
the top 5 chunks stuffed into a plain chat prompt of the same generator, greedy decoding. No BM25, no
sentence selection, no citation checks: the pipeline most RAG tutorials build.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

SYSTEM = "Answer the question using only the context below. Keep the answer short."


class _FirstToken:
    """A transformers streamer that only notes when the first new token arrives (the first put is the prompt)."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.calls = 0
        self.first: float | None = None

    def put(self, value) -> None:
        self.calls += 1
        if self.calls == 2 and self.first is None:
            self.first = time.perf_counter() - self.started

    def end(self) -> None:
        pass


class NaiveRAG:
    """Build once over a folder, then `answer(question)` -> (text, timings in seconds)."""

    def __init__(self, embedder, tokenizer, model, chunk_chars: int = 800, overlap_chars: int = 100, k: int = 5,
                 max_new_tokens: int = 48, lock: threading.Lock | None = None) -> None:
        self.embedder = embedder
        self.tokenizer = tokenizer
        self.model = model
        self.chunk_chars = chunk_chars
        self.overlap_chars = overlap_chars
        self.k = k
        self.max_new_tokens = max_new_tokens
        self.lock = lock or threading.Lock()
        self.chunks: list[str] = []
        self.index = None
        self.prompt_tokens: list[int] = []

    def build(self, folder: Path, max_documents: int | None = None) -> dict:
        import faiss
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from index.loaders import Skipped, load_documents

        started = time.perf_counter()
        splitter = RecursiveCharacterTextSplitter(chunk_size=self.chunk_chars, chunk_overlap=self.overlap_chars)
        documents = 0
        for item in load_documents([folder], 25_000_000):
            if isinstance(item, Skipped):
                continue
            self.chunks.extend(splitter.split_text(item.text))
            documents += 1
            if max_documents is not None and documents >= max_documents:
                break
        vectors = self.embedder.encode(self.chunks) if self.chunks else np.zeros((0, self.embedder.dimension))
        self.index = faiss.IndexFlatIP(int(self.embedder.dimension))
        if len(vectors):
            self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return {"documents": documents, "chunks": len(self.chunks), "chunk_chars": self.chunk_chars,
                "overlap_chars": self.overlap_chars, "k": self.k, "build_seconds": time.perf_counter() - started}

    def retrieve(self, question: str) -> list[str]:
        vector = self.embedder.encode([question])
        _, ids = self.index.search(np.ascontiguousarray(vector, dtype=np.float32), min(self.k, self.index.ntotal))
        return [self.chunks[i] for i in ids[0] if i >= 0]

    def prompt(self, question: str, chunks: list[str]) -> str:
        context = "\n\n".join(chunks)
        messages = [{"role": "system", "content": SYSTEM},
                    {"role": "user", "content": f"Context:\n{context}\n\nQuestion: {question}"}]
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return f"{SYSTEM}\n\nContext:\n{context}\n\nQuestion: {question}\nAnswer:"

    def answer(self, question: str) -> tuple[str, dict[str, float]]:
        import torch

        started = time.perf_counter()
        chunks = self.retrieve(question)
        timings = {"retrieve": time.perf_counter() - started}
        inputs = self.tokenizer(self.prompt(question, chunks), return_tensors="pt", add_special_tokens=False)
        self.prompt_tokens.append(int(inputs["input_ids"].shape[1]))
        streamer = _FirstToken(started)
        mark = time.perf_counter()
        with self.lock, torch.inference_mode():
            output = self.model.generate(**inputs, streamer=streamer, do_sample=False, num_beams=1,
                                         max_new_tokens=self.max_new_tokens,
                                         pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
        text = self.tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True).strip()
        timings["generate"] = time.perf_counter() - mark
        if streamer.first is not None:
            timings["first_token"] = streamer.first
        timings["total"] = time.perf_counter() - started
        return text, timings
