"""The index in Milvus: the same views and writers as the embedded store, in two collections.

`<name>_chunks` holds one row per chunk: its text, source, offsets and position, the dense vector, and the
chunk's terms (the same tokens as index.keyword, so Milvus's BM25 function ranks like the embedded BM25).
`<name>_documents` holds each document's text and metadata in pieces (VARCHAR tops out at 65,535 bytes), its
title, hash, size and time, and one row for the manifest.

Milvus has no transactions, so every row carries the generation (`gen`) of the write that made it, and the
manifest row, written last, is the commit. A view of generation G sees rows with floor <= gen <= G, minus
rows of the sources that publish G replaced or removed (`retired`) older than G. A document that fails
halfway is therefore never visible; its rows are newer than the live generation and the next writer deletes
them. Rows a publish retired stay one more generation for readers still answering from the previous view.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from index.backend import (MILVUS_TOKEN_ENV, SCHEMA_VERSION, DocumentInfo, IndexError_, IndexMismatchError,
                           IndexMissingError, StoreUnavailableError)
from index.documents import Chunk, Document
from index.keyword import tokenize

log = logging.getLogger("citeqa.index")

LAYOUT = 1  # of the two collections; a different layout needs `citeqa index --rebuild`
MANIFEST_KEY = "manifest"
PIECE_CHARS = 15_000  # at most 60,000 bytes in UTF-8, under VARCHAR's limit of 65,535
BATCH_ROWS = 512
MAX_TEXT = 65_535
MANIFEST_PART, RETIRED_PART = -1, -2  # `part` of the rows that are not document pieces
CHUNK_FIELDS = ["id", "source", "text", "start", "end", "position"]
KEPT_ROWS = 5_000  # chunk rows a snapshot keeps from its searches, so that reading the passages costs no call
BM25_PARAMS = {"bm25_k1": 1.5, "bm25_b": 0.75}  # as index.keyword.KeywordIndex
_BUILD_PARAMS = {"HNSW": {"M": 16, "efConstruction": 200}, "IVF_FLAT": {"nlist": 1024}}
MILVUS_INDEXES = ("FLAT", "HNSW", "IVF_FLAT", "IVF_PQ", "DISKANN", "AUTOINDEX")  # the last three: servers only
_COLLECTION = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,200}")


def check_milvus_settings(uri: str, collection: str, index_kind: str) -> None:
    """`uri` and `collection` may be "": `MilvusStore` then names them after the index folder."""
    if uri and not (uri.endswith(".db") or re.match(r"(https?|tcp|unix)://", uri)):
        raise ValueError(f"milvus_uri must be a Milvus Lite file ending in .db or a server URL such as "
                         f"http://localhost:19530, not {uri!r}")
    if collection and not _COLLECTION.fullmatch(collection):
        raise ValueError(f"milvus_collection must be letters, digits and underscores (not starting with a digit), "
                         f"not {collection!r}")
    if index_kind not in MILVUS_INDEXES:
        raise ValueError(f"milvus_index must be one of {', '.join(MILVUS_INDEXES)}, not {index_kind!r}")


def literal(text: str) -> str:
    """A string literal of Milvus's filter language."""
    for char, escaped in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        text = text.replace(char, escaped)
    return f'"{text}"'


def literals(items: Any) -> str:
    return "[" + ", ".join(literal(i) for i in items) + "]"


def pieces(text: str) -> list[str]:
    return [text[i:i + PIECE_CHARS] for i in range(0, len(text), PIECE_CHARS)] or [""]


