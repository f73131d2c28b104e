"""Model folders converted once per machine and cached: CTranslate2 int8 folders of transformers models.

Each folder is built in a staging folder beside its final place and renamed into place only when complete,
with a `citeqa-complete.json` marker that records what it was built from (the source sha256 or fingerprint,
the converter version) and the size and a sampled digest of each file. A folder whose marker is missing,
stale or does not match its files (a crash, a full disk, a damaged file) is rebuilt, never loaded. A file
lock makes a second process wait for the first one's conversion instead of converting beside it.

Both layers use it: `index` for the embedding model, `qa` for generators.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock
from platformdirs import user_cache_dir

log = logging.getLogger("citeqa.index")
MARKER = "citeqa-complete.json"
# Files a model needs beside the weights: the tokenizer and its chat template travel with it.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
                   "generation_config.json", "sentence_bert_config.json")
SAMPLES = 16  # blocks read per file to check it: catches truncation and most damage without reading GBs
SAMPLE_BYTES = 1 << 16


def default_cache_dir() -> Path:
    """Where converted models live: $CITEQA_MODEL_CACHE, or the per-user cache folder."""
    return Path(os.environ.get("CITEQA_MODEL_CACHE") or Path(user_cache_dir("citeqa")) / "models")


class ConversionError(RuntimeError):
    pass


class ConversionUnsupported(ConversionError):
    """The converter has no mapping for this model type; the caller falls back to another engine."""


def sampled_digest(path: Path) -> str:
    """sha256 of `SAMPLES` evenly spaced blocks and the size: cheap enough to run at every start."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as handle:
        for n in range(SAMPLES):
            handle.seek(max(0, (size - SAMPLE_BYTES) * n // max(1, SAMPLES - 1)))
            digest.update(handle.read(SAMPLE_BYTES))
    return digest.hexdigest()


def _file_table(folder: Path) -> dict[str, dict[str, Any]]:
    return {f.name: {"bytes": f.stat().st_size, "sample": sampled_digest(f)}
            for f in sorted(folder.iterdir()) if f.is_file() and f.name != MARKER}


def read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None


def is_complete(folder: Path, expected: dict[str, Any]) -> bool:
    """Whether `folder` was built from what `expected` describes and its files are as they were written."""
    marker = read_marker(folder)
    if marker is None or any(marker.get(k) != v for k, v in expected.items()):
        return False
    files = marker.get("files")
    if not isinstance(files, dict) or not files:
        return False
    try:
        return all(folder.joinpath(name).stat().st_size == meta["bytes"]
                   and sampled_digest(folder / name) == meta["sample"] for name, meta in files.items())
    except (OSError, KeyError, TypeError):
        return False


def build_once(target: Path, expected: dict[str, Any], build: Callable[[Path], dict[str, Any] | None]) -> Path:
    """`target`, built by `build(staging)` unless a complete one is there. Atomic, and one process at a time.

    `build` may return more facts for the marker (a digest it computed on the way)."""
    if is_complete(target, expected):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.parent / f".{target.name}.lock")):
        if is_complete(target, expected):  # another process built it while we waited
            return target
        if target.exists():
            log.warning("rebuilding %s: it is incomplete, damaged or from another source", target)
        staging = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            staging.mkdir()
            facts = build(staging) or {}
            marker = dict(facts, **expected, files=_file_table(staging))
            (staging / MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        for stale in target.parent.glob(f".{target.name}.*.tmp"):  # left by a process killed mid-build
            shutil.rmtree(stale, ignore_errors=True)
    return target


def converter_version() -> str:
    from importlib.metadata import version

    return f"ctranslate2 {version('ctranslate2')}"


def ctranslate2_folder(target: Path, source_id: dict[str, str], source: Callable[[], Path],
                       quantization: str = "int8", intermediate: Path | None = None,
                       keep_intermediate: bool = False) -> Path:
    """A CTranslate2 folder of a transformers model folder, with its tokenizer beside it, converted once.

    `source_id` names the source (its sha256, or for a user's folder its fingerprint; the folder's sha256 is
    then recorded too). `source()` gives the transformers folder, asked only when a conversion is needed (it
    may have to be made from a GGUF file first). A complete cached folder is found without importing torch.
    Raises ConversionUnsupported when the converter has no mapping for the model type.

    `intermediate` is where `source()` builds a folder that is only a step towards this one (a GGUF model
    dequantised to bfloat16: 3.5 GB for the 1.5B). Built by this conversion, it is deleted once the converted
    folder is complete and verified, unless `keep_intermediate`; one that was there before (the torch engine's)
    is left alone.
    """
    expected = {**source_id, "converter": converter_version(), "quantization": quantization, "kind": "ctranslate2"}
    if is_complete(target, expected):
        return target
    there_before = intermediate is not None and intermediate.exists()

    def build(staging: Path) -> dict[str, str]:
        from ctranslate2.converters import TransformersConverter

        class Converter(TransformersConverter):
            def load_model(self, *args, **kwargs):  # reached only for a model type it can convert
                log.warning("converting %s to CTranslate2 %s once (later starts load it in seconds)",
                            folder.name, quantization)
                return super().load_model(*args, **kwargs)

        folder = source()
        extra = [name for name in TOKENIZER_FILES if (folder / name).is_file()]
        try:
            Converter(str(folder), copy_files=extra).convert(str(staging), quantization=quantization, force=True)
        except ValueError as exc:
            if "No conversion is registered" in str(exc):
                raise ConversionUnsupported(str(exc).split("(")[0].strip()) from None
            raise
        if not (staging / "tokenizer.json").is_file():  # a slow-only tokenizer: save its fast form
            from transformers import AutoTokenizer

            AutoTokenizer.from_pretrained(str(folder)).save_pretrained(str(staging))
        return {} if "source_sha256" in source_id else {"source_sha256": folder_sha256(folder)}

    built = build_once(target, expected, build)
    if intermediate is not None and not there_before and not keep_intermediate and intermediate.exists() \
            and is_complete(built, expected):
        log.warning("deleting %s: only the converted folder is used from now on", intermediate)
        shutil.rmtree(intermediate, ignore_errors=True)
    return built


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.\-]+", "_", text).strip("_")[-60:] or "model"


def converted_encoder(folder: Path, cache: Path | None = None, quantization: str = "int8") -> Path:
    """The CTranslate2 folder of a sentence-transformers model folder (its Transformer module at the top)."""
    fingerprint = folder_fingerprint(folder)
    name = slug(f"{folder.parent.name}-{folder.name}")
    target = (cache or default_cache_dir()) / "ct2" / f"{name}-{fingerprint[:12]}-{quantization}"
    return ctranslate2_folder(target, {"source_fingerprint": fingerprint}, lambda: folder, quantization)


def folder_fingerprint(folder: Path, only: str | None = None) -> str:
    """Names, sizes and modification times of a model folder's files (or of one file in it): it changes when a
    user replaces the model, without reading gigabytes at every start."""
    rows = sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in folder.iterdir()
                  if f.is_file() and (only is None or f.name == only))
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def folder_sha256(folder: Path) -> str:
    """sha256 over a model folder's files, in name order: what a conversion records as its source."""
    digest = hashlib.sha256()
    for file in sorted(f for f in folder.iterdir() if f.is_file()):
        digest.update(file.name.encode())
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
