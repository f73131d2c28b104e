"""Property tests and fuzzing (hypothesis): chunk offsets, citation markers, incremental add/remove, loaders.

Example counts are modest and deadlines off, so the whole file stays within a few tens of seconds on
2 cores; CITEQA_SOAK=1 runs ten times as many examples.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.chunking import Chunker
from index.config import IndexConfig
from index.corpus import Index
from index.documents import Document
from index.loaders import SkipFile, load_file
from qa.answer import Citation
from qa.citing import CitedClaim, render, strip_markers
from tests.test_reliability_documents import GOOD_PDF

SOAK = os.environ.get("CITEQA_SOAK") == "1"  # CITEQA_SOAK=1: ten times the examples


def budget(n: int) -> settings:
    return settings(max_examples=10 * n if SOAK else n, deadline=None, derandomize=not SOAK,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


# -- chunk offsets ------------------------------------------------------------------------------------------
WORDS = st.sampled_from(["the", "council", "met", "Mr", "Kaba,", "24", "died.", "Streatham", "£12m", "année",
                         "年", "🙂", "e.g.", "U.S.", "a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "x" * 120, "—", "(1)"])
SEPARATORS = st.sampled_from([" ", " ", " ", "  ", "\n", "\n\n", ". ", "? ", "; ", ", ", "\t", "\u00a0", "\r\n"])
TEXTS = st.one_of(
    st.lists(st.tuples(WORDS, SEPARATORS), max_size=300).map(lambda pairs: "".join(w + s for w, s in pairs)),
    st.text(max_size=1500),
    st.text(st.sampled_from("ab \n."), max_size=1500),  # repetitive: overlaps are ambiguous to find
)


@budget(60)
@given(text=TEXTS, size=st.integers(16, 64), overlap_share=st.floats(0, 0.5))
def test_every_chunk_is_an_exact_span_and_chunks_cover_the_text(embedder, text, size, overlap_share):
    chunker = Chunker(embedder.count_tokens, size, int(size * overlap_share))
    chunks = chunker.run(Document("s.txt", "t", text, "h"))
    covered = bytearray(len(text))
    for number, chunk in enumerate(chunks):
        assert chunk.position == number and chunk.source == "s.txt"
        assert 0 <= chunk.start < chunk.end <= len(text)
        assert text[chunk.start:chunk.end] == chunk.text and chunk.text == chunk.text.strip()
        covered[chunk.start:chunk.end] = b"\x01" * (chunk.end - chunk.start)
    missing = [i for i, c in enumerate(text) if not c.isspace() and not covered[i]]
    assert not missing, f"characters {missing[:10]} are in no chunk"
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)


# -- citation markers ---------------------------------------------------------------------------------------
@budget(300)
@given(answer=st.one_of(st.text(max_size=300),
                        st.lists(st.sampled_from(["[1]", "[2, 3]", "[", "]", "[12][3]", " ", ".", "Yes", "The",
                                                  "x", "\n", "[1,", "2]", "[99999999999999999999]", "[0]", "?"]),
                                 max_size=40).map("".join)))
def test_marker_stripping_never_crashes_nor_grows_the_text(answer):
    stripped = strip_markers(answer)
    assert len(stripped) <= len(answer) and not re.search(r"\[\d+\]", stripped)


SENTENCE = st.lists(st.sampled_from(["the", "council", "voted", "against", "Kaba", "was", "24", "in", "Streatham",
                                     "budget", "of", "£12m", "2022", "police", "officers"]),
                    min_size=1, max_size=12).map(lambda words: " ".join(words).capitalize())


@budget(150)
@given(text=SENTENCE, places=st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 5)), min_size=1, max_size=3,
                                      unique=True))
def test_rendered_answers_number_their_citations_in_order(text, places):
    """The Assistant's own renderer: markers 1..n, one per cited sentence, after the claim's words."""
    claim = CitedClaim(text + ".", tuple(Citation(0, f"{s}.txt", s, f"sentence {s}{p}", p * 10, p * 10 + 5, True)
                                         for s, p in places), True)
    rendered, citations = render(claim)
    assert [c.marker for c in citations] == list(range(1, len(places) + 1))
    assert [(c.source, c.start) for c in citations] == [(c.source, c.start) for c in claim.citations]
    assert strip_markers(rendered).rstrip(".") == text.rstrip(".")
    assert "".join(f"[{n}]" for n in range(1, len(places) + 1)) in rendered


# -- incremental add / modify / remove ----------------------------------------------------------------------
POOL = [f"Report {n}\nThe {w} council voted {n} times on the {w} budget. Mayor {w.title()} spoke for {n} minutes.\n"
        for n, w in enumerate(["harbour", "river", "market", "library", "forest", "castle"])]
OPERATION = st.one_of(
    st.tuples(st.just("write"), st.integers(0, 4), st.one_of(st.sampled_from(POOL),
                                                             st.text(st.characters(codec="utf-8"), max_size=200))),
    st.tuples(st.just("delete"), st.integers(0, 4), st.none()),
    st.tuples(st.just("unindex"), st.integers(0, 4), st.none()),
)
NAMES = ["a.txt", "b.md", "sub/c.txt", "sub/deeper/d.md", "e.txt"]


def check_index_matches_folder(index: Index, folder: Path, previous: dict[str, str]) -> None:
    """The index holds every readable file's current content once; a file that cannot be read (emptied,
    say) keeps its last good version or nothing; a deleted file is gone; vectors, BM25 rows and chunks agree."""
    snap = index.snapshot()
    indexed = snap.hashes()
    readable, unreadable = {}, set()
    for path in folder.rglob("*"):
        if path.is_file():
            source = path.relative_to(folder).as_posix()
            try:
                readable[source] = load_file(path, source, 25_000_000).sha256
            except SkipFile:
                unreadable.add(source)
    assert set(indexed) <= set(readable) | unreadable, "a deleted file is still indexed"
    for source, digest in indexed.items():
        if source in readable:
            assert digest == readable[source], f"{source} is stale"
        else:
            assert digest == previous.get(source), f"{source} changed although it could not be read"
    assert set(readable.values()) <= set(indexed.values()), "some content is not indexed"
    assert len(set(indexed.values())) == len(indexed), "the same content is indexed twice"
    documents = snap.documents()
    assert len(documents) == snap.manifest["documents"]
    total = sum(d.chunks for d in documents)
    assert total == snap.manifest["chunks"] == snap.dense.ntotal == len(snap.keyword)
    rows = snap.db.execute("SELECT c.source, c.start, c.end, c.text, d.text FROM chunks c JOIN documents d "
                           "ON d.source = c.source").fetchall()
    assert len(rows) == total
    for source, start, end, text, document in rows:
        assert document[start:end] == text, source
    ids = {row[0] for row in snap.db.execute("SELECT id FROM chunks")}
    assert set(snap.keyword.ids.tolist()) == ids


@budget(10)
@given(operations=st.lists(OPERATION, min_size=1, max_size=6))
def test_the_index_always_matches_its_documents(embedder, operations):
    workdir = Path(tempfile.mkdtemp(prefix="citeqa-prop-"))
    try:
        folder = workdir / "docs"
        folder.mkdir()
        index = Index(IndexConfig(path=workdir / "idx"), embedder=embedder)
        (folder / NAMES[0]).write_text(POOL[0], encoding="utf-8")
        index.add([folder], sync=True)
        for kind, number, content in operations:
            path = folder / NAMES[number]
            source = NAMES[number]
            previous = index.snapshot().hashes()
            if kind == "write":
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content, encoding="utf-8")
            elif kind == "delete":
                path.unlink(missing_ok=True)
            elif source in previous:  # unindex: remove from the index, keep the file
                index.remove([source])
                assert source not in index.snapshot().hashes()
                previous.pop(source)
            report = index.add([folder], sync=True)
            check_index_matches_folder(index, folder, previous)
            assert not set(report.added) & set(report.unchanged)
        again = index.add([folder], sync=True)
        assert again.chunks_embedded == 0 and not again.added and not again.updated and not again.removed
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# -- loader fuzzing -----------------------------------------------------------------------------------------
GOOD_HTML = (b"<!doctype html><html><head><title>Fire</title><style>p{}</style></head><body><nav>Home</nav>"
             b"<article><h1>Market fire</h1><p>A fire destroyed 40 stalls &amp; more.</p><!-- note -->"
             b"<p>Fire chief <b>Ruth Okoro</b> said no one was hurt.</p><script>alert(1)</script></article>"
             b"<footer>(c)</footer></body></html>")


def mutate(data: bytes, rng: random.Random, edits: int) -> bytes:
    out = bytearray(data)
    for _ in range(edits):
        kind = rng.randrange(5)
        at = rng.randrange(len(out) + 1)
        if kind == 0 and out:  # flip a byte
            out[min(at, len(out) - 1)] = rng.randrange(256)
        elif kind == 1:  # insert junk
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
        elif kind == 2:  # delete a run
            del out[at:at + rng.randrange(1, 64)]
        elif kind == 3:  # duplicate a run somewhere else
            piece = out[at:at + rng.randrange(1, 128)]
            where = rng.randrange(len(out) + 1)
            out[where:where] = piece
        else:  # truncate
            del out[at:]
    return bytes(out)


def check_loader(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    try:
        document = load_file(path, name, 5_000_000)
    except SkipFile as exc:
        assert str(exc)
    else:
        assert document.text.strip() and document.source == name
        assert document.sha256 == hashlib.sha256(data).hexdigest()
        for _, start, end in document.metadata.get("pages", []):
            assert 0 <= start <= end <= len(document.text)


@budget(150)
@given(data=st.binary(max_size=4096), suffix=st.sampled_from([".txt", ".md", ".html", ".htm", ".pdf", ".PDF"]))
def test_random_bytes_become_a_document_or_a_skip(tmp_path, data, suffix):
    check_loader(tmp_path, "fuzz" + suffix, data)


@budget(150)
@given(seed=st.integers(0, 2**32 - 1), edits=st.integers(1, 12), kind=st.sampled_from(["html", "pdf"]))
def test_mutated_html_and_pdf_become_a_document_or_a_skip(tmp_path, seed, edits, kind):
    data = mutate(GOOD_HTML if kind == "html" else GOOD_PDF, random.Random(seed), edits)
    check_loader(tmp_path, f"mutant.{kind}", data)


@pytest.mark.parametrize("kind", ["html", "pdf"])
def test_the_unmutated_seeds_of_the_fuzzer_load(tmp_path, kind):
    path = tmp_path / f"good.{kind}"
    path.write_bytes(GOOD_HTML if kind == "html" else GOOD_PDF)
    text = load_file(path, path.name, 5_000_000).text
    assert re.search(r"40 stalls|Quarry museum", text)
