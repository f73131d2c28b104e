"""`citeqa doctor`: what a bug report needs about this machine, in lines a user pastes.

The CPU and the flags that decide how models run, the engines and compute types chosen on it, the model
cache (converted or not, sizes) and the index. Nothing is loaded or converted: it answers in a second.
"""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from index.compute import FLAGS_THAT_MATTER, CPU, choose, default_threads, this_cpu
from index.config import IndexConfig


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _size_mb(folder: Path) -> float:
    return round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6, 1)


def _chosen(cpu: CPU, kind: str) -> str:
    try:
        return choose(kind, "auto", cpu)
    except ValueError as exc:
        return f"none ({exc})"


def model_cache(cache: Path) -> list[dict[str, Any]]:
    """Every converted model folder in the cache: its name, size and whether it is complete."""
    from index.model_cache import read_marker

    folders = [f for f in [*cache.glob("*"), *cache.glob("ct2/*"), *cache.glob("gguf/*")]
               if f.is_dir() and not f.name.startswith(".") and f.name not in {"ct2", "gguf"}]
    return [{"folder": str(f.relative_to(cache)), "mb": _size_mb(f), "complete": read_marker(f) is not None,
             "kind": (read_marker(f) or {}).get("kind"), "quantization": (read_marker(f) or {}).get("quantization")}
            for f in sorted(folders)]


def index_state(config: IndexConfig) -> dict[str, Any]:
    from index.corpus import Index

    state: dict[str, Any] = {"path": str(config.path), "store": config.store}
    try:
        index = Index(config)
        if not index.exists:
            return {**state, "exists": False}
        documents = index.documents()
        manifest = index.manifest()
        index.close()
    except Exception as exc:  # noqa: BLE001 - a broken index is what a report needs to show
        return {**state, "error": " ".join(str(exc).split())[:300]}
    return {**state, "exists": True, "documents": len(documents), "chunks": sum(d.chunks for d in documents),
            **{k: manifest.get(k) for k in ("embedding_model", "embedding_backend", "embedding_dtype")}}


def report(config: IndexConfig, cpu: CPU | None = None, cache: Path | None = None) -> dict[str, Any]:
    from index.embedding import resolve_model_path
    from index.encoders import choose_backend, engine_of, resolve_dtype
    from index.model_cache import default_cache_dir
    from qa.sources import DEFAULT_GENERATOR

    cpu = cpu or this_cpu()
    cache = cache or default_cache_dir()
    try:
        backend = choose_backend(resolve_model_path(config.embedding_model), config.embedding_backend)
        engine = engine_of(backend)
        embedding = {"model": config.embedding_model, "backend": backend,
                     "documents": resolve_dtype(config.embedding_dtype, engine, cpu),
                     "queries": resolve_dtype("auto", engine, cpu, kind="query")}
    except Exception as exc:  # noqa: BLE001 - shown, not raised: the rest of the report still helps
        embedding = {"model": config.embedding_model, "error": " ".join(str(exc).split())[:300]}
    return {
        "citeqa": _version("citeqa"), "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "cpu": {"model": cpu.model, "cores": default_threads(), "flags": [f for f in FLAGS_THAT_MATTER if f in cpu.flags],
                "ctranslate2": _version("ctranslate2"), "compute_types": sorted(cpu.compute_types)},
        "embedding": embedding,
        "generator": {"default": DEFAULT_GENERATOR, "engine": "ctranslate2", "compute_type": _chosen(cpu, "generator")},
        "model_cache": {"path": str(cache), "folders": (folders := model_cache(cache) if cache.is_dir() else []),
                        "mb": round(sum(f["mb"] for f in folders), 1)},
        "index": index_state(config),
    }


def _cache_note(folder: dict[str, Any], cache: str) -> str:
    if not folder["complete"]:
        return " (incomplete: rebuilt on next use)"
    if folder["kind"] == "transformers":
        return f" (a step of a conversion, read only by --engine torch: delete it with `rm -r {cache}/{folder['folder']}`)"
    return ""


def lines(data: dict[str, Any]) -> list[str]:
    cpu, emb, gen, cache, index = data["cpu"], data["embedding"], data["generator"], data["model_cache"], data["index"]
    out = [f"citeqa {data['citeqa']}, Python {data['python']}, {data['system']}",
           f"CPU: {cpu['model']}, {cpu['cores']} cores; flags: {' '.join(cpu['flags']) or 'none that matter'}",
           f"CTranslate2 {cpu['ctranslate2']}: compute types {', '.join(cpu['compute_types']) or 'none'}"]
    if "error" in emb:
        out.append(f"embedding {emb['model']}: {emb['error']}")
    else:
        out.append(f"embedding {emb['model']}: {emb['backend']}, documents in {emb['documents']}, "
                   f"queries in {emb['queries']}")
    out.append(f"generator default ({gen['default']}): {gen['engine']} {gen['compute_type']}")
    out.append(f"model cache {cache['path']}: " + (f"{cache['mb']:,.1f} MB in {len(cache['folders'])} folders"
                                                     if cache["folders"] else "empty (models convert on first use)"))
    out += [f"  {f['folder']}: {f['mb']:,.1f} MB" + _cache_note(f, cache["path"]) for f in cache["folders"]]
    if "error" in index:
        out.append(f"index {index['path']} ({index['store']}): {index['error']}")
    elif not index["exists"]:
        out.append(f"index {index['path']} ({index['store']}): none yet")
    else:
        out.append(f"index {index['path']} ({index['store']}): {index['documents']} documents, {index['chunks']} "
                   f"chunks; built with {index['embedding_model']} on {index['embedding_backend']} "
                   f"{index['embedding_dtype']}")
    return out
