"""The stores by name, as `IndexConfig.store` names them: the embedded FAISS folder (the default) and Milvus.

Each is a class whose constructor takes plain settings named as the `IndexConfig` fields they come from
(`index.corpus.open_store` hands them over), and whose `to_dict` gives them back. Importing this needs
neither pymilvus nor a server: the Milvus store loads its client when it first connects.
"""

from __future__ import annotations

from index.backend import Store
from index.faiss_store import FaissStore
from index.milvus_store import MilvusStore

STORES: dict[str, type[Store]] = {store.name: store for store in (FaissStore, MilvusStore)}
