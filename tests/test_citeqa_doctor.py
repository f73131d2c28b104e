"""`citeqa doctor`: what it says of the model cache and of each kind of CPU (injected, not read)."""

from __future__ import annotations

import pytest

from citeqa import doctor
from index.config import IndexConfig
from index.model_cache import build_once
from tests.cpus import cpu_kinds


def _cached(cache, name: str, kind: str, size: int) -> None:
    def build(staging):
        (staging / "model.bin").write_bytes(b"x" * size)
    build_once(cache / name, {"kind": kind}, build)


@pytest.fixture
def report(tmp_path):
    cache = tmp_path / "models"
    _cached(cache, "qwen-ct2-int8", "ctranslate2", 2_000_000)
    _cached(cache, "qwen-transformers-bfloat16", "transformers", 3_000_000)
    return doctor.report(IndexConfig(path=tmp_path / "index"), cpu=cpu_kinds()["amd"], cache=cache)


def test_the_model_cache_shows_its_total_size(report):
    assert any(line.endswith("5.0 MB in 2 folders") for line in doctor.lines(report))


def test_an_intermediate_folder_is_shown_as_one_to_delete(report):
    line = next(line for line in doctor.lines(report) if "qwen-transformers-bfloat16" in line)
    assert "3.0 MB" in line and "delete it" in line


def test_a_converted_folder_is_not_shown_as_one_to_delete(report):
    line = next(line for line in doctor.lines(report) if "qwen-ct2-int8" in line)
    assert "delete" not in line


@pytest.mark.parametrize(("kind", "expected"), [("intel-amx", "ctranslate2, documents in int16, queries in int16"),
                                                ("intel", "ctranslate2, documents in int16, queries in int16"),
                                                ("amd", "ctranslate2, documents in float32, queries in float32")])
def test_each_kind_of_cpu_is_shown_with_the_embedder_it_gets(tmp_path, kind, expected):
    lines = doctor.lines(doctor.report(IndexConfig(path=tmp_path / "index"), cpu=cpu_kinds()[kind],
                                       cache=tmp_path / "models"))
    assert f"embedding all-MiniLM-L6-v2: {expected}" in lines
