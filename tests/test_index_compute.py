"""Compute types come from what the CPU offers: each kind of CPU injected, and CTranslate2 restricted for real."""

import numpy as np
import pytest

from index.compute import CPU, ComputeTypeError, choose, load_failure
from index.config import IndexConfig
from index.corpus import Index
from index.embedding import Embedder, resolve_model_path
from index.encoders import EmbeddingEngineError
from tests.cpus import AMD_TYPES, cpu_kinds, ctranslate2_offering, runnable

KINDS = cpu_kinds()
MINILM = resolve_model_path("all-MiniLM-L6-v2")


@pytest.mark.parametrize(("cpu", "embedder", "generator"), [
    ("intel-amx", "int16", "int8"),
    ("intel", "int16", "int8"),
    ("amd", "float32", "int8"),
])
def test_each_kind_of_cpu_gets_the_first_type_it_offers(cpu, embedder, generator):
    assert (choose("embedder", "auto", KINDS[cpu]), choose("generator", "auto", KINDS[cpu])) == (embedder, generator)


@pytest.mark.parametrize("cpu", ["intel-amx", "intel", "amd"])
def test_no_kind_is_ever_given_a_type_its_cpu_lacks(cpu):
    assert all(choose(kind, "auto", KINDS[cpu]) in KINDS[cpu].compute_types
               for kind in ("embedder", "generator"))


def test_a_cpu_without_int8_runs_the_generator_in_float32():
    assert choose("generator", "auto", CPU("old", frozenset(), frozenset({"float32"}))) == "float32"


def test_a_type_set_by_hand_that_the_cpu_lacks_names_the_cpu_and_its_types():
    with pytest.raises(ComputeTypeError, match=r"AMD EPYC.*float32, int8, int8_float32"):
        choose("generator", "int16", KINDS["amd"])


def test_a_type_set_by_hand_that_the_cpu_has_is_used():
    assert choose("generator", "int8_float32", KINDS["amd"]) == "int8_float32"


@pytest.mark.parametrize("cpu", ["intel-amx", "intel", "amd"])
def test_every_kind_of_cpu_embeds_documents_and_questions_on_ctranslate2(cpu):
    """Loaded for real, so in the types this machine can run as well (int16 on an Intel kind run on Intel)."""
    kind = runnable(cpu)
    dtype = "int16" if "int16" in kind.compute_types else "float32"
    embedder = Embedder(cpu=kind)
    assert (embedder.backend, embedder.dtype, embedder.query_dtype) == ("ctranslate2", dtype, dtype)


def test_a_load_failure_names_engine_type_and_cpu():
    message = load_failure("the model in /m", "int16", ValueError("Requested int16 compute type"), KINDS["amd"])
    assert all(part in message for part in ("CTranslate2", "int16", "AMD EPYC", "/m"))


def test_on_a_cpu_without_int16_the_embedder_loads_and_embeds_in_float32(monkeypatch):
    with ctranslate2_offering(monkeypatch, AMD_TYPES):
        embedder = Embedder(backend="ctranslate2")
        vectors = embedder.encode(["The Harbour Bridge reopened."])
    assert (embedder.query_dtype, vectors.shape) == ("float32", (1, 384))


def test_an_engine_that_refuses_its_type_is_reported_as_the_engine_not_the_model(monkeypatch):
    from index.encoders import CT2Encoder

    with ctranslate2_offering(monkeypatch, AMD_TYPES), pytest.raises(EmbeddingEngineError) as error:
        CT2Encoder(__import__("pathlib").Path(MINILM), compute_type="int16")
    assert "int16" in str(error.value) and "folder" not in str(error.value)


def test_a_generator_type_the_cpu_lacks_is_refused_before_any_conversion(monkeypatch, tmp_path):
    from qa.generators import load_generator

    with ctranslate2_offering(monkeypatch, AMD_TYPES), pytest.raises(ComputeTypeError, match="int16"):
        load_generator("qwen-0.5b", compute_type="int16", cache=tmp_path)
    assert not any(tmp_path.iterdir())


def _first_offered(*types: str) -> str:
    import ctranslate2

    offered = ctranslate2.get_supported_compute_types("cpu")
    return next(t for t in types if t in offered)


def test_an_index_built_on_one_cpu_answers_searches_on_another(monkeypatch, tmp_path, corpus):
    """Built in the most exact type this machine has (int16 on Intel), searched as on an AMD EPYC."""
    built = _first_offered("int16", "float32")
    index = Index(IndexConfig(path=tmp_path / "i", embedding_backend="ctranslate2", embedding_dtype=built))
    index.add([corpus])
    with ctranslate2_offering(monkeypatch, AMD_TYPES):
        reader = Index(IndexConfig(path=tmp_path / "i"))
        found = reader.search("When did the Harbour Bridge reopen?", k=1, mode="dense")
    assert (reader.manifest()["embedding_dtype"], found[0].source) == (built, "harbour.txt")


def test_an_index_built_as_on_amd_searches_on_this_cpu(monkeypatch, tmp_path, corpus):
    with ctranslate2_offering(monkeypatch, AMD_TYPES):
        Index(IndexConfig(path=tmp_path / "i", embedding_backend="ctranslate2")).add([corpus])
    reader = Index(IndexConfig(path=tmp_path / "i"))
    assert reader.search("Who cut the ribbon?", k=1, mode="dense")[0].source == "harbour.txt"


def test_vectors_of_two_compute_types_agree(monkeypatch):
    texts = ["Fire chief Ruth Okoro said no one was hurt.", "The library won a design award in 2019."]
    exact = Embedder(backend="ctranslate2", dtype="float32").encode_documents(texts)
    fast = Embedder(backend="ctranslate2", dtype="int8").encode_documents(texts)
    assert np.min((exact * fast).sum(axis=1)) > 0.99
