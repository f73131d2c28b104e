import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.config import IndexConfig
from index.embedding import Embedder, resolve_model_path
from index.compute import this_cpu
from index.encoders import EmbeddingModelError, mean_pooled_layout
from tests.cpus import cpu_kinds

TEXTS = ["The Harbour Bridge in Eastport reopened on 3 March 2021.",
         "Fire chief Ruth Okoro said no one was hurt.",
         "Which bridge reopened?"]
PACKAGED = Path(resolve_model_path("all-MiniLM-L6-v2"))


def write_layout(folder: Path, kinds: list[str], pooling: dict) -> Path:
    folder.mkdir()
    paths = {"Transformer": "", "Pooling": "1_Pooling", "Normalize": "2_Normalize", "Dense": "2_Dense"}
    (folder / "modules.json").write_text(json.dumps([
        {"idx": i, "name": str(i), "path": paths[k], "type": f"sentence_transformers.models.{k}"}
        for i, k in enumerate(kinds)]), encoding="utf-8")
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def sentence_transformers_fp32():
    return Embedder(backend="sentence-transformers", dtype="float32")


def test_ctranslate2_vectors_stay_within_cosine_0995_of_sentence_transformers(sentence_transformers_fp32):
    for dtype in sorted({"int8", "int16", "float32"} & this_cpu().compute_types):
        cosine = (Embedder(backend="ctranslate2", dtype=dtype).encode(TEXTS)
                  * sentence_transformers_fp32.encode(TEXTS)).sum(axis=1)
        assert cosine.min() > 0.995, dtype


def test_ctranslate2_vectors_are_float32_unit_vectors():
    vectors = Embedder(backend="ctranslate2").encode_documents(TEXTS)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_ctranslate2_counts_tokens_like_the_model_tokenizer(sentence_transformers_fp32):
    text = "Harbour Bridge — reopened in Eastport, 3 March 2021 (£12m)."
    assert Embedder(backend="ctranslate2").count_tokens(text) == sentence_transformers_fp32.count_tokens(text)


