import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock

from index import faiss_store
from index.backend import IndexCorruptError, IndexMismatchError, IndexMissingError
from index.config import IndexConfig
from index.corpus import Index
from index.fusion import reciprocal_rank_fusion
from index.keyword import KeywordIndex
from index.faiss_store import read_current

REPO = Path(__file__).resolve().parents[1]


def test_first_add_reports_added_and_builds_all_parts(make_index, corpus):
    index = make_index()
    report = index.add([corpus])
    assert sorted(report.added) == ["harbour.txt", "library.md", "market.html"]
    manifest = index.manifest()
    assert manifest["documents"] == 3
    assert manifest["chunks"] == report.chunks_embedded > 0
    assert manifest["embedding_model"] == "all-MiniLM-L6-v2" and manifest["dimension"] == 384
    assert {p.name for p in read_current(index.root).iterdir()} >= {"chunks.sqlite", "dense.faiss",
                                                                     "manifest.json", "keyword.npz"}


def test_second_add_embeds_nothing(make_index, corpus):
    index = make_index()
    index.add([corpus])
    report = index.add([corpus])
    assert len(report.unchanged) == 3 and report.chunks_embedded == 0
    assert not report.added and not report.updated


def test_changed_document_is_replaced(make_index, corpus):
    index = make_index()
    index.add([corpus])
    (corpus / "harbour.txt").write_text("The Harbour Bridge closed again in 2023 for painting.", encoding="utf-8")
    report = index.add([corpus])
    assert report.updated == ("harbour.txt",) and len(report.unchanged) == 2
    best = index.search("When did the Harbour Bridge close again?", k=1)[0]
    assert best.source == "harbour.txt" and "2023" in best.text
    assert "12 million" not in index.document("harbour.txt").text
    assert index.manifest()["chunks"] == index.snapshot().dense.ntotal


def test_remove_deletes_chunks_and_vectors(make_index, corpus):
    index = make_index()
    index.add([corpus])
    before = index.manifest()["chunks"]
    removed_chunks = next(d.chunks for d in index.documents() if d.source == "library.md")
    index.remove(["library.md"])
    assert [d.source for d in index.documents()] == ["harbour.txt", "market.html"]
    assert index.snapshot().dense.ntotal == before - removed_chunks
    assert all(p.source != "library.md" for p in index.search("library design award", k=5))


def test_remove_unknown_source_names_it(make_index, corpus):
    index = make_index()
    index.add([corpus])
    with pytest.raises(KeyError, match="nope.txt"):
        index.remove(["nope.txt"])


def test_adding_again_keeps_documents_missing_from_the_folder(make_index, corpus):
    index = make_index()
    index.add([corpus])
    (corpus / "library.md").unlink()
    report = index.add([corpus])
    assert not report.removed
    assert "library.md" in [d.source for d in index.documents()]


def test_sync_removes_documents_missing_from_the_folder(make_index, corpus):
    index = make_index()
    index.add([corpus])
    (corpus / "library.md").unlink()
    report = index.add([corpus], sync=True)
    assert report.removed == ("library.md",)
    assert "library.md" not in [d.source for d in index.documents()]


def test_chunk_ids_survive_deletes(make_index, corpus):
    index = make_index()
    index.add([corpus])
    harbour_ids = {p.chunk_id for p in index.search("Harbour Bridge Eastport", k=50) if p.source == "harbour.txt"}
    index.remove(["library.md"])
    after = {p.chunk_id for p in index.search("Harbour Bridge Eastport", k=50) if p.source == "harbour.txt"}
    assert harbour_ids == after


def test_search_returns_offsets_and_all_scores(make_index, corpus):
    index = make_index()
    index.add([corpus])
    passages = index.search("How many stalls did the fire destroy?", k=3)
    top = passages[0]
    assert top.source == "market.html" and "40 stalls" in top.text
    assert index.document(top.source).text[top.start:top.end] == top.text
    assert top.dense_score is not None and top.keyword_score is not None and top.score > 0
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


@pytest.mark.parametrize("mode", ["dense", "keyword"])
def test_single_mode_search_finds_the_fact(make_index, corpus, mode):
    index = make_index()
    index.add([corpus])
    assert index.search("architect Tomas Berg recycled timber", k=1, mode=mode)[0].source == "library.md"