def dense_params(kind: str, dimension: int) -> dict[str, Any]:
    if kind == "IVF_PQ":
        return {"nlist": 1024, "m": next(m for m in (dimension // 8, dimension // 4, dimension // 2, dimension)
                                         if m and dimension % m == 0)}
    return _BUILD_PARAMS.get(kind, {})


def search_params(kind: str, k: int, nprobe: int) -> dict[str, Any]:
    params = {"HNSW": {"ef": max(k, 64)}, "IVF_FLAT": {"nprobe": nprobe}, "IVF_PQ": {"nprobe": nprobe},
              "DISKANN": {"search_list": max(k, 100)}}.get(kind, {})
    return {"metric_type": "IP", "params": params}


@dataclass(frozen=True, slots=True)
class View:
    """Which rows a manifest makes visible."""

    generation: int
    floor: int
    retired: tuple[str, ...]

    @classmethod
    def of(cls, manifest: dict[str, Any], retired: list[str]) -> View:
        return cls(int(manifest["generation"]), int(manifest.get("floor", 0)), tuple(retired))

    def visible(self) -> str:
        rule = f"gen >= {self.floor} and gen <= {self.generation}"
        if self.retired:
            rule += f" and not (source in {literals(self.retired)} and gen < {self.generation})"
        return rule

    def superseded(self) -> str:
        """Rows no reader of this view or a newer one needs."""
        rule = f"gen < {self.floor}"
        if self.retired:
            rule += f" or (source in {literals(self.retired)} and gen < {self.generation})"
        return rule


class MilvusStore:
    """Milvus Lite (a *.db file, one process) or a Milvus server (many processes) behind the Store protocol.

    `milvus_uri` is a Milvus Lite file or a server URL ("": milvus.db in the index folder `path`), and
    `milvus_collection` names the pair of collections ("": after that folder). `milvus_index` is the dense index
    Milvus builds, `ivf_nprobe` the cells an IVF search scans. Nothing connects until it is used."""

    name: ClassVar[str] = "milvus"

    def __init__(self, path: str | Path, milvus_uri: str = "", milvus_collection: str = "",
                 milvus_index: str = "FLAT", ivf_nprobe: int = 64) -> None:
        check_milvus_settings(milvus_uri, milvus_collection, milvus_index)
        if ivf_nprobe < 1:
            raise ValueError("ivf_nprobe must be at least 1")
        self.path = Path(path)
        self.uri = milvus_uri or str(self.path / "milvus.db")
        self.collection = milvus_collection or "citeqa_" + re.sub(r"[^A-Za-z0-9_]", "_", self.path.name or "index")
        self.index_kind = milvus_index
        self.nprobe = ivf_nprobe
        self.chunks_name = f"{self.collection}_chunks"
        self.documents_name = f"{self.collection}_documents"
        self.location = f"{self.uri} (collection {self.collection})"
        self._client = None
        self._ready = False
        self._lock = threading.Lock()

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "milvus_uri": self.uri, "milvus_collection": self.collection,
                "milvus_index": self.index_kind, "ivf_nprobe": self.nprobe}

    @property
    def lite(self) -> bool:
        return self.uri.endswith(".db")

    # -- connection ----------------------------------------------------------------------------
    def _fix(self) -> str:
        if self.lite:
            return ("Milvus Lite serves one process at a time: close the other citeqa using it, or serve the file "
                    f"with `milvus-lite server --data-dir {self.uri}` and pass --milvus-uri http://127.0.0.1:19530")
        return (f"start the Milvus server or correct --milvus-uri; a server with authentication takes its token "
                f"from the environment variable {MILVUS_TOKEN_ENV}")

    def _failure(self, exc: BaseException) -> IndexError_:
        detail = " ".join(str(getattr(exc, "message", "") or exc).split())[:200] or exc.__class__.__name__
        return StoreUnavailableError(f"Milvus at {self.uri} failed ({detail}): {self._fix()}. "
                                     "Nothing was changed by this run.")

    @contextmanager
    def _rpc(self) -> Iterator[None]:
        """Every Milvus failure (pymilvus, gRPC, sockets) becomes one message with the URI and the fix."""
        try:
            yield
        except IndexError_:
            raise
        except Exception as exc:  # noqa: BLE001 - pymilvus raises its own, gRPC's and OS errors
            raise self._failure(exc) from None

    def client(self):
        with self._lock:
            if self._client is None:
                from pymilvus import MilvusClient

                if self.lite:
                    Path(self.uri).parent.mkdir(parents=True, exist_ok=True)
                with self._rpc():
                    self._client = MilvusClient(self.uri, token=os.environ.get(MILVUS_TOKEN_ENV, ""), timeout=30)
            return self._client

    def close(self) -> None:
        with self._lock:
            client, self._client, self._ready = self._client, None, False
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing a broken connection must not hide the real error
                log.debug("closing the Milvus client failed", exc_info=True)

    def _prepare(self) -> bool:
        """Load the collections for search (once per connection); False when they do not exist."""
        if self._ready:
            return True
        client = self.client()
        with self._rpc():
            if not (client.has_collection(self.chunks_name) and client.has_collection(self.documents_name)):
                return False
            client.load_collection(self.chunks_name)
            client.load_collection(self.documents_name)
        self._ready = True
        return True

    # -- reading -------------------------------------------------------------------------------
    def query(self, collection: str, rule: str, fields: list[str]) -> list[dict[str, Any]]:
        with self._rpc():
            return list(self.client().query(collection, filter=rule, output_fields=fields))

    def scan(self, collection: str, rule: str, fields: list[str]) -> Iterator[dict[str, Any]]:
        """Every matching row, in batches: a plain query stops at 16,384 rows on a server."""
        with self._rpc():
            rows = self.client().query_iterator(collection, batch_size=2000, filter=rule, output_fields=fields)
            try:
                while batch := rows.next():
                    yield from batch
            finally:
                rows.close()

    def search(self, anns_field: str, data: list, k: int, rule: str, params: dict[str, Any],
               fields: list[str]) -> list[dict]:
        with self._rpc():
            hits = self.client().search(self.chunks_name, data=data, anns_field=anns_field, limit=k, filter=rule,
                                        output_fields=fields, search_params=params)
        return list(hits[0]) if hits else []

    def read_manifest(self) -> tuple[dict[str, Any], list[str]] | None:
        """The live manifest and the sources its publish retired, or None when there is no index."""
        if not self._prepare():
            return None
        rows = self.query(self.documents_name, f"key == {literal(MANIFEST_KEY)}", ["info"])
        if not rows:
            return None
        manifest = json.loads(rows[0]["info"])
        retired: list[str] = []
        if manifest.get("retired_pieces"):
            found = self.query(self.documents_name, f"part == {RETIRED_PART} and gen == {manifest['generation']}",
                               ["key", "body"])
            retired = json.loads("".join(r["body"] for r in sorted(found, key=lambda r: int(r["key"].split("/")[-1]))))
        return manifest, retired

    def exists(self) -> bool:
        if self.lite and not Path(self.uri).exists():
            return False  # do not create the file just to look
        return self.read_manifest() is not None

    def open(self, current: MilvusSnapshot | None) -> MilvusSnapshot:
        live = self.read_manifest()
        if live is None:
            raise IndexMissingError(f"no index in Milvus at {self.location}: run `citeqa index PATH... --store milvus "
                                    f"--milvus-uri {self.uri}` first")
        manifest, retired = live
        if current is not None and current.manifest.get("generation") == manifest.get("generation"):
            return current
        if manifest.get("layout") != LAYOUT:
            raise IndexMismatchError(f"the index in Milvus at {self.location} has layout {manifest.get('layout')}, "
                                     f"this citeqa reads layout {LAYOUT}: run `citeqa index --rebuild PATH... "
                                     f"--store milvus --milvus-uri {self.uri}`")
        return MilvusSnapshot(self, manifest, View.of(manifest, retired))

    # -- writing -------------------------------------------------------------------------------
    def writer(self, base: MilvusSnapshot | None, manifest: dict[str, Any]) -> MilvusWriter:
        return MilvusWriter(self, base, manifest)

    def collect_garbage(self) -> None:
        """Nothing to do after a publish: the next writer deletes what it retired (see the module docstring)."""

    def create(self, dimension: int) -> bool:
        """Both collections, unless they exist; True when it made them."""
        from pymilvus import DataType, Function, FunctionType, MilvusClient

        client = self.client()
        with self._rpc():
            made = not client.has_collection(self.chunks_name)
            if made:
                schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
                schema.add_field("id", DataType.INT64, is_primary=True)
                schema.add_field("source", DataType.VARCHAR, max_length=4096)
                schema.add_field("gen", DataType.INT64)
                schema.add_field("position", DataType.INT64)
                schema.add_field("start", DataType.INT64)
                schema.add_field("end", DataType.INT64)
                schema.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT)
                schema.add_field("terms", DataType.VARCHAR, max_length=MAX_TEXT, enable_analyzer=True,
                                 analyzer_params={"tokenizer": "standard"})
                schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
                schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dimension)
                schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                             input_field_names=["terms"], output_field_names=["sparse"]))
                indexes = client.prepare_index_params()
                indexes.add_index(field_name="dense", index_type=self.index_kind, metric_type="IP",
                                  params=dense_params(self.index_kind, dimension))
                indexes.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                                  params=dict(BM25_PARAMS))
                indexes.add_index(field_name="gen", index_type="INVERTED")
                indexes.add_index(field_name="source", index_type="INVERTED")
                self._create(self.chunks_name, schema, indexes)
            if not client.has_collection(self.documents_name):
                schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
                schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=8192)
                schema.add_field("source", DataType.VARCHAR, max_length=4096)
                schema.add_field("gen", DataType.INT64)
                schema.add_field("part", DataType.INT64)
                schema.add_field("info", DataType.VARCHAR, max_length=MAX_TEXT)
                schema.add_field("body", DataType.VARCHAR, max_length=MAX_TEXT)
                schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector in every collection
                indexes = client.prepare_index_params()
                indexes.add_index(field_name="unused", index_type="FLAT", metric_type="IP")
                indexes.add_index(field_name="source", index_type="INVERTED")
                self._create(self.documents_name, schema, indexes)
            client.load_collection(self.chunks_name)
            client.load_collection(self.documents_name)
        self._ready = True
        return made

    def _create(self, name: str, schema, indexes) -> None:
        """Without waiting for each index of the empty collection (pymilvus would poll each for half a second)."""
        client = self.client()
        client.create_collection(name, schema=schema, consistency_level="Strong")
        client.create_index(name, indexes, sync=False)

    def drop(self) -> None:
        with self._rpc():
            for name in (self.chunks_name, self.documents_name):
                self.client().drop_collection(name)
        self._ready = False

    def insert(self, collection: str, rows: list[dict[str, Any]]) -> None:
        if rows:
            with self._rpc():
                self.client().insert(collection, rows)

    def delete(self, chunks_rule: str, documents_rule: str) -> None:
        with self._rpc():
            self.client().delete(self.chunks_name, filter=chunks_rule)
            self.client().delete(self.documents_name, filter=documents_rule)

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """The commit of a write: one row, replaced whole."""
        row = document_row("", -1, MANIFEST_PART, json.dumps(manifest, ensure_ascii=False), "", key=MANIFEST_KEY)
        with self._rpc():
            self.client().upsert(self.documents_name, [row])

    def flush(self) -> None:
        """Seal what was written, so searches use the built indexes rather than scanning fresh rows."""
        with self._rpc():
            self.client().flush(self.chunks_name)
            self.client().flush(self.documents_name)