def test_ctranslate2_embedder_never_imports_torch():
    code = ("import sys; from index.embedding import Embedder; Embedder(backend='ctranslate2').encode(['x']); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"


def test_torch_asked_for_by_hand_indexes_in_bfloat16_only_where_amx_computes_it():
    from index import encoders

    kinds = cpu_kinds()
    assert [encoders.resolve_dtype("auto", "torch", kinds[k]) for k in ("intel-amx", "intel", "amd")] == \
        ["bfloat16", "float32", "float32"]


def test_auto_runs_the_packaged_model_on_ctranslate2():
    from index import encoders

    assert encoders.choose_backend(str(PACKAGED)) == "ctranslate2"


def test_a_dtype_the_engine_cannot_run_names_the_choices():
    with pytest.raises(EmbeddingModelError, match="int8_float32"):
        Embedder(backend="ctranslate2", dtype="bfloat16")


def test_transformers_engine_gives_sentence_transformers_vectors(sentence_transformers_fp32):
    native = Embedder(backend="transformers", dtype="float32")
    np.testing.assert_allclose(native.encode(TEXTS), sentence_transformers_fp32.encode(TEXTS), atol=1e-5)


@pytest.fixture(scope="module")
def bfloat16():
    return Embedder(backend="transformers", dtype="bfloat16")


def test_bfloat16_documents_stay_within_cosine_0999_of_float32(bfloat16, sentence_transformers_fp32):
    cosine = (bfloat16.encode_documents(TEXTS) * sentence_transformers_fp32.encode(TEXTS)).sum(axis=1)
    assert cosine.min() > 0.999


def test_queries_are_float32_whatever_the_documents_dtype(bfloat16, sentence_transformers_fp32):
    np.testing.assert_allclose(bfloat16.encode(TEXTS), sentence_transformers_fp32.encode(TEXTS), atol=1e-5)


def test_sentence_transformers_engine_also_indexes_in_bfloat16(sentence_transformers_fp32):
    engine = Embedder(backend="sentence-transformers", dtype="bfloat16")
    cosine = (engine.encode_documents(TEXTS) * sentence_transformers_fp32.encode(TEXTS)).sum(axis=1)
    assert cosine.min() > 0.999


def test_bfloat16_vectors_are_float32_unit_vectors(bfloat16):
    vectors = bfloat16.encode_documents(TEXTS)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_transformers_embedder_never_imports_sentence_transformers():
    code = ("import sys; from index.embedding import Embedder; Embedder(backend='transformers').encode(['x']); "
            "print('sentence_transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"


def test_packaged_model_has_the_mean_pooled_layout():
    assert mean_pooled_layout(PACKAGED)


def test_cls_pooling_is_not_the_mean_pooled_layout(tmp_path):
    folder = write_layout(tmp_path / "cls", ["Transformer", "Pooling"],
                          {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    assert not mean_pooled_layout(folder)


def test_an_extra_dense_layer_is_not_the_mean_pooled_layout(tmp_path):
    folder = write_layout(tmp_path / "dense", ["Transformer", "Pooling", "Dense"],
                          {"pooling_mode_mean_tokens": True})
    assert not mean_pooled_layout(folder)


def test_forcing_transformers_on_another_layout_names_the_fix(tmp_path):
    folder = write_layout(tmp_path / "cls", ["Transformer", "Pooling"], {"pooling_mode_cls_token": True})
    with pytest.raises(EmbeddingModelError, match="sentence-transformers"):
        Embedder(str(folder), backend="transformers")


def test_unknown_dtype_is_refused_by_the_config(tmp_path):
    with pytest.raises(ValueError, match="bfloat16"):
        IndexConfig(path=tmp_path, embedding_dtype="float16")


def test_index_built_in_bfloat16_is_searched_in_float32(tmp_path, corpus, sentence_transformers_fp32):
    from index.corpus import Index

    Index(IndexConfig(path=tmp_path / "i"), embedder=Embedder(backend="transformers", dtype="bfloat16")).add([corpus])
    reader = Index(IndexConfig(path=tmp_path / "i"), embedder=sentence_transformers_fp32)
    assert reader.search("When did the bridge reopen?", k=1, mode="dense")[0].source == "harbour.txt"


def test_the_index_records_the_engine_it_was_built_with(tmp_path, corpus):
    from index.corpus import Index

    index = Index(IndexConfig(path=tmp_path / "i", embedding_backend="ctranslate2", embedding_dtype="int8"))
    index.add([corpus])
    assert (index.manifest()["embedding_backend"], index.manifest()["embedding_dtype"]) == ("ctranslate2", "int8")


def test_an_index_built_on_torch_opens_on_ctranslate2_under_auto(tmp_path, corpus, bfloat16):
    from index.corpus import Index

    Index(IndexConfig(path=tmp_path / "i"), embedder=bfloat16).add([corpus])
    reader = Index(IndexConfig(path=tmp_path / "i"))
    assert reader.embedder.engine == "ctranslate2"
    assert reader.search("When did the bridge reopen?", k=1, mode="dense")[0].source == "harbour.txt"


def test_an_index_built_on_torch_is_extended_on_ctranslate2(tmp_path, corpus, bfloat16):
    from index.corpus import Index

    Index(IndexConfig(path=tmp_path / "i"), embedder=bfloat16).add([corpus])
    (corpus / "ferry.txt").write_text("Ferry returns\nThe Skerry ferry resumed crossings on Monday after a storm.\n",
                                      encoding="utf-8")
    writer = Index(IndexConfig(path=tmp_path / "i", embedding_backend="ctranslate2"))
    report = writer.add([corpus])
    assert list(report.added) == ["ferry.txt"]
    assert writer.search("When did the ferry resume crossings?", k=1, mode="dense")[0].source == "ferry.txt"
