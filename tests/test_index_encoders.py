import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.config import IndexConfig
from index.embedding import Embedder, resolve_model_path
from index.encoders import EmbeddingModelError, mean_pooled_layout

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


def test_default_runs_minilm_on_transformers(embedder):
    assert embedder.backend == "transformers"


def test_transformers_engine_gives_sentence_transformers_vectors(sentence_transformers_fp32):
    native = Embedder(backend="transformers", dtype="float32")
    np.testing.assert_allclose(native.encode(TEXTS), sentence_transformers_fp32.encode(TEXTS), atol=1e-5)


@pytest.fixture(scope="module")
def bfloat16():
    return Embedder(dtype="bfloat16")


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


def test_default_embedder_never_imports_sentence_transformers():
    code = ("import sys; from index.embedding import Embedder; Embedder().encode(['x']); "
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

    Index(IndexConfig(path=tmp_path / "i"), embedder=Embedder(dtype="bfloat16")).add([corpus])  # bf16 documents
    reader = Index(IndexConfig(path=tmp_path / "i"), embedder=sentence_transformers_fp32)
    assert reader.search("When did the bridge reopen?", k=1, mode="dense")[0].source == "harbour.txt"
