"""The command-line flags that choose an index and where it lives, and the `IndexConfig` they make: one
definition for every command that reads or writes an index (`citeqa index`, `ask`, `chat`, ...)."""

from __future__ import annotations

import argparse
from pathlib import Path

from index.backend import MILVUS_TOKEN_ENV
from index.config import IndexConfig, default_index_dir
from index.stores import STORES

FIELDS = ("embedding_model", "store", "milvus_uri", "milvus_collection")  # IndexConfig fields, each its flag's dest


def add_index_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", help=f"index folder (default: {default_index_dir()})")
    parser.add_argument("--embedding-model", help="sentence-transformers name or folder (default: all-MiniLM-L6-v2)")
    parser.add_argument("--store", choices=tuple(STORES), help="where the index lives: faiss (in the --index "
                        "folder, default) or milvus (docs/scale.md)")
    parser.add_argument("--milvus-uri", help="Milvus server URL (http://host:19530) or Milvus Lite file (*.db; "
                        f"default: milvus.db in the --index folder); a token comes from {MILVUS_TOKEN_ENV} only")
    parser.add_argument("--milvus-collection", help="Milvus collection name (default: after the --index folder's name)")


def index_config(args: argparse.Namespace) -> IndexConfig:
    """The index the flags name; a flag not given keeps its default (the token never comes from a flag)."""
    values: dict = {"path": Path(args.index)} if getattr(args, "index", None) else {}
    values.update({field: getattr(args, field) for field in FIELDS if getattr(args, field, None)})
    return IndexConfig(**values)
