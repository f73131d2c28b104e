from pathlib import Path

import pytest

from index.chunking import Chunker
from index.loaders import load_file
from index.sentences import sentence_spans

SEEDS = sorted((Path(__file__).resolve().parents[1] / "seeds").glob("*.txt"))


@pytest.fixture(scope="module")
def chunker(embedder):
    return Chunker(embedder.count_tokens, chunk_tokens=200, overlap_tokens=40)


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name)
def test_every_seed_chunk_has_exact_offsets(chunker, path: Path):
    doc = load_file(path, path.name, 10_000_000)
    chunks = chunker.run(doc)
    assert len(chunks) > 5
    for chunk in chunks:
        assert doc.text[chunk.start:chunk.end] == chunk.text


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name)
def test_seed_chunks_fit_the_embedding_window(chunker, embedder, path: Path):
    doc = load_file(path, path.name, 10_000_000)
    assert max(embedder.count_tokens(c.text) for c in chunker.run(doc)) <= 200 <= embedder.max_tokens


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name)
def test_seed_chunks_cover_the_whole_document(chunker, path: Path):
    doc = load_file(path, path.name, 10_000_000)
    covered = set()
    for chunk in chunker.run(doc):
        covered.update(range(chunk.start, chunk.end))
    assert all(i in covered for i, ch in enumerate(doc.text) if not ch.isspace())


def test_overlap_must_be_smaller_than_chunk():
    with pytest.raises(ValueError, match="overlap"):
        Chunker(len, chunk_tokens=10, overlap_tokens=10)


def test_sentences_do_not_break_at_titles():
    text = "Mr Kaba died. Sir Mark Rowley said so. Dr. Smith agreed! Was it 5 p.m.? Yes."
    pieces = [text[s.start:s.end] for s in sentence_spans(text)]
    assert pieces == ["Mr Kaba died.", "Sir Mark Rowley said so.", "Dr. Smith agreed!", "Was it 5 p.m.?", "Yes."]


def test_sentences_end_at_line_breaks_and_after_quotes():
    text = "He said “go.” Then left\nNew line here."
    pieces = [text[s.start:s.end] for s in sentence_spans(text)]
    assert pieces == ["He said “go.”", "Then left", "New line here."]


def _blob(size: int) -> str:
    """Base64-like text with no separator at all, deterministic."""
    import base64
    import hashlib

    out, seed = [], b"citeqa"
    while sum(map(len, out)) < size:
        seed = hashlib.sha256(seed).digest()
        out.append(base64.b64encode(seed).decode().rstrip("="))
    return "".join(out)[:size]


def _document(text: str):
    from index.documents import Document

    return Document("blob.txt", "blob", text, "h")


def test_a_run_without_separators_is_cut_into_windows_that_fit(chunker, embedder):
    text = "An intro sentence about the archive. " * 30 + _blob(30_000) + " A closing sentence about the archive."
    chunks = chunker.run(_document(text))
    assert all(text[c.start:c.end] == c.text for c in chunks)
    assert max(embedder.count_tokens(c.text) for c in chunks) <= 200
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_a_run_without_separators_costs_a_few_token_counts_per_chunk(embedder):
    """Counted, not timed: the recursive splitter counted every character (200 KB took 13.5 s)."""
    calls = []

    def counting(text: str) -> int:
        calls.append(len(text))
        return embedder.count_tokens(text)

    chunks = Chunker(counting, chunk_tokens=200, overlap_tokens=40).run(_document(_blob(200_000)))
    assert len(calls) <= 4 * len(chunks)
