"""Indexing on a local Ray cluster against a local run, on the same news articles (docs/scale.md has the figures).

    python -m bench.cluster [--news 200] [--workers 1 2] [--store faiss|milvus] [--backend auto|ctranslate2|...]

For the local run and for clusters of 1, 2, ... one-CPU nodes on this machine (`ray.cluster_utils.Cluster`),
each indexes the articles into a fresh index through `Index.add`, timed whole (`citeqa index` without process
start). On each cluster the build is then run again without a store (`index.cluster.RayBuild` alone), timing
each result: the first arrives after the workers start and load the embedder and one block is done (the
start-up); the blocks after the first round give the steady rate of the workers, the figure a projection to a
larger cluster scales. A few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from index.runtime import go_offline


class CpuTime:
    """CPU seconds spent by this process and every process below it (the local cluster's raylets and workers)
    while the block runs: a figure that other work on the machine inflates far less than the wall clock.

    Ray's workers are not reaped into their parent's CPU account when they exit, so each process is sampled
    every 0.2 s and counted up to its last sample (a worker's last 0.2 s at most is missed)."""

    def __init__(self) -> None:
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.workers: set[int] = set()  # Ray Data's actors: the processes that parse, chunk and embed
        self.seconds = self.worker_seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _read(self, initial: bool = False) -> None:
        """Each process's CPU time now; one that started during the block counts from zero."""
        import psutil

        me = psutil.Process()
        for process in [me, *me.children(recursive=True)]:
            try:
                times = process.cpu_times()
                if process.pid not in self.workers and "MapWorker" in " ".join(process.cmdline()):
                    self.workers.add(process.pid)
            except psutil.Error:
                continue
            self.first.setdefault(process.pid, times.user + times.system if initial else 0.0)
            self.last[process.pid] = times.user + times.system

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self._read()

    def __enter__(self) -> CpuTime:
        self._read(initial=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self._read()
        self.seconds = sum(self.last[pid] - self.first[pid] for pid in self.last)
        self.worker_seconds = sum(self.last[pid] - self.first[pid] for pid in self.workers)


def timed_build(address: str, folder: Path, settings, workers: int) -> tuple[dict, list]:
    """The cluster part alone: files sent, results received and timed; nothing written."""
    from index.cluster import FILES_PER_TASK, RayBuild
    from index.loaders import RawFile, read_files

    started = time.perf_counter()
    stamps: list[float] = []
    results = []
    with CpuTime() as cpu, RayBuild(address) as build:
        for order, item in enumerate(f for f in read_files([folder], 25_000_000) if isinstance(f, RawFile)):
            build.send(order, item)
        sent = time.perf_counter()
        for built in build.run(settings):
            stamps.append(time.perf_counter())
            results.append(built)
    chunks = [len(b.chunks) for b in results]
    first_round = min(len(stamps), FILES_PER_TASK * workers)  # the blocks every worker started with
    steady_seconds = stamps[-1] - stamps[first_round - 1]
    return {"send_s": round(sent - started, 2), "first_result_s": round(stamps[0] - started, 2),
            "seconds": round(stamps[-1] - started, 2), "chunks": sum(chunks),
            "steady_chunks_per_s": round(sum(chunks[first_round:]) / steady_seconds, 1) if steady_seconds > 0 else None,
            "cpu_seconds": round(cpu.seconds, 1)}, results


def timed_write(config, results: list) -> float:
    """Chunks per second the driver writes into a fresh store (the store's writer, publish included): the
    ceiling of a cluster run however many workers embed."""
    from index.corpus import open_store

    engine = results[0].engine
    store = open_store(config)
    started = time.perf_counter()
    writer = store.writer(None, {"embedding_model": config.embedding_model, "embedding_backend": engine.backend,
                                 "embedding_dtype": engine.dtype, "dimension": engine.dimension,
                                 "chunk_tokens": config.chunk_tokens, "overlap_tokens": config.overlap_tokens})
    for built in results:
        writer.put(built.document, list(built.chunks), built.vectors)
    writer.publish()
    seconds = time.perf_counter() - started
    store.close()
    return round(sum(len(b.chunks) for b in results) / seconds, 1)


def main(argv: list[str] | None = None) -> int:
    go_offline()
    parser = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--news", type=int, default=200, help="news articles indexed (default 200)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="cluster sizes in one-CPU nodes")
    parser.add_argument("--store", choices=("faiss", "milvus"), default="faiss")
    parser.add_argument("--backend", default="auto", help="embedding backend (IndexConfig.embedding_backend)")
    args = parser.parse_args(argv)

    import ray
    from ray.cluster_utils import Cluster

    from bench.corpus import write_news
    from index.cluster import BuildSettings
    from index.config import IndexConfig
    from index.corpus import Index

    folder = write_news(args.news)
    scratch = Path(tempfile.mkdtemp(prefix="citeqa-bench-cluster-"))

    def index(name: str) -> Index:
        milvus = {"milvus_uri": str(scratch / name / "m.db")} if args.store == "milvus" else {}
        return Index(IndexConfig(path=scratch / name, store=args.store, embedding_backend=args.backend, **milvus))

    def run(name: str, address: str | None) -> dict:
        target = index(name)
        with CpuTime() as cpu:
            report = target.add([folder], ray=address)
        manifest = target.manifest()
        target.close()
        chunks = report.chunks_embedded
        row = {"seconds": round(report.seconds, 2), "chunks": chunks, "chunks_per_s": round(chunks / report.seconds, 1),
               "cpu_seconds": round(cpu.seconds, 1), "chunks_per_cpu_s": round(chunks / cpu.seconds, 1),
               "engine": f"{manifest['embedding_backend']} {manifest['embedding_dtype']}"}
        if cpu.workers:  # what one worker embeds in a second of its own CPU, and what the rest cost
            row |= {"worker_cpu_seconds": round(cpu.worker_seconds, 1),
                    "chunks_per_worker_cpu_s": round(chunks / cpu.worker_seconds, 1),
                    "other_cpu_seconds": round(cpu.seconds - cpu.worker_seconds, 1)}
        return row

    results: dict = {"news": args.news, "store": args.store, "cores": os.cpu_count(), "load_before": os.getloadavg()}
    try:
        results["local"] = run("local", None)
        print("local", results["local"], flush=True)
        for workers in args.workers:
            cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
            for _ in range(workers - 1):
                cluster.add_node(num_cpus=1)
            ray.init(address=cluster.address, logging_level="WARNING", log_to_driver=False)
            try:
                row = run(f"ray{workers}", cluster.address)
                config = IndexConfig()
                settings = BuildSettings(config.embedding_model, row["engine"].split()[0], config.embedding_dtype,
                                         config.chunk_tokens, config.overlap_tokens, config.batch_size)
                row["cluster_only"], built = timed_build(cluster.address, folder, settings, workers)
                if workers == args.workers[0]:
                    results[f"driver_write_{args.store}_chunks_per_s"] = timed_write(
                        index(f"write{workers}").config, built)
            finally:
                ray.shutdown()
                cluster.shutdown()
            results[f"ray_{workers}"] = row
            print(f"ray, {workers} worker(s)", row, flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results["load_after"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
