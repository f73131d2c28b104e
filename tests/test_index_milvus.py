"""What only the Milvus store has to get right: faults, commits without transactions, a shared server, flags."""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from citeqa.cli import main as citeqa_main
from index import milvus_store
from index.config import IndexConfig
from index.corpus import Index
from index.faiss_store import read_current
from tests.support import free_port, stop

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def milvus_index(tmp_path, embedder):
    def make(**settings) -> Index:
        config = IndexConfig(path=tmp_path / "index", store="milvus", milvus_uri=str(tmp_path / "m.db"), **settings)
        return Index(config, embedder=embedder)

    return make


def run_cli(*argv: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "citeqa.cli", *argv], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


def test_store_settings_are_checked():
    with pytest.raises(ValueError, match="store must be"):
        IndexConfig(store="elastic")
    with pytest.raises(ValueError, match="server URL"):
        IndexConfig(store="milvus", milvus_uri="localhost:19530")
    with pytest.raises(ValueError, match="letters, digits"):
        IndexConfig(store="milvus", milvus_collection="9-lives")
    assert milvus_store.MilvusStore(Path("/x/my-news.index")).collection == "citeqa_my_news_index"


def test_unreachable_server_is_one_line_with_the_uri_and_the_fix(tmp_path, corpus, embedder, capsys):
    local = Index(IndexConfig(path=tmp_path / "idx"), embedder=embedder)
    local.add([corpus])
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "idx").rglob("*")}
    uri = f"http://127.0.0.1:{free_port()}"
    for argv in (["index", str(corpus)], ["list"], ["remove", "library.md"]):
        code = citeqa_main([*argv, "--index", str(tmp_path / "idx"), "--store", "milvus", "--milvus-uri", uri])
        err = capsys.readouterr().err
        assert code != 0 and err.count("\n") == 1, err
        assert uri in err and "start the Milvus server" in err and "Traceback" not in err
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "idx").rglob("*")} == before
    assert [d.source for d in local.documents()] == ["harbour.txt", "library.md", "market.html"]


def test_a_write_that_fails_halfway_is_never_visible(milvus_index, corpus, monkeypatch):
    index = milvus_index()
    index.add([corpus])
    (corpus / "volcano.txt").write_text("Mount Ashfall erupted on 9 May, covering Lowmere in grey ash.",
                                        encoding="utf-8")
    (corpus / "library.md").write_text("# Library closes\n\nThe Westford library closed for good.", encoding="utf-8")

    def crash(self):
        self.send()  # every chunk of the new generation is in Milvus, the manifest is not switched yet
        raise OSError("the machine lost power")

    monkeypatch.setattr(milvus_store.MilvusWriter, "publish", crash)
    monkeypatch.setattr(milvus_store.MilvusWriter, "abort", lambda self: None)  # as after a real crash
    with pytest.raises(OSError):
        index.add([corpus])
    monkeypatch.undo()
    reader = milvus_index()
    assert [d.source for d in reader.documents()] == ["harbour.txt", "library.md", "market.html"]
    assert "award" in reader.document("library.md").text
    for mode in ("hybrid", "keyword", "dense"):
        found = reader.search("Mount Ashfall erupted Lowmere ash; Westford library closed for good", 10, mode)
        assert all(p.source != "volcano.txt" and "closed for good" not in p.text for p in found)
    report = reader.add([corpus])  # the next writer deletes the leftovers and writes both documents whole
    assert report.added == ("volcano.txt",) and report.updated == ("library.md",)
    assert reader.search("Which town did the ash cover?", k=1)[0].source == "volcano.txt"
    rows = reader.store.query(reader.store.chunks_name, 'source == "volcano.txt"', ["id"])
    assert len(rows) == next(d.chunks for d in reader.documents() if d.source == "volcano.txt")


def test_kill_during_a_write_leaves_the_previous_index(tmp_path, corpus):
    """A real `kill -9` after the chunks are sent and before the manifest switches (Milvus Lite in the child).

    Killed before `flush`: Milvus Lite writes its segment index files in place, so a kill in the middle of its
    own flush can leave a data folder it cannot load (a Lite limitation, see docs/scale.md; a Milvus server
    does not live in the writer's process)."""
    db = tmp_path / "m.db"
    (corpus / "volcano.txt").write_text("Mount Ashfall erupted on 9 May, covering Lowmere in grey ash.",
                                        encoding="utf-8")
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from index import milvus_store
        from index.config import IndexConfig
        from index.corpus import Index
        config = IndexConfig(path=Path({str(tmp_path / 'index')!r}), store="milvus", milvus_uri={str(db)!r})
        index = Index(config)
        index.add([Path({str(corpus)!r})])
        (Path({str(corpus)!r}) / "volcano.txt").write_text("Mount Ashfall erupted again in June.")
        (Path({str(corpus)!r}) / "harbour.txt").unlink()
        def publish(self):
            self.send()
            os.kill(os.getpid(), signal.SIGKILL)
        milvus_store.MilvusWriter.publish = publish
        index.add([Path({str(corpus)!r})], sync=True)
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, timeout=300)
    assert result.returncode == -9, result.stderr.decode()[-2000:]
    reopened = Index(IndexConfig(path=tmp_path / "index", store="milvus", milvus_uri=str(db)))
    assert [d.source for d in reopened.documents()] == ["harbour.txt", "library.md", "market.html", "volcano.txt"]
    assert "9 May" in reopened.document("volcano.txt").text
    found = reopened.search("When did Mount Ashfall erupt?", k=10, mode="keyword")
    assert {p.source for p in found} == {"volcano.txt"} and all("June" not in p.text for p in found)


