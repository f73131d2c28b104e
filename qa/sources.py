"""Where a language model's weights are, and how they become the folder each engine loads.

A generator name stands for a packaged model (`qwen-0.5b`, `qwen-1.5b`; `default` is the one the README's
measurements chose), a transformers model folder, a `.gguf` file, or a hub id already in the local cache.
Every conversion is made once and cached (`index.model_cache.build_once`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from index.model_cache import slug
from qa.errors import GeneratorError

DEFAULT_GENERATOR = "qwen-1.5b"  # the packaged model `default` stands for: see the README's generator table
QUANTIZATION = "int8"  # what CTranslate2 folders are converted to; `compute_type` may still run them wider


@dataclass(frozen=True, slots=True)
class ModelSource:
    """Where a language model's weights are and how to turn them into each engine's folder."""

    label: str
    kind: str  # "causal" or "seq2seq"
    packaged: object | None = None  # a qa.weights.PackagedModel
    folder: Path | None = None  # a transformers folder
    gguf: Path | None = None
    hub_id: str | None = None


def _kind_of_folder(folder: Path) -> str:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise GeneratorError(f"{folder} is not a model folder (no readable config.json)") from None
    return "seq2seq" if config.get("is_encoder_decoder") else "causal"


def resolve(name: str) -> ModelSource:
    """The model a generator name stands for; `seq2seq:`/`causal:` prefixes force the kind."""
    from qa.weights import PACKAGED

    forced = None
    if name.startswith(("seq2seq:", "causal:")):
        forced, name = name.split(":", 1)
    name = DEFAULT_GENERATOR if name == "default" else name
    if name in PACKAGED:
        return ModelSource(name, forced or "causal", packaged=PACKAGED[name])
    target = Path(name).expanduser()
    if target.suffix.lower() == ".gguf":
        if not target.is_file():
            raise GeneratorError(f"no such .gguf file: {target}")
        return ModelSource(name, forced or "causal", gguf=target.resolve())
    if target.is_dir():
        return ModelSource(name, forced or _kind_of_folder(target), folder=target.resolve())
    if re.fullmatch(r"[\w.\-]+/[\w.\-]+", name):
        return ModelSource(name, forced or "", hub_id=name)
    known = ", ".join(["default", "extractive", *PACKAGED])
    raise GeneratorError(f"unknown generator {name!r}: use {known}, a model folder or a .gguf file")


def dequantised_folder(source: ModelSource, cache: Path, dtype: str) -> Path | None:
    """Where a GGUF source (packaged or a file) is dequantised to a transformers folder; None for a folder."""
    from index.model_cache import folder_fingerprint

    if source.packaged is not None:
        return cache / f"{source.packaged.label}-transformers-{dtype}"
    if source.gguf is not None:
        fingerprint = folder_fingerprint(source.gguf.parent, only=source.gguf.name)
        return cache / "gguf" / f"{slug(source.gguf.stem)}-{fingerprint[:12]}-{dtype}"
    return None


def transformers_folder(source: ModelSource, cache: Path, dtype: str) -> Path:
    """The source as a transformers folder, dequantised from GGUF once when it is one."""
    from index.model_cache import folder_fingerprint
    from qa.conversion import transformers_from_gguf
    from qa.weights import joined_gguf, sha256_file

    target = dequantised_folder(source, cache, dtype)
    if target is None:
        return source.folder
    if source.packaged is not None:
        model = source.packaged
        return transformers_from_gguf(lambda staging: joined_gguf(model, staging), target,
                                      {"source_sha256": model.sha256}, dtype)
    gguf = source.gguf
    fingerprint = folder_fingerprint(gguf.parent, only=gguf.name)
    return transformers_from_gguf(lambda staging: gguf, target, {"source_fingerprint": fingerprint}, dtype,
                                  sha256=lambda: sha256_file(gguf))


def converted_folder(source: ModelSource, cache: Path, dtype: str, keep_intermediate: bool = False) -> Path:
    """The source converted to CTranslate2 int8, once; a complete cached folder is found without torch. The
    dequantised folder a GGUF source goes through is deleted afterwards unless `keep_intermediate`."""
    from index.model_cache import ctranslate2_folder, folder_fingerprint

    if source.packaged is not None:
        model = source.packaged
        target = cache / f"{model.label}-ct2-{QUANTIZATION}"
        source_id = {"source_sha256": model.sha256}
    else:
        origin = source.folder or source.gguf
        fingerprint = folder_fingerprint(origin) if source.folder else folder_fingerprint(origin.parent, only=origin.name)
        target = cache / "ct2" / f"{slug(origin.stem if source.gguf else origin.name)}-{fingerprint[:12]}-{QUANTIZATION}"
        source_id = {"source_fingerprint": fingerprint}
    return ctranslate2_folder(target, source_id, lambda: transformers_folder(source, cache, dtype), QUANTIZATION,
                              dequantised_folder(source, cache, dtype), keep_intermediate)


def hub_kind(hub_id: str) -> str:
    """"seq2seq" or "causal", from the config of a hub model in the local cache."""
    from transformers import AutoConfig

    try:
        return "seq2seq" if AutoConfig.from_pretrained(hub_id).is_encoder_decoder else "causal"
    except (OSError, ValueError) as exc:
        raise GeneratorError(
            f"cannot read the config of generator {hub_id!r} ({exc.__class__.__name__}). This machine is offline: "
            "give a local model folder or .gguf file, or use --generator default or extractive."
        ) from None
