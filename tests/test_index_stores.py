"""The same behaviour on both stores: the embedded FAISS + SQLite + BM25 folder and Milvus (Milvus Lite here).

Milvus Lite runs inside the test process from a file in a temporary folder; one file serves this module and
each test writes its own collection, so the server starts once.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from index.config import IndexConfig
from index.corpus import Index
from index.stores import STORES as REGISTRY
from qa.assistant import Assistant
from tests.support import write_corpus

REPO = Path(__file__).resolve().parents[1]
STORES = ["faiss", "milvus"]
QUESTIONS = [json.loads(line) for line in (REPO / "eval" / "data" / "seeds.jsonl").read_text().splitlines() if line]


@pytest.fixture(scope="module")
def milvus_file(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("milvus") / "citeqa.db"


def store_config(store: str, folder: Path, milvus_file: Path, **settings) -> IndexConfig:
    if store == "milvus":
        collection = "t_" + re.sub(r"\W", "_", folder.parent.name + "_" + folder.name)[-60:]
        settings = {"store": "milvus", "milvus_uri": str(milvus_file), "milvus_collection": collection, **settings}
    return IndexConfig(path=folder, **settings)


@pytest.fixture(params=STORES)
def make_index(request, tmp_path, embedder, milvus_file):
    def make(name: str = "index", **settings) -> Index:
        return Index(store_config(request.param, tmp_path / name, milvus_file, **settings), embedder=embedder)

    return make


def test_add_lists_every_document_with_its_chunks(make_index, corpus):
    index = make_index()
    report = index.add([corpus])
    assert sorted(report.added) == ["harbour.txt", "library.md", "market.html"]
    documents = index.documents()
    assert [d.source for d in documents] == ["harbour.txt", "library.md", "market.html"]
    assert sum(d.chunks for d in documents) == report.chunks_embedded == index.manifest()["chunks"]
    assert documents[2].title == "Market fire"


def test_a_store_rebuilt_from_its_settings_reads_the_same_index(make_index, corpus):
    index = make_index()
    index.add([corpus])
    settings = json.loads(json.dumps(index.store.to_dict()))  # plain values, as a report would keep them
    again = Index(index.config, embedder=index.embedder, store=REGISTRY[index.config.store](**settings))
    assert again.documents() == index.documents()
    assert again.search("How many stalls burned?", k=1)[0].source == "market.html"


@pytest.mark.parametrize(("store", "settings", "refused"), [
    ("faiss", {"path": "idx", "dense_kind": "hnsw"}, "dense_kind must be auto, flat or ivf"),
    ("faiss", {"path": "idx", "ivf_nprobe": 0}, "ivf_nprobe must be at least 1"),
    ("milvus", {"path": "idx", "milvus_uri": "localhost:19530"}, "server URL"),
    ("milvus", {"path": "idx", "milvus_collection": "9-lives"}, "letters, digits"),
    ("milvus", {"path": "idx", "milvus_index": "BTREE"}, "milvus_index must be one of"),
])
def test_a_store_refuses_settings_it_cannot_use_by_name(store, settings, refused):
    with pytest.raises(ValueError, match=refused):
        REGISTRY[store](**settings)


def test_adding_unchanged_documents_embeds_nothing(make_index, corpus):
    index = make_index()
    index.add([corpus])
    report = make_index().add([corpus])  # a fresh Index: the hashes come from the store
    assert len(report.unchanged) == 3 and report.chunks_embedded == 0 and not report.added


def test_changed_document_replaces_its_chunks_and_text(make_index, corpus):
    index = make_index()
    index.add([corpus])
    (corpus / "harbour.txt").write_text("The Harbour Bridge closed again in 2023 for painting.", encoding="utf-8")
    report = index.add([corpus])
    assert report.updated == ("harbour.txt",) and len(report.unchanged) == 2
    assert "12 million" not in index.document("harbour.txt").text
    assert all("12 million" not in p.text for p in index.search("repairs costing 12 million pounds", k=10))
    best = index.search("When did the Harbour Bridge close again?", k=1)[0]
    assert best.source == "harbour.txt" and "2023" in best.text


def test_removed_document_is_never_found(make_index, corpus):
    index = make_index()
    index.add([corpus])
    index.remove(["library.md"])
    assert [d.source for d in index.documents()] == ["harbour.txt", "market.html"]
    assert index.document("library.md") is None
    for mode in ("hybrid", "dense", "keyword"):
        assert all(p.source != "library.md" for p in index.search("Westford library design award", 10, mode))


def test_sync_removes_documents_gone_from_the_folder(make_index, corpus):
    index = make_index()
    index.add([corpus])
    (corpus / "market.html").unlink()
    report = index.add([corpus], sync=True)
    assert report.removed == ("market.html",)
    assert all(p.source != "market.html" for p in index.search("Northgate market stalls fire", k=10))


def test_duplicate_content_is_skipped(make_index, corpus):
    index = make_index()
    index.add([corpus])
    shutil.copy(corpus / "library.md", corpus / "copy.md")
    report = index.add([corpus])
    assert report.skipped == (("copy.md", "same content as library.md"),) and report.chunks_embedded == 0
    assert "copy.md" not in index.store.open(None).hashes()


def test_passage_offsets_map_into_the_document_text(make_index, tmp_path):
    long_text = " ".join(f"Paragraph {n} tells that the weather station at Point {n} recorded {n * 3} millimetres "
                         f"of rain and that Ranger Imogen Vale{n} measured it." for n in range(120))
    folder = write_corpus(tmp_path / "long", {"station.txt": "Rain records\n" + long_text,
                                              "ünïcode.md": "# Café notes\n\nThe café in Zürich sells crème brûlée "
                                                            "for 9 francs, said owner Søren Ødegaard."})
    index = make_index()
    index.add([folder])
    snapshot = index.snapshot()
    for question in ("How much rain fell at Point 77?", "What does the café in Zürich sell?", "Who measured it?"):
        passages = index.search(question, k=5, snapshot=snapshot)
        assert passages
        for p in passages:
            assert index.document(p.source, snapshot).text[p.start:p.end] == p.text
            assert p.dense_score is not None
    assert index.search("crème brûlée Zürich", k=1)[0].source == "ünïcode.md"


def test_a_pinned_snapshot_keeps_its_view_while_a_writer_publishes(make_index, corpus):
    index = make_index()
    index.add([corpus])
    reader = make_index()
    snapshot = reader.snapshot()
    (corpus / "library.md").write_text("# Library closes\n\nThe Westford library closed in 2024.", encoding="utf-8")
    index.add([corpus])
    old = reader.document("library.md", snapshot)
    assert "award" in old.text
    passage = next(p for p in reader.search("Westford library", 5, snapshot=snapshot) if p.source == "library.md")
    assert old.text[passage.start:passage.end] == passage.text
    assert "closed in 2024" in reader.document("library.md").text  # and the next read sees the new view


def test_model_mismatch_names_the_fix(make_index, corpus):
    make_index().add([corpus])
    with pytest.raises(Exception, match="rebuild"):
        make_index(embedding_model="another-model").documents()


# -- the seed questions: both stores rank and answer alike ---------------------------------------------------
@pytest.fixture(scope="module")
def seed_assistants(tmp_path_factory, embedder, milvus_file):
    built = {}
    for store in STORES:
        folder = tmp_path_factory.mktemp(f"seeds-{store}")
        config = store_config(store, folder / "index", milvus_file)
        assistant = Assistant(config={"index": config, "generator": "extractive"}, embedder=embedder)
        assistant.add([REPO / "seeds"])
        built[store] = assistant
    return built


def test_seed_questions_retrieve_the_same_passages_on_both_stores(seed_assistants):
    for item in QUESTIONS:
        found = {store: [(p.source, p.start, p.end) for p in a.retrieve(item["question"], k=5)]
                 for store, a in seed_assistants.items()}
        assert found["milvus"] == found["faiss"], item["question"]
        assert len(found["faiss"]) == 5


def test_seed_questions_get_the_same_extractive_answers_on_both_stores(seed_assistants):
    for item in QUESTIONS[::4]:
        answers = {store: a.ask(item["question"]) for store, a in seed_assistants.items()}
        faiss, milvus = answers["faiss"], answers["milvus"]
        assert (milvus.text, milvus.abstained) == (faiss.text, faiss.abstained), item["question"]
        assert [(c.source, c.start, c.end) for c in milvus.citations] == \
            [(c.source, c.start, c.end) for c in faiss.citations]