def test_rrf_rewards_agreement():
    fused = reciprocal_rank_fusion([[1, 2, 3], [2, 3, 1]], k=60)
    assert max(fused, key=fused.get) == 2
    assert fused[2] == pytest.approx(1 / 62 + 1 / 61)


def test_weighted_rrf_lets_the_heavier_ranking_lead():
    fused = reciprocal_rank_fusion([[1, 2], [2, 1]], k=10, weights=[0.3, 1.0])
    assert fused[2] > fused[1]


def test_hybrid_search_follows_the_fusion_weights(make_index, corpus):
    index = make_index(keyword_weight=1.0, dense_weight=0.0)
    index.add([corpus])
    keyword = [p.chunk_id for p in index.search("Okoro fire chief", k=3, mode="keyword")]
    assert [p.chunk_id for p in index.search("Okoro fire chief", k=3, mode="hybrid")][:len(keyword)] == keyword


def test_bm25_ranks_rare_terms_higher():
    keyword = KeywordIndex.build([10, 20, 30], ["the cat sat", "the dog sat", "a cat and a zebra"])
    hits = keyword.search("zebra cat", 3)
    assert hits[0][0] == 30 and {h[0] for h in hits} == {10, 30}


def test_bm25_weights_are_stored_as_scipy_reads_them(tmp_path):
    """Indexes written when scipy held the weights read the same: the file is scipy's CSR `.npz`, and its
    column sums are the scores search gives."""
    from scipy import sparse

    texts = ["the cat sat", "the dog sat on the cat", "a cat and a zebra", "", "zebra zebra crossing"]
    KeywordIndex.build([10, 20, 30, 40, 50], texts).save(tmp_path)
    weights = sparse.load_npz(tmp_path / "keyword.npz").tocsc()
    loaded = KeywordIndex.load(tmp_path)
    columns = sorted(loaded.vocabulary[t] for t in ("cat", "zebra"))
    expected = np.asarray(weights[:, columns].sum(axis=1)).ravel()
    assert dict(loaded.search("zebra cat", 5)) == {i: float(s) for i, s in zip([10, 20, 30, 40, 50], expected) if s}


def test_model_mismatch_names_the_fix(make_index, corpus, tmp_path):
    index = make_index()
    index.add([corpus])
    other = Index(IndexConfig(path=index.root, embedding_model="some/other-model"))
    with pytest.raises(IndexMismatchError, match=r"all-MiniLM-L6-v2.*some/other-model.*--rebuild"):
        other.documents()


def test_schema_mismatch_names_the_fix(make_index, corpus):
    index = make_index()
    index.add([corpus])
    manifest_path = read_current(index.root) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["schema_version"] = 999
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        make_index().documents()


def test_missing_index_says_how_to_build_it(make_index):
    with pytest.raises(IndexMissingError, match="citeqa index"):
        make_index().documents()


