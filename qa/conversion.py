"""A GGUF model as a transformers folder, dequantised once per machine and cached (see index.model_cache)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from index.model_cache import build_once


def transformers_from_gguf(gguf: Callable[[Path], Path], target: Path, source_id: dict[str, str],
                           dtype: str = "bfloat16", sha256: Callable[[], str] | None = None) -> Path:
    """A safetensors folder of a GGUF model, dequantised once (about a minute and several GB of RAM).

    `gguf(staging)` gives the file, called only when the folder must be built (joining packaged parts into
    the staging folder costs seconds); `sha256()`, when given, is recorded as the source digest.
    """

    def build(staging: Path) -> dict[str, str]:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        file = gguf(staging)
        tokenizer = AutoTokenizer.from_pretrained(str(file.parent), gguf_file=file.name)
        model = AutoModelForCausalLM.from_pretrained(str(file.parent), gguf_file=file.name)
        if file.parent == staging:
            file.unlink()  # joined only to be read: the folder holds the safetensors
        model = model.to(getattr(torch, dtype))
        model.hf_quantizer = None  # transformers refuses to save a GGUF-loaded model otherwise
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        return {"source_sha256": sha256()} if sha256 else {}

    return build_once(target, {**source_id, "dtype": dtype, "kind": "transformers"}, build)
