"""Load, chunk and embed on a Ray cluster (`citeqa index --ray ADDRESS`); the driver still writes the index.

How files reach the workers: the driver reads and hashes every file anyway, to leave unchanged ones out
before any work is shipped, so it sends the bytes it hashed (`RayBuild.send`) into Ray's object store, in
blocks of `FILES_PER_TASK` files; workers fetch the blocks from there. No shared filesystem is needed (the
files may live on the driver's node only), the hash stored is the hash of exactly the bytes indexed, and the
cost is small: an article is a few kilobytes on the wire against tens of milliseconds of embedding per chunk.
The object store spills to disk, so the driver holds one block at a time, not the corpus. The driver runs
on a node of the cluster: Ray Data does not run through Ray Client (`ray://`).

Each worker is a Ray Data actor holding one `Embedder` (the engine the driver chose, as a local run would; the
compute type its own CPU prefers, as on any machine) on one CPU: the one-thread layout of local bulk indexing, spread
over processes and machines instead of threads. A worker that dies is restarted by Ray and its blocks are
run again; a block's result reaches the driver once, so a retry never duplicates a chunk. Results stream
back in the order the files were sent, and the driver writes them through the store's usual writer and
generation commit (`Index.add`), so a driver that dies leaves the previous generation live.

Only `Index.add(..., ray=ADDRESS)` imports this module: `citeqa ask` and `chat` never import Ray.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from index.backend import IndexError_
from index.documents import Chunk, Document
from index.loaders import RawFile, SkipFile, parse_file

if TYPE_CHECKING:
    import pyarrow as pa  # installed with ray[data], like Ray: imported where it is used

log = logging.getLogger("citeqa.index")

FILES_PER_TASK = 16  # files per block and per task: about 90 news chunks, 1-3 s on one core; what a retry redoes
BLOCK_BYTES = 64 << 20  # a block closes early past this many bytes (large PDFs)
CPUS_PER_WORKER = 1
INSTALL = "pip install 'citeqa[cluster]'"


class ClusterError(IndexError_):
    """Ray is missing, or the cluster cannot be reached or failed; the message says what to do."""


@dataclass(frozen=True, slots=True)
class BuildSettings:
    """What every worker needs to chunk and embed as a local run would. `backend` is decided by the driver (the
    engine a local run would use); `dtype` "auto" lets each worker take its own CPU's compute type."""

    model: str
    backend: str
    dtype: str
    chunk_tokens: int
    overlap_tokens: int
    batch_size: int


@dataclass(frozen=True, slots=True)
class Engine:
    """The embedding engine a worker ran, as a new index's manifest records it."""

    backend: str
    dtype: str
    dimension: int


@dataclass(frozen=True, slots=True)
class Built:
    """What the cluster made of one file sent as `order`: its Document, chunks and their vectors (no chunks when
    it was not to be embedded), or the reason it has none."""

    order: int
    document: Document | None
    reason: str
    chunks: tuple[Chunk, ...]
    vectors: np.ndarray
    engine: Engine

    def renamed(self, source: str) -> Built:
        """The same result for a file of the same bytes and loader under another source."""
        if self.document is None:
            return self
        chunks = tuple(replace(c, source=source) for c in self.chunks)
        return replace(self, document=replace(self.document, source=source), chunks=chunks)


def _ray():
    try:
        import ray
    except ImportError:
        raise ClusterError(f"--ray needs Ray: {INSTALL} (on the driver and on every node of the cluster)") from None
    return ray