def test_corrupted_vectors_give_a_recovery_path(make_index, corpus):
    index = make_index()
    index.add([corpus])
    (read_current(index.root) / "dense.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexCorruptError, match="--rebuild"):
        make_index().documents()


def test_rebuild_recovers_a_corrupted_index(make_index, corpus):
    index = make_index()
    index.add([corpus])
    (read_current(index.root) / "dense.faiss").write_bytes(b"garbage")
    fresh = make_index()
    fresh.add([corpus], rebuild=True)
    assert len(fresh.documents()) == 3


def test_failed_write_leaves_the_previous_index(make_index, corpus, monkeypatch):
    index = make_index()
    index.add([corpus])
    (corpus / "new.txt").write_text("A brand new article about volcanoes.", encoding="utf-8")

    def disk_full(self, folder):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(KeywordIndex, "save", disk_full)
    with pytest.raises(OSError, match="No space"):
        index.add([corpus])
    monkeypatch.undo()
    reopened = make_index()
    assert [d.source for d in reopened.documents()] == ["harbour.txt", "library.md", "market.html"]
    assert not list(index.root.glob("tmp-*"))


def test_kill_during_index_leaves_previous_index_loadable(make_index, corpus, tmp_path):
    """A real `kill -9` of a process that is in the middle of publishing a generation."""
    index = make_index()
    index.add([corpus])
    big = tmp_path / "big"
    big.mkdir()
    for n in range(40):
        (big / f"doc{n}.txt").write_text(f"Article {n}. " + "The council met to discuss budgets. " * 60,
                                         encoding="utf-8")
    script = textwrap.dedent(f"""
        import os, signal
        from index.config import IndexConfig
        from index.corpus import Index
        from index import faiss_store
        def publish(self):
            os.kill(os.getpid(), signal.SIGKILL)  # dies with the new generation half written
        faiss_store.Writer.publish = publish
        Index(IndexConfig(path={str(index.root)!r})).add([{str(big)!r}])
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, timeout=120)
    assert result.returncode == -9
    reopened = make_index()
    assert [d.source for d in reopened.documents()] == ["harbour.txt", "library.md", "market.html"]
    assert reopened.search("stalls destroyed by fire", k=1)[0].source == "market.html"


def test_second_writer_waits_for_the_lock_then_gives_up(make_index, corpus):
    index = make_index(lock_timeout=0.2)
    index.add([corpus])
    holder = FileLock(index.root / ".lock")  # another process's writer holds the index's lock file
    holder.acquire()
    try:
        with pytest.raises(TimeoutError, match="locked"):
            index.add([corpus])
    finally:
        holder.release()


def test_reader_keeps_its_snapshot_while_a_writer_publishes(make_index, corpus):
    index = make_index()
    index.add([corpus])
    reader = make_index()
    snapshot = reader.snapshot()
    index.remove(["library.md"])
    assert len(snapshot.documents()) == 3  # the old generation is still whole
    assert len(reader.documents()) == 2  # and the next call sees the new one


def test_reader_opening_a_generation_as_it_is_deleted_moves_to_the_new_one(make_index, corpus, monkeypatch):
    """The race CI caught: a reader reads CURRENT and checks the files; a writer then publishes, and its
    garbage collection deletes that generation before FAISS has read it. That is not damage."""
    index = make_index()
    index.add([corpus])
    old = read_current(index.root)
    real_verify = faiss_store.Snapshot.verify_files
    published: list[bool] = []

    def publish_and_collect_after_the_check(self):
        real_verify(self)
        if self.folder == old and not published:
            published.append(True)  # once: the writer opens snapshots of its own
            index.remove(["library.md"])
            (old / "dense.faiss").unlink()

    monkeypatch.setattr(faiss_store.Snapshot, "verify_files", publish_and_collect_after_the_check)
    reader = make_index()
    assert len(reader.documents()) == 2
    assert reader.snapshot().folder != old


def test_ivf_index_recall_against_flat(make_index, corpus, tmp_path):
    rng = np.random.default_rng(0)
    from index.vectors import build_ivf

    vectors = rng.normal(size=(4000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(1, 4001, dtype=np.int64)
    ivf = build_ivf(ids, vectors, nprobe=32)
    queries = vectors[:50] + 0.05 * rng.normal(size=(50, 32)).astype(np.float32)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10] + 1
    _, found = ivf.search(queries, 10)
    recall = np.mean([len(set(e) & set(f)) / 10 for e, f in zip(exact, found, strict=True)])
    assert recall >= 0.9


def test_ivf_kind_is_used_and_searchable(make_index, corpus):
    index = make_index(dense_kind="ivf")
    index.add([corpus])
    assert "IVF" in type(__import__("faiss").downcast_index(index.snapshot().dense.index)).__name__
    assert index.search("fire destroyed stalls", k=1)[0].source == "market.html"


def test_ivf_scans_the_configured_number_of_cells():
    import faiss

    from index.vectors import approximate

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(4000, 16)).astype(np.float32)
    flat = faiss.IndexIDMap2(faiss.IndexFlatIP(16))
    flat.add_with_ids(vectors, np.arange(4000, dtype=np.int64))
    ivf = approximate(flat, "ivf", threshold=10**9, nprobe=7)
    assert faiss.downcast_index(ivf.index).nprobe == 7
