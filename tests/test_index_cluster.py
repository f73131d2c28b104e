"""Building the index on a real Ray cluster (`citeqa index --ray`): two one-CPU nodes on this machine, the seeds and
200 CNN/DailyMail articles into Milvus Lite, against the same files indexed locally."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from citeqa.cli import main as citeqa_main
from index import milvus_store
from index.config import IndexConfig
from index.corpus import Index

REPO = Path(__file__).resolve().parents[1]
NEWS = 200
FIELDS = ["id", "source", "position", "start", "end", "text", "dense"]


@pytest.fixture(scope="module")
def ray_cluster():
    """Two nodes of one CPU each, this process connected as the driver; shut down after the module."""
    ray = pytest.importorskip("ray", reason="pip install 'citeqa[cluster]' (make install does)")
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address, logging_level="WARNING", log_to_driver=False)
    try:
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.fixture(scope="module")
def news_corpus(tmp_path_factory) -> Path:
    """The seeds, 200 news articles, and files a run must skip: binary, empty, unsupported, two copies."""
    from bench.corpus import write_news

    folder = tmp_path_factory.mktemp("cluster") / "corpus"
    shutil.copytree(REPO / "seeds", folder / "seeds")
    shutil.copytree(write_news(NEWS, tmp_path_factory.mktemp("news-cache")), folder / "news",
                    ignore=shutil.ignore_patterns(".*"))
    odd = folder / "odd"
    odd.mkdir()
    (odd / "binary.txt").write_bytes(b"\x00\x01 not text")
    (odd / "empty.md").write_text("  \n\n ", encoding="utf-8")
    (odd / "notes.docx").write_bytes(b"PK\x03\x04")
    article = (folder / "news" / "00007.txt").read_bytes()
    (odd / "copy.txt").write_bytes(article)  # the same loader: not sent to the cluster, skipped as a copy
    (odd / "copy.html").write_bytes(article)  # another loader: sent, loaded, then skipped as a copy
    return folder


def milvus_config(folder: Path) -> IndexConfig:
    return IndexConfig(path=folder, store="milvus", milvus_uri=str(folder / "m.db"))


@pytest.fixture(scope="module")
def built(ray_cluster, news_corpus, tmp_path_factory):
    """The same corpus indexed locally and on the cluster, each into its own Milvus Lite file."""
    root = tmp_path_factory.mktemp("indexes")
    local, on_ray = Index(milvus_config(root / "local")), Index(milvus_config(root / "ray"))
    reports = local.add([news_corpus]), on_ray.add([news_corpus], ray=ray_cluster.address)
    yield local, on_ray, reports
    local.close()
    on_ray.close()


def chunk_rows(index: Index) -> dict[tuple[str, int], dict]:
    """The visible chunk rows by (source, position). Ids may differ from a local run's: a file that may be a
    copy of another is written when every file is in, after the others."""
    snapshot = index.snapshot()
    rows = list(index.store.scan(index.store.chunks_name, snapshot.view.visible(), FIELDS))
    assert len({r["id"] for r in rows}) == len(rows)
    return {(r["source"], int(r["position"])): r for r in rows}


def without_time(report) -> dict:
    return {k: v for k, v in report.to_dict().items() if k != "seconds"}


@pytest.mark.cluster
def test_a_ray_build_reports_what_a_local_run_reports(built):
    _, _, (local, on_ray) = built
    assert without_time(on_ray) == without_time(local)
    assert len(on_ray.added) == NEWS + 2 and on_ray.chunks_embedded > 1000
    reasons = dict(on_ray.skipped)
    assert reasons["odd/copy.txt"] == reasons["odd/copy.html"] == "same content as news/00007.txt"
    assert "binary" in reasons["odd/binary.txt"] and "no text" in reasons["odd/empty.md"]
    assert "unsupported" in reasons["odd/notes.docx"]


@pytest.mark.cluster
def test_a_ray_build_holds_the_same_chunks_and_vectors_as_a_local_one(built):
    local, on_ray, _ = built
    here, there = chunk_rows(local), chunk_rows(on_ray)
    assert len(here) == local.snapshot().size == on_ray.snapshot().size
    plain = ["start", "end", "text"]
    assert {k: [r[f] for f in plain] for k, r in there.items()} == {k: [r[f] for f in plain] for k, r in here.items()}
    a = np.array([here[k]["dense"] for k in sorted(here)], dtype=np.float32)
    b = np.array([there[k]["dense"] for k in sorted(here)], dtype=np.float32)
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cosine.min() >= 0.999
    engine = ("embedding_backend", "embedding_dtype", "dimension", "embedding_model")
    assert {k: on_ray.manifest()[k] for k in engine} == {k: local.manifest()[k] for k in engine}


@pytest.mark.cluster
def test_a_ray_build_answers_with_the_same_top_5_passages(built, news_corpus):
    from bench.corpus import generated_queries

    local, on_ray, _ = built
    queries = ["How old was Chris Kaba when he was shot?", "Who was the officer charged?",
               *generated_queries(news_corpus / "news", 20)]
    for query in queries:
        expected = [(p.source, p.start, p.end) for p in local.search(query, k=5)]
        assert [(p.source, p.start, p.end) for p in on_ray.search(query, k=5)] == expected, query


@pytest.mark.cluster
def test_a_second_ray_run_embeds_nothing(built, news_corpus, ray_cluster):
    _, on_ray, (_, first) = built
    again = on_ray.add([news_corpus], ray=ray_cluster.address)
    assert again.chunks_embedded == 0 and again.added == again.updated == ()
    assert set(again.unchanged) == set(first.added)


def mapworkers() -> list:
    """The Ray Data actor processes of the cluster this process started."""
    import psutil

    found = []
    for process in psutil.Process().children(recursive=True):
        try:
            if "MapWorker" in " ".join(process.cmdline()):
                found.append(process)
        except psutil.Error:
            pass
    return found


def some_news(news_corpus: Path, folder: Path, count: int) -> Path:
    """The first `count` news articles in a folder of their own, with the sources they have in `news_corpus`."""
    for article in sorted((news_corpus / "news").iterdir())[:count]:
        (folder / "news").mkdir(parents=True, exist_ok=True)
        shutil.copy(article, folder / "news" / article.name)
    return folder


@pytest.mark.cluster
def test_a_worker_killed_mid_run_is_retried_and_the_index_is_complete(built, news_corpus, ray_cluster, tmp_path,
                                                                        monkeypatch):
    local, _, _ = built
    folder = some_news(news_corpus, tmp_path / "corpus", 96)  # six blocks: two running when the first is in
    killed: list[int] = []
    written: list[int] = []
    put = milvus_store.MilvusWriter.put

    def put_then_kill_a_worker(self, document, chunks, vectors):
        put(self, document, chunks, vectors)
        written.append(len(chunks))
        if not killed:  # the first result is in; both workers hold blocks still to do
            victim = mapworkers()[0]
            killed.append(victim.pid)
            os.kill(victim.pid, signal.SIGKILL)

    monkeypatch.setattr(milvus_store.MilvusWriter, "put", put_then_kill_a_worker)
    index = Index(milvus_config(tmp_path / "killed"))
    report = index.add([folder], ray=ray_cluster.address)
    assert killed and len(report.added) == 96 and written[0] < report.chunks_embedded
    expected = {d.source: d.chunks for d in local.documents() if d.source in report.added}
    assert {d.source: d.chunks for d in index.documents()} == expected
    rows = list(index.store.scan(index.store.chunks_name, index.snapshot().view.visible(), ["id", "source", "position"]))
    assert len(rows) == report.chunks_embedded == sum(expected.values())
    assert len({(r["source"], r["position"]) for r in rows}) == len({r["id"] for r in rows}) == len(rows)  # none twice
    index.close()


@pytest.mark.cluster
def test_a_driver_killed_mid_run_leaves_the_previous_generation_live(ray_cluster, news_corpus, tmp_path):
    """In the child: the seeds indexed (the previous generation), then the news on the cluster, killed (Milvus
    Lite serves one process: the child opens it first)."""
    folder = tmp_path / "index"
    news = some_news(news_corpus, tmp_path / "corpus", 8)
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from index import milvus_store
        from index.config import IndexConfig
        from index.corpus import Index
        config = IndexConfig(path=Path({str(folder)!r}), store="milvus", milvus_uri={str(folder / 'm.db')!r})
        index = Index(config)
        index.add([Path({str(news_corpus / 'seeds')!r})])
        put = milvus_store.MilvusWriter.put
        def put_send_and_die(self, *args):
            put(self, *args)
            self.send()  # rows of the next generation are in Milvus; the manifest still names the previous one
            os.kill(os.getpid(), signal.SIGKILL)
        milvus_store.MilvusWriter.put = put_send_and_die
        index.add([Path({str(news)!r})], ray={ray_cluster.address!r})
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, timeout=300)
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()[-2000:]
    reopened = Index(milvus_config(folder))
    seeds = sorted(p.name for p in (news_corpus / "seeds").iterdir())
    assert [d.source for d in reopened.documents()] == seeds and reopened.snapshot().size == 37
    found = reopened.search("CNN police said on Tuesday", k=10, mode="keyword")
    assert found and {p.source for p in found} <= set(seeds)
    report = reopened.add([news_corpus / "seeds"])  # the next writer deletes the dead run's rows
    assert report.chunks_embedded == 0 and len(chunk_rows(reopened)) == 37
    reopened.close()


@pytest.mark.cluster
def test_updates_removals_and_sync_match_a_local_run_on_faiss(ray_cluster, corpus, tmp_path):
    local, on_ray = Index(IndexConfig(path=tmp_path / "local")), Index(IndexConfig(path=tmp_path / "ray"))
    assert without_time(on_ray.add([corpus], ray=ray_cluster.address)) == without_time(local.add([corpus]))
    (corpus / "harbour.txt").write_text("Harbour bridge closes\nThe Eastport bridge closed again in May.",
                                        encoding="utf-8")
    (corpus / "market.html").unlink()
    (corpus / "volcano.txt").write_text("Mount Ashfall erupted on 9 May, covering Lowmere in grey ash.",
                                        encoding="utf-8")
    shutil.copy(corpus / "library.md", corpus / "library-copy.md")
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    reports = on_ray.add([corpus], sync=True, ray=ray_cluster.address), local.add([corpus], sync=True)
    assert without_time(reports[0]) == without_time(reports[1])
    assert reports[0].updated == ("harbour.txt",) and reports[0].removed == ("market.html",)
    assert reports[0].added == ("volcano.txt",) and reports[0].unchanged == ("library.md",)
    assert [(d.source, d.sha256, d.chunks) for d in on_ray.documents()] == \
        [(d.source, d.sha256, d.chunks) for d in local.documents()]
    assert on_ray.search("Which town did the ash cover?", k=1)[0].source == "volcano.txt"


def test_without_ray_installed_index_ray_says_what_to_install(corpus, tmp_path, monkeypatch, capsys):
    for name in ("ray", "pyarrow"):  # `import ray` fails as when citeqa[cluster] is not installed
        monkeypatch.setitem(sys.modules, name, None)
    code = citeqa_main(["index", str(corpus), "--index", str(tmp_path / "index"), "--ray", "local"])
    err = capsys.readouterr().err
    assert code == 2 and "pip install 'citeqa[cluster]'" in err and "Traceback" not in err
    assert not Index(IndexConfig(path=tmp_path / "index")).exists


def test_answering_and_local_indexing_never_import_ray(corpus, tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        import citeqa.cli, qa.assistant, ui.app
        from index.config import IndexConfig
        from index.corpus import Index
        index = Index(IndexConfig(path=Path({str(tmp_path / 'index')!r})))
        index.add([Path({str(corpus)!r})])
        index.search("Who cut the ribbon?")
        print(sorted(m for m in sys.modules if m == "ray" or m.startswith("ray.")))
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_a_ray_client_address_is_refused_with_what_works(corpus, tmp_path):
    from index.cluster import ClusterError

    index = Index(IndexConfig(path=tmp_path / "index"))
    with pytest.raises(ClusterError, match="Ray Data does not run through Ray Client.*--ray auto"):
        index.add([corpus], ray="ray://head:10001")
    assert not index.exists
