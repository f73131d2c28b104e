"""The generator engines by name, as `Config.engine` names them; "auto" tries them in this order.

Each is a frozen set of plain settings, checked when it is made, that loads a model source onto its runtime;
`to_dict` gives the settings back. `ctranslate2` converts a model to int8 once and caches it (3x faster than
torch on 2 cores, and answering imports no torch); `torch` runs transformers, for the model types the
converter refuses and for hub ids, which have no folder to convert.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, ClassVar, Protocol

from index.compute import COMPUTE_TYPES, CPU, ComputeTypeError, choose
from qa.engines import Engine
from qa.engines.ct2 import CT2Causal, CT2Seq2Seq
from qa.engines.hf import HFCausal, HFSeq2Seq
from qa.sources import ModelSource, converted_folder, hub_kind, transformers_folder

DTYPES = ("bfloat16", "float16", "float32")


class EngineChoice(Protocol):
    name: ClassVar[str]

    def to_dict(self) -> dict[str, Any]: ...

    def load(self, source: ModelSource, cache: Path, cpu: CPU | None = None) -> Engine:
        """The model running on this engine; conversions land in `cache`."""
        ...


def _check(max_new_tokens: int, threads: int | None, dtype: str) -> None:
    if max_new_tokens < 1:
        raise ValueError("max_new_tokens must be at least 1")
    if threads is not None and threads < 1:
        raise ValueError("threads must be at least 1, or None for every core")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")


@dataclass(frozen=True, slots=True)
class CTranslate2:
    """The model converted once to CTranslate2 int8, run in `compute_type` ("auto": the first of the generator's
    preference this CPU offers, `index.compute`). `dtype` is that of the transformers folder a GGUF source is
    dequantised to before the conversion; that folder is deleted after it unless `keep_intermediate`."""

    name: ClassVar[str] = "ctranslate2"
    max_new_tokens: int = 48
    compute_type: str = "auto"
    threads: int | None = None
    dtype: str = "bfloat16"
    keep_intermediate: bool = False

    def __post_init__(self) -> None:
        _check(self.max_new_tokens, self.threads, self.dtype)
        if self.compute_type != "auto" and self.compute_type not in COMPUTE_TYPES:
            raise ComputeTypeError(f"compute type must be auto or one of {', '.join(COMPUTE_TYPES)}, "
                                   f"not {self.compute_type!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def load(self, source: ModelSource, cache: Path, cpu: CPU | None = None) -> Engine:
        """Raises `index.model_cache.ConversionUnsupported` when the converter has no mapping for the model type."""
        chosen = choose("generator", self.compute_type, cpu)  # before a conversion: a refusal costs nothing
        folder = converted_folder(source, cache, self.dtype, self.keep_intermediate)
        engine = CT2Seq2Seq if source.kind == "seq2seq" else CT2Causal
        return engine(folder, self.max_new_tokens, chosen, self.threads, cpu=cpu)


@dataclass(frozen=True, slots=True)
class Torch:
    """transformers on torch, in `dtype`; a packaged or GGUF model is dequantised to a transformers folder once."""

    name: ClassVar[str] = "torch"
    max_new_tokens: int = 48
    dtype: str = "bfloat16"
    threads: int | None = None

    def __post_init__(self) -> None:
        _check(self.max_new_tokens, self.threads, self.dtype)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def load(self, source: ModelSource, cache: Path, cpu: CPU | None = None) -> Engine:
        if source.hub_id is not None:
            path, kind = source.hub_id, source.kind or hub_kind(source.hub_id)
        else:
            path, kind = str(transformers_folder(source, cache, self.dtype)), source.kind
        engine = HFSeq2Seq if kind == "seq2seq" else HFCausal
        return engine(path, None, self.max_new_tokens, self.dtype, self.threads)


ENGINES: dict[str, type[EngineChoice]] = {engine.name: engine for engine in (CTranslate2, Torch)}


def engine_choice(name: str, **settings: Any) -> EngineChoice:
    """Engine `name` with those of `settings` it takes: one set of settings serves every engine."""
    engine = ENGINES[name]
    return engine(**{f.name: settings[f.name] for f in fields(engine) if f.name in settings})
