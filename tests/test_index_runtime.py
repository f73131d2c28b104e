import threading
import time

import torch

from index.runtime import OFFLINE_ENV, go_offline, query_threads


def test_offline_fills_in_what_the_user_did_not_set():
    environ = {"HF_HUB_OFFLINE": "0", "PATH": "/bin"}
    go_offline(environ)
    assert environ == {**OFFLINE_ENV, "HF_HUB_OFFLINE": "0", "PATH": "/bin"}


def test_a_block_runs_on_the_given_thread_count_and_restores_it():
    before = torch.get_num_threads()
    with query_threads(1):
        inside = torch.get_num_threads()
    assert (inside, torch.get_num_threads()) == (1, before)


def test_a_block_searches_faiss_on_the_given_thread_count_and_restores_it():
    import faiss

    before = faiss.omp_get_max_threads()
    with query_threads(1):
        inside = faiss.omp_get_max_threads()
    assert (inside, faiss.omp_get_max_threads()) == (1, before)


def test_none_leaves_the_thread_count_alone():
    before = torch.get_num_threads()
    with query_threads(None):
        assert torch.get_num_threads() == before


def test_concurrent_blocks_never_leave_torch_on_one_thread():
    """Unserialised save/restore pairs interleave and can restore the 1 another block set."""
    torch.set_num_threads(2)

    def many() -> None:
        for _ in range(100):
            with query_threads(1):
                time.sleep(0.0005)  # an encode releases the GIL: other blocks run meanwhile

    threads = [threading.Thread(target=many) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after: list[int] = []  # as the next request's thread sees it (the main thread keeps its own view)
    reader = threading.Thread(target=lambda: after.append(torch.get_num_threads()))
    reader.start()
    reader.join()
    assert after == [2]


def _recording(embedder, seen: list):
    class Recording:  # the real embedder, with the thread counts of each encode written down
        def __getattr__(self, name):
            return getattr(embedder, name)

        def encode(self, texts, progress=False, threads=None):
            seen.append((threads, torch.get_num_threads()))
            return embedder.encode(texts, progress=progress, threads=threads)

    return Recording()


def test_queries_are_embedded_on_the_configured_threads(make_index, corpus, embedder):
    seen: list[tuple] = []
    index = make_index()
    index.add([corpus])
    from index.corpus import Index

    Index(index.config.with_(query_threads=1), embedder=_recording(embedder, seen)).embed_query("bridge?")
    assert seen[0][0] == 1


def test_torch_queries_run_torch_on_the_configured_threads(tmp_path, corpus):
    from index.config import IndexConfig
    from index.corpus import Index
    from index.embedding import Embedder

    seen: list[tuple] = []
    torch_embedder = Embedder(backend="transformers", dtype="float32")
    Index(IndexConfig(path=tmp_path / "i", query_threads=1), embedder=torch_embedder).add([corpus])
    Index(IndexConfig(path=tmp_path / "i", query_threads=1),
          embedder=_recording(torch_embedder, seen)).embed_query("bridge?")
    assert seen == [(1, 1)]