def test_long_texts_and_retired_lists_are_stored_in_pieces(milvus_index, corpus, monkeypatch):
    monkeypatch.setattr(milvus_store, "PIECE_CHARS", 16)  # every document, and the retired list, spans pieces
    index = milvus_index()
    index.add([corpus])
    text = (corpus / "harbour.txt").read_text(encoding="utf-8")
    assert index.document("harbour.txt").text == text
    index.remove(["harbour.txt", "market.html"])
    assert index.manifest()["retired_pieces"] > 1
    reader = milvus_index()
    assert [d.source for d in reader.documents()] == ["library.md"]
    assert {p.source for p in reader.search("Harbour Bridge market fire stalls library", k=10)} == {"library.md"}
    reader.add([corpus])  # the next writer deletes the retired rows and the old retired list
    assert [d.source for d in reader.documents()] == ["harbour.txt", "library.md", "market.html"]
    assert reader.document("market.html").metadata == {"format": "html"}


def test_cli_flags_index_list_ask_and_remove_on_milvus_lite(tmp_path, corpus, capsys):
    flags = ["--index", str(tmp_path / "idx"), "--store", "milvus", "--milvus-uri", str(tmp_path / "cli.db")]
    assert citeqa_main(["index", str(corpus), "-q", *flags]) == 0
    assert "3 added" in capsys.readouterr().out
    assert citeqa_main(["list", "--json", *flags]) == 0
    assert [d["source"] for d in json.loads(capsys.readouterr().out)] == ["harbour.txt", "library.md", "market.html"]
    assert citeqa_main(["ask", "How many stalls were destroyed?", "--json", "--generator", "extractive",
                        "--config", "judge=false", *flags]) == 0  # the store's answer, not the judge's decision
    answer = json.loads(capsys.readouterr().out)
    assert answer["citations"][0]["source"] == "market.html" and not answer["abstained"]
    assert citeqa_main(["remove", "market.html", *flags]) == 0
    assert citeqa_main(["list", *flags]) == 0
    assert "2 documents" in capsys.readouterr().out
    assert not read_current(tmp_path / "idx")  # no FAISS generation was written


def test_chat_takes_the_store_flags():
    from citeqa.cli import build_parser
    from qa.flags import assistant_from

    args = build_parser().parse_args(["chat", "--store", "milvus", "--milvus-uri", "http://milvus:19530",
                                      "--milvus-collection", "news"])
    config = assistant_from(args).config.index
    assert (config.store, config.milvus_uri, config.milvus_collection) == ("milvus", "http://milvus:19530", "news")


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the Milvus Lite server exited"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail(f"the Milvus Lite server did not listen on {port}")


def test_several_processes_answer_from_one_milvus_server(tmp_path, corpus, embedder):
    """A Milvus server (Milvus Lite's, on loopback) shared by this process, which writes and reads, and a
    `citeqa ask` process that answers from it at the same time."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(tmp_path / "srv"),
                               "--host", "127.0.0.1", "--port", str(port)], cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, server)
        uri = f"http://127.0.0.1:{port}"
        writer = Index(IndexConfig(path=tmp_path / "w", store="milvus", milvus_uri=uri, milvus_collection="news"),
                       embedder=embedder)
        writer.add([corpus])
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        ask = subprocess.Popen([sys.executable, "-m", "citeqa.cli", "ask", "How many stalls were destroyed?", "--json",
                                "--generator", "extractive", "--config", "judge=false", "--index", str(tmp_path / "reader"),
                                "--store", "milvus", "--milvus-uri", uri, "--milvus-collection", "news"],
                               cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while ask.poll() is None:  # this process keeps reading meanwhile
            assert writer.search("Who cut the ribbon?", k=1)[0].source == "harbour.txt"
            time.sleep(0.2)
        out, err = ask.communicate()
        assert ask.returncode == 0, err
        answer = json.loads(out)
        assert answer["citations"][0]["source"] == "market.html" and not answer["abstained"]
        writer.close()
    finally:
        stop(server)


def test_bench_parser_takes_the_store_flags():
    from bench.cli import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--store", "faiss", "milvus", "--milvus-uri", "http://db:19530"])
    assert (args.stores, args.milvus_uri) == (["faiss", "milvus"], "http://db:19530")


def test_store_comparison_reports_both_stores(tmp_path, corpus, embedder):
    from bench.stores import compare_stores, table

    queries = ["Harbour Bridge repairs", "library design award", "market fire stalls"]
    results = compare_stores(corpus, queries, tmp_path / "out", embedder=embedder)
    assert set(results["stores"]) == {"faiss", "milvus"}
    for row in results["stores"].values():
        assert row["documents"] == 3 and row["chunks"] == results["embedding"]["chunks"]
        assert row["retrieval_ms"]["count"] == 3 and row["retrieval_ms"]["p95"] >= row["retrieval_ms"]["p50"] > 0
    assert results["same_top_sources"] == "3/3"
    assert "| milvus |" in table(results)