class RayBuild:
    """One connection to a cluster for one run: `send` files, then `run` them, within `with RayBuild(...)`.

    `address` is "local" (a new local cluster for this run, shut down after it), "auto" (the cluster this
    machine belongs to) or the "host:port" of its head node. Ray Client addresses (ray://) are refused: Ray
    Data does not run through Ray Client (ray-project/ray#42739). When the calling process is already connected
    (`ray.init` done by the Python API's caller), that connection is used and left open.
    """

    def __init__(self, address: str) -> None:
        if not address:
            raise ValueError("--ray needs an address: local, auto or the host:port of the cluster's head node")
        if address.startswith("ray://"):
            raise ClusterError(f"{address} is a Ray Client address, and Ray Data does not run through Ray Client: run "
                               "citeqa index on a node of the cluster (`ray start --address HEAD:6379` there) with "
                               "--ray auto (docs/scale.md)")
        self.address = address
        self.ray = _ray()
        self._started = False
        self._blocks: list = []
        self._rows: list[dict] = []
        self._bytes = 0
        self.files = 0

    def __enter__(self) -> RayBuild:
        return self

    def __exit__(self, *exc_info) -> None:
        self._blocks.clear()
        if self._started:
            self.ray.shutdown()

    def _connect(self) -> None:
        """On the first file sent: a run with nothing to embed starts and reaches no cluster."""
        ray = self.ray
        if ray.is_initialized():
            return
        try:
            if self.address == "local":
                ray.init(address="local", include_dashboard=False, logging_level=logging.WARNING,
                         log_to_driver=False)
            else:
                ray.init(address=self.address, logging_level=logging.WARNING, log_to_driver=False)
        except Exception as exc:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, ValueError...
            raise ClusterError(f"cannot reach the Ray cluster at {self.address} ({_short(exc)}): start it (`ray start "
                               "--head` on its head node) or pass --ray local to start one on this machine") from None
        self._started = True

    def send(self, order: int, raw: RawFile) -> None:
        """Put a file's bytes into the cluster's object store (in blocks); `order` comes back with its result."""
        self._connect()
        self._rows.append({"order": order, "source": raw.source, "name": raw.name, "data": raw.data,
                           "sha256": raw.sha256})
        self._bytes += len(raw.data)
        self.files += 1
        if len(self._rows) >= FILES_PER_TASK or self._bytes >= BLOCK_BYTES:
            self._seal()

    def _seal(self) -> None:
        import pyarrow as pa

        if self._rows:
            table = pa.Table.from_pylist(self._rows, schema=pa.schema([
                ("order", pa.int64()), ("source", pa.string()), ("name", pa.string()), ("data", pa.large_binary()),
                ("sha256", pa.string())]))
            self._blocks.append(self.ray.put(table))
        self._rows, self._bytes = [], 0

    def workers(self) -> int:
        """One worker per CPU of the cluster as it is now."""
        return max(1, int(self.ray.cluster_resources().get("CPU", 1) // CPUS_PER_WORKER))

    def run(self, settings: BuildSettings, skip_embedding: frozenset[str] = frozenset(),
            progress: bool = False) -> Iterator[Built]:
        """Load, chunk and embed every file sent, on the cluster; results in the order sent. A file whose hash is
        in `skip_embedding` is loaded but not embedded (a document that stays holds its bytes already)."""
        self._seal()
        if not self._blocks:
            return
        import ray.data  # configures its logger, once
        from tqdm.auto import tqdm

        # Ray Data logs each run's plan and progress on the console; citeqa shows its own bar (-v shows them).
        logging.getLogger("ray.data").setLevel(logging.DEBUG if log.isEnabledFor(logging.DEBUG) else logging.ERROR)
        workers = self.workers()
        try:
            dataset = ray.data.from_arrow_refs(self._blocks).map_batches(
                Worker, batch_size=None, batch_format="pyarrow", num_cpus=CPUS_PER_WORKER,
                compute=ray.data.ActorPoolStrategy(min_size=1, max_size=workers, initial_size=workers),
                fn_constructor_kwargs={"settings": settings, "skip_embedding": skip_embedding})
            dataset.context.execution_options.preserve_order = True  # written in file order, as a local run
            dataset.context.enable_progress_bars = False
            log.info("building on %d Ray workers at %s", workers, self.address)
            with tqdm(total=self.files, desc="Indexing on Ray", unit="file", disable=not progress) as bar:
                for table in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
                    for row in table.to_pylist():
                        bar.update(1)
                        yield decode(row)
        except ray.exceptions.RayError as exc:
            raise ClusterError(f"the Ray cluster at {self.address} failed ({_short(exc)}); nothing of this run was "
                               "published: run it again") from None


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    return text if len(text) <= limit else text[:limit - 1] + "…"


class Worker:
    """A Ray Data actor: one Embedder and Chunker, loaded once, for every block it is given."""

    def __init__(self, settings: BuildSettings, skip_embedding: frozenset[str]) -> None:
        from index.chunking import Chunker
        from index.embedding import Embedder
        from index.encoders import CT2Encoder, engine_of

        # One CPU: CTranslate2 runs the bulk layout's small batches on one thread, torch one thread.
        batch = CT2Encoder.bulk_batch if engine_of(settings.backend) == "ctranslate2" else settings.batch_size
        self.embedder = Embedder(settings.model, batch_size=batch, threads=CPUS_PER_WORKER, backend=settings.backend,
                                 dtype=settings.dtype)
        self.chunker = Chunker(self.embedder.count_tokens, settings.chunk_tokens, settings.overlap_tokens)
        self.skip_embedding = skip_embedding

    def __call__(self, block: pa.Table) -> pa.Table:
        import pyarrow as pa

        rows = block.to_pylist()
        documents: list[Document | None] = []
        reasons: list[str] = []
        for row in rows:
            try:
                documents.append(parse_file(RawFile(row["source"], row["name"], row["data"], row["sha256"])))
                reasons.append("")
            except SkipFile as exc:
                documents.append(None)
                reasons.append(str(exc))
        chunked = [self.chunker.run(d) if d is not None and d.sha256 not in self.skip_embedding else []
                   for d in documents]
        vectors = self.embedder.encode_documents([c.text for chunks in chunked for c in chunks],
                                                 threads=CPUS_PER_WORKER)
        out, offset = [], 0
        for row, document, reason, chunks in zip(rows, documents, reasons, chunked, strict=True):
            mine = vectors[offset:offset + len(chunks)]
            offset += len(chunks)
            out.append({
                "order": row["order"], "source": row["source"], "sha256": row["sha256"], "reason": reason,
                "title": document.title if document else "", "text": document.text if document else "",
                "metadata": json.dumps(document.metadata if document else {}, ensure_ascii=False),
                "starts": [c.start for c in chunks], "ends": [c.end for c in chunks],
                "vectors": np.ascontiguousarray(mine, dtype=np.float32).tobytes(),
                "backend": self.embedder.backend, "dtype": self.embedder.dtype, "dimension": self.embedder.dimension,
            })
        return pa.Table.from_pylist(out, schema=result_schema())


def result_schema():
    """A worker's result table: one row a file, the vectors as float32 bytes."""
    import pyarrow as pa

    return pa.schema([
        ("order", pa.int64()), ("source", pa.string()), ("sha256", pa.string()), ("reason", pa.string()),
        ("title", pa.string()), ("text", pa.large_string()), ("metadata", pa.large_string()),
        ("starts", pa.list_(pa.int64())), ("ends", pa.list_(pa.int64())), ("vectors", pa.large_binary()),
        ("backend", pa.string()), ("dtype", pa.string()), ("dimension", pa.int64())])


def decode(row: dict) -> Built:
    """A worker's result row as the driver writes it."""
    engine = Engine(row["backend"], row["dtype"], int(row["dimension"]))
    vectors = np.frombuffer(row["vectors"], dtype=np.float32).reshape(len(row["starts"]), engine.dimension)
    if row["reason"]:
        return Built(row["order"], None, row["reason"], (), vectors, engine)
    source = row["source"]
    document = Document(source, row["title"], row["text"], row["sha256"], json.loads(row["metadata"]))
    spans = zip(row["starts"], row["ends"], strict=True)
    chunks = tuple(Chunk(source, document.text[s:e], s, e, n) for n, (s, e) in enumerate(spans))
    return Built(row["order"], document, "", chunks, vectors, engine)