def document_row(source: str, gen: int, part: int, info: str, body: str, key: str | None = None) -> dict[str, Any]:
    return {"key": key or f"{gen}/{part}/{source}", "source": source, "gen": gen, "part": part, "info": info,
            "body": body, "unused": [1.0, 0.0]}


class MilvusSnapshot:
    """One published generation of the Milvus index, read through its visibility rule."""

    def __init__(self, store: MilvusStore, manifest: dict[str, Any], view: View) -> None:
        self.store = store
        self.manifest = manifest
        self.view = view
        self._visible = view.visible()
        self._documents = f"part >= 0 and {self._visible}"
        self._kind = str(manifest.get("milvus_index", "FLAT"))
        # Rows of this view never change (a chunk id is never reused), so searches' rows and titles are kept.
        self._rows: dict[int, dict[str, Any]] = {}
        self._titles: dict[str, str] = {}
        self._cache_lock = threading.Lock()

    def _keep(self, hits: list[dict]) -> None:
        with self._cache_lock:
            if len(self._rows) > KEPT_ROWS:
                self._rows.clear()
            for hit in hits:
                row = dict(hit["entity"])
                if "dense" in row:  # 1.5 KB as float32, not 12 KB of Python floats
                    row["dense"] = np.asarray(row["dense"], dtype=np.float32)
                self._rows[int(hit["id"])] = row

    @property
    def generation(self) -> int:
        return self.view.generation

    @property
    def key(self) -> str:
        return f"milvus-{self.store.collection}-{self.view.generation}"

    @property
    def size(self) -> int:
        return int(self.manifest.get("chunks", 0))

    def close(self) -> None:
        pass  # the store owns the connection

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        params = search_params(self._kind, k, self.store.nprobe)
        hits = self.store.search("dense", [vector[0].astype(np.float32).tolist()], k, self._visible, params,
                                 CHUNK_FIELDS)
        self._keep(hits)
        return [(int(h["id"]), float(h["distance"])) for h in hits]

    def keyword_search(self, query: str, k: int) -> list[tuple[int, float]]:
        terms = " ".join(dict.fromkeys(tokenize(query)))  # each term once, as KeywordIndex.search
        if not terms:
            return []
        hits = self.store.search("sparse", [terms], k, self._visible, {"metric_type": "BM25"},
                                 [*CHUNK_FIELDS, "dense"])
        self._keep(hits)
        # Milvus Lite reports BM25 as a negative distance, a server as a positive score: the rank is the same.
        return [(int(h["id"]), abs(float(h["distance"]))) for h in hits]

    def _kept(self, ids: list[int], field: str) -> tuple[dict[int, dict[str, Any]], list[int]]:
        with self._cache_lock:
            kept = {i: row for i in ids if (row := self._rows.get(i)) is not None and field in row}
        return kept, [i for i in ids if i not in kept]

    def dense_scores(self, vector: np.ndarray, ids: list[int]) -> dict[int, float]:
        rows, missing = self._kept([int(i) for i in ids], "dense")
        if missing:
            rows.update((int(r["id"]), r) for r in self.store.query(self.store.chunks_name, f"id in {missing}",
                                                                      ["id", "dense"]))
        return {i: float(np.asarray(r["dense"], dtype=np.float32) @ vector[0]) for i, r in rows.items()}

    def chunks(self, ids: list[int]) -> dict[int, tuple[Chunk, str]]:
        rows, missing = self._kept([int(i) for i in ids], "text")
        if missing:
            rows.update((int(r["id"]), r) for r in self.store.query(
                self.store.chunks_name, f"id in {missing} and {self._visible}", CHUNK_FIELDS))
        titles = self._titles_of({r["source"] for r in rows.values()})
        return {i: (Chunk(r["source"], r["text"], int(r["start"]), int(r["end"]), int(r["position"])),
                    titles.get(r["source"], r["source"])) for i, r in rows.items()}

    def _titles_of(self, sources: set[str]) -> dict[str, str]:
        with self._cache_lock:
            missing = sorted(s for s in sources if s not in self._titles)
        if missing:
            heads = self.store.query(self.store.documents_name,
                                     f"part == 0 and source in {literals(missing)} and {self._visible}",
                                     ["source", "info"])
            with self._cache_lock:
                self._titles.update((h["source"], json.loads(h["info"])["title"]) for h in heads)
        with self._cache_lock:
            return {s: self._titles[s] for s in sources if s in self._titles}

    def _heads(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for row in self.store.scan(self.store.documents_name, f"part == 0 and {self._visible}", ["source", "info"]):
            yield row["source"], json.loads(row["info"])

    def documents(self) -> list[DocumentInfo]:
        return sorted((DocumentInfo(source, info["title"], info["sha256"], int(info["chunks"]),
                                    int(info["characters"]), float(info["indexed_at"]))
                       for source, info in self._heads()), key=lambda d: d.source)

    def hashes(self) -> dict[str, str]:
        return {source: info["sha256"] for source, info in self._heads()}

    def document(self, source: str) -> Document | None:
        rows = self.store.query(self.store.documents_name, f"source == {literal(source)} and {self._documents}",
                                ["part", "info", "body"])
        if not rows:
            return None
        rows.sort(key=lambda r: int(r["part"]))
        info = json.loads(rows[0]["info"])
        body = json.loads("".join(r["body"] for r in rows))
        return Document(source, info["title"], body["text"], info["sha256"], body["metadata"])


class MilvusWriter:
    """Writes generation G+1 beside the live G; `publish` switches the manifest, the only commit."""

    def __init__(self, store: MilvusStore, base: MilvusSnapshot | None, manifest: dict[str, Any]) -> None:
        self.store = store
        self.manifest = dict(manifest)
        live = store.read_manifest()
        previous = live[0] if live else {}
        dimension = int(manifest["dimension"])
        kind = store.index_kind
        if live and base is None and (previous.get("dimension") != dimension or previous.get("milvus_index") != kind):
            store.drop()  # a rebuild with another model or index type: the collections cannot hold it
            live, previous = None, {}
        self.last = int(previous.get("generation", 0))
        self.generation = self.last + 1
        self.kind = kind if store.create(dimension) else str(previous.get("milvus_index", kind))
        # Before writing: rows of writers that died before publishing, and rows the live view retired.
        store.delete(f"gen > {self.last}", f"gen > {self.last}")
        if live:
            old = View.of(*live).superseded()
            store.delete(old, f"(part >= 0 and ({old})) or (part == {RETIRED_PART} and gen < {self.last})")
        self.floor = self.generation if base is None else int(previous.get("floor", 0))
        self.counts = {d.source: d.chunks for d in base.documents()} if base is not None else {}
        # Never reuse an id, not even in a rebuild: rows of the live view keep theirs until it is replaced.
        self.next_id = max(int(manifest.get("next_chunk_id", 1)), int(previous.get("next_chunk_id", 1)))
        self.retired: set[str] = set()
        self.chunk_rows: list[dict[str, Any]] = []
        self.document_rows: list[dict[str, Any]] = []

    def remove(self, source: str) -> None:
        if self.counts.pop(source, None) is not None:
            self.retired.add(source)

    def put(self, document: Document, chunks: list[Chunk], vectors: np.ndarray) -> None:
        self.remove(document.source)
        for chunk, vector in zip(chunks, np.asarray(vectors, dtype=np.float32), strict=True):
            self.chunk_rows.append({
                "id": self.next_id, "source": document.source, "gen": self.generation, "position": chunk.position,
                "start": chunk.start, "end": chunk.end, "text": chunk.text, "terms": " ".join(tokenize(chunk.text)),
                "dense": vector.tolist(),
            })
            self.next_id += 1
        info = json.dumps({"title": document.title, "sha256": document.sha256, "chunks": len(chunks),
                           "characters": len(document.text), "indexed_at": time.time()}, ensure_ascii=False)
        body = json.dumps({"metadata": document.metadata, "text": document.text}, ensure_ascii=False)
        for part, piece in enumerate(pieces(body)):
            self.document_rows.append(document_row(document.source, self.generation, part, info if part == 0 else "",
                                                   piece))
        self.counts[document.source] = len(chunks)
        if len(self.chunk_rows) + len(self.document_rows) >= BATCH_ROWS:
            self.send()

    def send(self) -> None:
        """Insert the rows held so far. Readers never see them before `publish` commits the generation."""
        self.store.insert(self.store.chunks_name, self.chunk_rows)
        self.store.insert(self.store.documents_name, self.document_rows)
        self.chunk_rows, self.document_rows = [], []

    def publish(self) -> None:
        self.send()
        retired = pieces(json.dumps(sorted(self.retired), ensure_ascii=False)) if self.retired else []
        self.store.insert(self.store.documents_name, [
            document_row("", self.generation, RETIRED_PART, "", piece, key=f"retired/{self.generation}/{n}")
            for n, piece in enumerate(retired)])
        self.store.flush()
        live = self.store.read_manifest()
        if (int(live[0]["generation"]) if live else 0) != self.last:
            raise IndexError_(f"another citeqa published to Milvus at {self.store.location} while this run wrote; "
                              "nothing of this run is visible: run it again")
        now = time.time()
        self.manifest.pop("files", None)
        self.manifest.update(
            schema_version=SCHEMA_VERSION, layout=LAYOUT, store="milvus", milvus_index=self.kind,
            generation=self.generation, floor=self.floor, retired_pieces=len(retired), documents=len(self.counts),
            chunks=sum(self.counts.values()), next_chunk_id=self.next_id, updated_at=now,
            created_at=self.manifest.get("created_at", now),
        )
        self.store.write_manifest(self.manifest)

    def abort(self) -> None:
        """Best effort: the next writer deletes whatever this one leaves, and no reader ever sees it."""
        try:
            self.store.delete(f"gen == {self.generation}", f"gen == {self.generation}")
        except IndexError_:
            log.debug("could not delete the rows of an aborted write", exc_info=True)
