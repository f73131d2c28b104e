"""The index as a user sees it: add, remove, list and search, one consistent snapshot at a time."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from filelock import FileLock, Timeout

from index.backend import (SCHEMA_VERSION, DocumentInfo, IndexError_, IndexMismatchError, IndexMissingError, Store,
                           StoreSnapshot, StoreWriter)
from index.config import IndexConfig
from index.documents import Chunk, Document, IndexReport, Passage
from index.fusion import reciprocal_rank_fusion
from index.loaders import Skipped, load_documents, loader_kind, read_files
from index.runtime import query_threads
from index.stores import STORES

if TYPE_CHECKING:
    from index.cluster import RayBuild  # imports Ray: only under `add(ray=...)`

log = logging.getLogger("citeqa.index")
SearchMode = Literal["hybrid", "dense", "keyword"]


def open_store(config: IndexConfig) -> Store:
    """The store `config.store` names, given the settings of `config` its constructor takes. Nothing connects
    or reads yet."""
    store = STORES[config.store]
    return store(**{name: getattr(config, name) for name in inspect.signature(store).parameters})


class Index:
    """A store (a folder of generations, or Milvus) plus the embedder that fills it. The embedder loads only
    when needed. `root` is the local folder; it holds the store itself, or only the writers' lock for Milvus."""

    def __init__(self, config: IndexConfig | None = None, embedder=None, store: Store | None = None) -> None:
        self.config = config or IndexConfig()
        self.root = self.config.path
        self.store = store or open_store(self.config)
        self._embedder = embedder
        self._snapshot: StoreSnapshot | None = None
        self._snapshot_lock = threading.Lock()

    # -- reading -------------------------------------------------------------------------------
    @property
    def exists(self) -> bool:
        return self.store.exists()

    @property
    def embedder(self):
        """The embedding model, loaded on first use, on the engine `embedding_backend` chooses: whichever engine
        wrote the index, the same model's vectors search it (`index.encoders`)."""
        if self._embedder is None:
            from index.embedding import Embedder

            self._embedder = Embedder(self.config.embedding_model, batch_size=self.config.batch_size,
                                      backend=self.config.embedding_backend, dtype=self.config.embedding_dtype)
        return self._embedder

    @property
    def loaded_embedder(self):
        """The embedder if it is loaded, else None: for sharing it without forcing a load."""
        return self._embedder

    def snapshot(self) -> StoreSnapshot:
        """The live generation; reopened only when a writer has published a newer one.

        Safe from many threads. A replaced snapshot is never closed here: a thread may still be searching it,
        and it closes by itself when the last one lets go. Pass the snapshot to `search`/`document` to read
        several things from one generation while a writer publishes the next.
        """
        with self._snapshot_lock:
            fresh = self.store.open(self._snapshot)
            if fresh is not self._snapshot:
                self._check_compatible(fresh.manifest)
                self._snapshot = fresh
            return self._snapshot

    def _check_compatible(self, manifest: dict) -> None:
        if manifest.get("schema_version") != SCHEMA_VERSION:
            raise IndexMismatchError(
                f"the index at {self.root} has schema version {manifest.get('schema_version')}, this citeqa "
                f"reads version {SCHEMA_VERSION}: run `citeqa index --rebuild PATH... --index {self.root}`"
            )
        if manifest.get("embedding_model") != self.config.embedding_model:
            raise IndexMismatchError(
                f"the index at {self.root} was built with embedding model {manifest.get('embedding_model')!r}, "
                f"you asked for {self.config.embedding_model!r}: run `citeqa index --rebuild PATH... "
                f"--index {self.root}`, or use the model it was built with"
            )

    def documents(self, snapshot: StoreSnapshot | None = None) -> list[DocumentInfo]:
        return (snapshot or self.snapshot()).documents()

    def document(self, source: str, snapshot: StoreSnapshot | None = None) -> Document | None:
        return (snapshot or self.snapshot()).document(source)

    def manifest(self) -> dict:
        return dict(self.snapshot().manifest)

    # -- searching -----------------------------------------------------------------------------
    def embed_query(self, query: str) -> np.ndarray:
        threads = self.config.query_threads
        with query_threads(threads if self.embedder.engine == "torch" else None):  # robust on busy cores
            return self.embedder.encode([query], threads=threads)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors of texts compared with a query's (evidence sentences): the query's compute type, one batch."""
        return self.embedder.encode(texts)

    def search(self, query: str, k: int = 5, mode: SearchMode = "hybrid",
               query_vector: np.ndarray | None = None, snapshot: StoreSnapshot | None = None) -> list[Passage]:
        """The k best passages. Hybrid fuses dense and BM25 rankings with RRF; scores are kept for both.

        `snapshot` pins the generation searched (default: the live one), so that offsets can be checked
        against `snapshot.document(source)` even while a writer publishes.
        """
        if k <= 0:
            raise ValueError("k must be positive")
        snap = snapshot or self.snapshot()
        if snap.size == 0 or not query.strip():
            return []
        depth = max(k, self.config.candidates)
        dense: list[tuple[int, float]] = []
        keyword: list[tuple[int, float]] = []
        if mode in ("hybrid", "dense"):
            vector = query_vector if query_vector is not None else self.embed_query(query)
            with query_threads(self.config.query_threads):
                dense = snap.dense_search(vector, depth)
        if mode in ("hybrid", "keyword"):
            keyword = snap.keyword_search(query, depth)
        weighted = [(ranking, weight) for ranking, weight in
                    ((dense, self.config.dense_weight), (keyword, self.config.keyword_weight)) if ranking]
        fused = reciprocal_rank_fusion([[i for i, _ in r] for r, _ in weighted], self.config.rrf_k,
                                       [w for _, w in weighted])
        best = sorted(fused, key=lambda i: -fused[i])[:k]
        dense_score = dict(dense)
        keyword_score = dict(keyword)
        dense_rank = {i: r for r, (i, _) in enumerate(dense, start=1)}
        keyword_rank = {i: r for r, (i, _) in enumerate(keyword, start=1)}
        rows = snap.chunks(best)
        # Chunks found only by BM25 have no dense score yet; compute it so every passage carries both.
        need = [i for i in best if i not in dense_score and mode == "hybrid"]
        if need:
            vector = query_vector if query_vector is not None else self.embed_query(query)
            dense_score.update(snap.dense_scores(vector, need))
        passages = []
        for i in best:
            chunk, title = rows[i]
            passages.append(Passage(
                chunk_id=i, source=chunk.source, title=title, text=chunk.text, start=chunk.start, end=chunk.end,
                score=fused[i], dense_score=dense_score.get(i), keyword_score=keyword_score.get(i),
                dense_rank=dense_rank.get(i), keyword_rank=keyword_rank.get(i),
            ))
        return passages

    # -- writing -------------------------------------------------------------------------------
    def _lock(self) -> FileLock:
        self.root.mkdir(parents=True, exist_ok=True)
        return FileLock(self.root / ".lock", timeout=self.config.lock_timeout)

    @property
    def max_bytes(self) -> int:
        return int(self.config.max_file_mb * 1_000_000)

    def _backend(self) -> str:
        """The embedding backend more chunks are embedded with, decided once here for every Ray worker: the
        configured one, `auto` chosen for the model as a local run chooses it (`index.encoders.choose_backend`)."""
        backend = self.config.embedding_backend
        if backend != "auto":
            return backend
        from index.embedding import resolve_model_path
        from index.encoders import choose_backend

        return choose_backend(resolve_model_path(self.config.embedding_model))

    def _writer(self, rebuild: bool, engine=None) -> StoreWriter:
        """A writer of the next generation; a new index records `engine`'s backend, dtype and dimension (default:
        the embedder of this process)."""
        base = None
        if not rebuild and self.exists:
            base = self.snapshot()
        if base is None:
            engine = engine or self.embedder
        manifest = dict(base.manifest) if base else {
            "embedding_model": self.config.embedding_model,
            "embedding_backend": engine.backend,
            "embedding_dtype": engine.dtype,
            "dimension": engine.dimension,
            "chunk_tokens": self.config.chunk_tokens,
            "overlap_tokens": self.config.overlap_tokens,
        }
        return self.store.writer(base, manifest)

    def _publish(self, writer: StoreWriter, removed: list[str]) -> None:
        """Remove `removed`, publish what `writer` holds, and read the new generation from then on."""
        for source in removed:
            writer.remove(source)
        writer.publish()
        with self._snapshot_lock:
            self._snapshot = None  # not closed: other threads may be searching it

    def _locked(self):
        lock = self._lock()
        try:
            lock.acquire(timeout=0)
        except Timeout:
            log.warning("another citeqa run is updating %s; waiting up to %.0f s", self.root,
                        self.config.lock_timeout)
            try:
                lock.acquire()
            except Timeout:
                raise TimeoutError(
                    f"another citeqa run kept {self.root} locked for {self.config.lock_timeout:.0f} s; "
                    "wait for it to finish and try again"
                ) from None
        return lock

    def add(self, paths: Iterable[str | Path], rebuild: bool = False, sync: bool = False,
            progress: bool = False, source_prefix: str = "", ray: str | None = None) -> IndexReport:
        """Index files and folders. Only new or changed documents (by sha256) are chunked and embedded.

        A file whose bytes equal a document that stays indexed under another source is skipped with a
        warning ("same content as ..."). `source_prefix` namespaces the sources (the chat's uploads use
        "uploads/"); with `sync`, only indexed documents under that prefix can be removed. `ray` loads, chunks
        and embeds on the Ray cluster at that address ("local", "auto" or the head's "host:port";
        `index.cluster`), with the same report and the same index as a local run.
        """
        started = time.perf_counter()
        paths = [Path(p) for p in paths]
        lock = self._locked()
        try:
            known = {} if (rebuild or not self.exists) else self.snapshot().hashes()
            run = self._add_here if ray is None else functools.partial(self._add_on_ray, address=ray)
            report = run(paths, known, rebuild, sync, progress, source_prefix)
            self.store.collect_garbage()
        finally:
            lock.release()
        return dataclasses.replace(report, seconds=time.perf_counter() - started)

    def _add_here(self, paths: list[Path], known: dict[str, str], rebuild: bool, sync: bool, progress: bool,
                  source_prefix: str) -> IndexReport:
        added, updated, unchanged, skipped, todo = [], [], [], [], []
        seen: set[str] = set()
        for item in load_documents(paths, self.max_bytes, source_prefix):
            seen.add(item.source)
            if isinstance(item, Skipped):
                skipped.append((item.source, item.reason))
            elif known.get(item.source) == item.sha256:
                unchanged.append(item.source)
            else:
                todo.append(item)
        removed = self._vanished(known, seen, sync, source_prefix)
        todo = self._drop_duplicates(todo, known, removed, skipped)
        for item in todo:
            (updated if item.source in known else added).append(item.source)
        embedded = 0
        if todo or removed or rebuild or not self.exists:
            embedded = self._write(todo, removed, rebuild, progress)
        return IndexReport(tuple(added), tuple(updated), tuple(unchanged), tuple(removed), tuple(skipped), embedded)

    def _add_on_ray(self, paths: list[Path], known: dict[str, str], rebuild: bool, sync: bool, progress: bool,
                    source_prefix: str, address: str) -> IndexReport:
        """`_add_here` with loading, chunking and embedding on a Ray cluster (`index.cluster`).

        Unchanged files never leave this process; the others' bytes go to the cluster (`_send`), and the
        results come back in file order and are written as they come. A result whose bytes another file or
        an indexed document also has may be a duplicate: it waits until every file is in, and
        `_drop_duplicates` decides as in a local run.
        """
        from index.cluster import Built, BuildSettings, RayBuild

        written: dict[int, int] = {}  # order -> chunks written
        held: dict[int, Built] = {}  # possible duplicates
        failed: list[tuple[int, str, str]] = []  # (order, source, reason) of files the workers could not load
        writer: StoreWriter | None = None

        def put(order: int, built: Built) -> None:
            nonlocal writer
            writer = writer or self._writer(rebuild, built.engine)
            writer.put(built.document, list(built.chunks), built.vectors)
            written[order] = len(built.chunks)

        with RayBuild(address) as build:
            sent = self._send(build, paths, known, source_prefix)
            sources, digests = sent.sources, sent.digests
            removed = self._vanished(known, sent.seen, sync, source_prefix)
            # Bytes a document that stays whatever happens already holds: a file of them is loaded, not embedded.
            staying = {d for s, d in known.items() if s not in removed and s not in sources.values()}
            sharing = Counter(digests.values()) + Counter(known.values())
            settings = BuildSettings(self.config.embedding_model, self._backend(), self.config.embedding_dtype,
                                     self.config.chunk_tokens, self.config.overlap_tokens, self.config.batch_size)
            try:
                for built in build.run(settings, frozenset(staying & set(digests.values())), progress):
                    for order in (built.order, *sent.copies.get(built.order, ())):
                        if built.document is None:
                            failed.append((order, sources[order], built.reason))
                            log.warning("skipped %s: %s", sources[order], built.reason)
                        elif sharing[digests[order]] == 1:  # no other file or document has these bytes
                            put(order, built)
                        else:
                            held[order] = built.renamed(sources[order])
                skipped = [(source, reason) for _, source, reason in sorted([*sent.failed, *failed])]
                loaded = [held[o].document if o in held else Document(sources[o], "", "", digests[o])
                          for o in sorted((*held, *written, *sent.twins))]
                kept = {d.source for d in self._drop_duplicates(loaded, known, removed, skipped)}
                for order in sorted(o for o in held if sources[o] in kept):
                    put(order, held[order])
                if writer is None and (removed or rebuild or not self.exists):
                    writer = self._writer(rebuild)
                if writer is not None:
                    self._publish(writer, removed)
            except BaseException:
                if writer is not None:
                    writer.abort()
                raise
        done = [(sources[o], sources[o] in known) for o in sorted(written)]
        return IndexReport(tuple(s for s, old in done if not old), tuple(s for s, old in done if old),
                           sent.unchanged, tuple(removed), tuple(skipped), sum(written.values()))

    def _send(self, build: RayBuild, paths: list[Path], known: dict[str, str], source_prefix: str) -> _Sent:
        """Read and hash every file, and send to the cluster those to index. A file with the bytes and loader of
        one sent before, or of an unchanged document, is not sent: it loads as that one did."""
        unchanged, failed, seen = [], [], set()
        sources: dict[int, str] = {}
        digests: dict[int, str] = {}
        copies: dict[int, list[int]] = {}
        twins: list[int] = []
        first: dict[tuple[str, str], int] = {}
        indexed: set[tuple[str, str]] = set()
        for order, item in enumerate(read_files(paths, self.max_bytes, source_prefix)):
            seen.add(item.source)
            if isinstance(item, Skipped):
                failed.append((order, item.source, item.reason))
                continue
            kind = (item.sha256, loader_kind(item.name))
            if known.get(item.source) == item.sha256:
                unchanged.append(item.source)
                indexed.add(kind)
                continue
            sources[order], digests[order] = item.source, item.sha256
            if kind in indexed:
                twins.append(order)
            elif (sent := first.setdefault(kind, order)) == order:
                build.send(order, item)
            else:
                copies.setdefault(sent, []).append(order)
        return _Sent(tuple(unchanged), tuple(failed), frozenset(seen), sources, digests, copies, tuple(twins))

    @staticmethod
    def _vanished(known: dict[str, str], seen: set[str], sync: bool, source_prefix: str) -> list[str]:
        """With `sync`, the indexed documents under the prefix whose files are gone."""
        return sorted(s for s in set(known) - seen if s.startswith(source_prefix)) if sync else []

    @staticmethod
    def _drop_duplicates(todo: list[Document], known: dict[str, str], removed: list[str],
                         skipped: list[tuple[str, str]]) -> list[Document]:
        """`todo` without files whose content a document that stays already holds, or an earlier file of this
        run. Each is skipped with "same content as ..."; an indexed source whose file became a duplicate is
        appended to `removed`, so that its previous content does not linger."""
        staying = {s: h for s, h in known.items() if s not in removed}
        for item in todo:
            staying.pop(item.source, None)  # its old content is going
        owner: dict[str, str] = {}
        for source, digest in sorted(staying.items()):
            owner.setdefault(digest, source)
        kept = []
        for item in todo:
            first = owner.setdefault(item.sha256, item.source)
            if first == item.source:
                kept.append(item)
                continue
            reason = f"same content as {first}"
            log.warning("skipped %s: %s", item.source, reason)
            skipped.append((item.source, reason))
            if item.source in known:
                removed.append(item.source)
        return kept

    def remove(self, sources: Iterable[str]) -> IndexReport:
        """Delete documents by source, with their chunks and vectors; no rebuild."""
        started = time.perf_counter()
        sources = list(sources)
        lock = self._locked()
        try:
            known = self.snapshot().hashes()
            missing = [s for s in sources if s not in known]
            if missing:
                raise KeyError(f"not in the index: {', '.join(missing)} (see `citeqa list`)")
            self._write([], sources, rebuild=False, progress=False)
            self.store.collect_garbage()
        finally:
            lock.release()
        return IndexReport(removed=tuple(sources), seconds=time.perf_counter() - started)

    def _write(self, documents: list[Document], removed: list[str], rebuild: bool, progress: bool) -> int:
        from index.chunking import Chunker

        chunker = Chunker(self.embedder.count_tokens, self.config.chunk_tokens, self.config.overlap_tokens)
        chunked: list[tuple[Document, list[Chunk]]] = [(d, chunker.run(d)) for d in documents]
        texts = [c.text for _, chunks in chunked for c in chunks]
        vectors = self.embedder.encode_documents(texts, progress=progress and len(texts) > 64)
        writer = self._writer(rebuild)
        try:
            offset = 0
            for document, chunks in chunked:
                writer.put(document, chunks, vectors[offset:offset + len(chunks)])
                offset += len(chunks)
            self._publish(writer, removed)
        except BaseException:
            writer.abort()
            raise
        return len(texts)

    def close(self) -> None:
        """Close the open snapshot now; only when no other thread is using this Index."""
        with self._snapshot_lock:
            snapshot, self._snapshot = self._snapshot, None
        if snapshot is not None:
            snapshot.close()
        self.store.close()


@dataclass(frozen=True, slots=True)
class _Sent:
    """What `Index._send` did with each file of a Ray run, by its order among the files."""

    unchanged: tuple[str, ...]
    failed: tuple[tuple[int, str, str], ...]  # (order, source, reason) of files skipped before sending
    seen: frozenset[str]
    sources: dict[int, str]  # the files to index: neither skipped nor unchanged
    digests: dict[int, str]
    copies: dict[int, list[int]]  # a file sent -> later files of the same bytes and loader, not sent
    twins: tuple[int, ...]  # files of the bytes and loader of an unchanged document, not sent


def require_index(index: Index) -> None:
    if not index.exists:
        raise IndexMissingError(f"no index at {index.root}: run `citeqa index PATH... --index {index.root}` first")
