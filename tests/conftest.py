"""Shared fixtures: one real embedding model per test session, tiny corpora in tmp_path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index.runtime import go_offline

go_offline()

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"


@pytest.fixture(scope="session")
def embedder():
    from index.embedding import Embedder

    return Embedder()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Three small articles with distinct facts."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "harbour.txt").write_text(
        "Harbour bridge reopens\n"
        "The Harbour Bridge in Eastport reopened on 3 March 2021 after repairs costing 12 million pounds. "
        "Mayor Alice Grant cut the ribbon at noon.\n"
        "Traffic was light on the first day.\n", encoding="utf-8")
    (folder / "library.md").write_text(
        "# Library wins award\n\n"
        "The Westford public library won the national design award in 2019. "
        "Its architect, Tomas Berg, said the building uses recycled timber.\n", encoding="utf-8")
    (folder / "market.html").write_text(
        "<html><head><title>Market fire</title><style>p{color:red}</style><script>alert(1)</script></head>"
        "<body><nav>Home | News</nav><article><h1>Market fire</h1>"
        "<p>A fire destroyed 40 stalls at the Northgate market on Sunday.</p>"
        "<p>Fire chief Ruth Okoro said no one was hurt.</p></article><footer>Copyright</footer></body></html>",
        encoding="utf-8")
    return folder


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture
def make_index(tmp_path: Path, embedder):
    from index.config import IndexConfig
    from index.corpus import Index

    def make(name: str = "index", **settings) -> Index:
        return Index(IndexConfig(path=tmp_path / name, **settings), embedder=embedder)

    return make
