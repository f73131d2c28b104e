"""Which CTranslate2 compute type each model runs in, chosen from what this CPU offers.

CTranslate2 reports the compute types it can run on the CPU at hand (`get_supported_compute_types`). They
differ between the machines citeqa runs on: int16 exists only through Intel MKL, so an AMD EPYC offers
int8, int8_float32 and float32, and asking it for int16 fails at load time. Every CTranslate2 model is
therefore loaded in the first type of its kind's preference below that this CPU offers, and a type set by
hand that the CPU lacks is refused with the CPU's name and the types it has.

The orders, and the measurements behind them (2 cores; bench/LEVERS.md has the figures by CPU):
- `embedder`, MiniLM for documents, questions and evidence sentences: int16 where it exists, else float32,
  the types that keep float32's retrieval. int8 is faster for bulk indexing (AMD EPYC: 107 against 70
  chunks/s) and its recall@5 was the same, but it moved one of 81 seed questions out of the dense top 10
  (0.926 against 0.938): more than the 1 point a speed-up may cost. A user may still ask for it
  (`embedding_dtype`).
- `generator`, causal and seq2seq language models: int8, the format they are converted to (3× faster than
  torch bfloat16 with the same answers); int8_float32 and float32 where a CPU lacks int8.
- `verifier`, the answer verifier's cross-encoder (`qa.verifier`): int8, the type its head was calibrated on.

Vectors of one model on one engine are comparable across compute types: with documents in one type and
questions in another, recall@5 on the seeds and the general dev set was the same for every pair of int8,
int8_float32, int16 and float32 (`citeqa bench --only compute`). So an index built with int16 on an Intel
machine is searched with float32 on an AMD one, and the other way round.
"""

from __future__ import annotations

import functools
import os
import platform
import re
from dataclasses import dataclass
from pathlib import Path

PREFERENCE: dict[str, tuple[str, ...]] = {
    "embedder": ("int16", "float32"),
    "generator": ("int8", "int8_float32", "float32"),
    "verifier": ("int8", "int8_float32", "float32"),
}
COMPUTE_TYPES = ("int8", "int8_float32", "int16", "float32")
# Flags that decide what runs fast: AMX computes bfloat16 natively (torch bulk embedding), the others say
# which int8 and bfloat16 kernels exist.
FLAGS_THAT_MATTER = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "amx_tile")


class ComputeTypeError(ValueError):
    """A compute type this CPU cannot run was asked for."""


@dataclass(frozen=True, slots=True)
class CPU:
    """What decides how models run here: the CPU's name, its feature flags, and the compute types CTranslate2
    offers on it. Tests build one for each kind of CPU instead of reading the machine."""

    model: str
    flags: frozenset[str]
    compute_types: frozenset[str]

    @property
    def has_amx(self) -> bool:
        """AMX tiles compute bfloat16 natively; avx512_bf16 alone only converts, and was slower than float32."""
        return "amx_bf16" in self.flags

    def describe(self) -> str:
        flags = " ".join(f for f in FLAGS_THAT_MATTER if f in self.flags) or "none of " + " ".join(FLAGS_THAT_MATTER)
        types = ", ".join(sorted(self.compute_types)) or "none"
        return f"{self.model} (flags: {flags}; CTranslate2 compute types: {types})"


@functools.cache
def _cpuinfo() -> tuple[str, frozenset[str]]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or platform.machine(), frozenset()
    model = re.search(r"^model name\s*:\s*(.*)$", text, re.MULTILINE)
    flags = re.search(r"^flags\s*:\s*(.*)$", text, re.MULTILINE)
    return (model.group(1).strip() if model else platform.machine(),
            frozenset(flags.group(1).split()) if flags else frozenset())


def supported_compute_types() -> frozenset[str]:
    """What CTranslate2 offers on this CPU; empty when it is not installed."""
    try:
        import ctranslate2
    except ImportError:
        return frozenset()
    return frozenset(ctranslate2.get_supported_compute_types("cpu"))


def this_cpu() -> CPU:
    """The CPU this process runs on, as CTranslate2 sees it."""
    model, flags = _cpuinfo()
    return CPU(model, flags, supported_compute_types())


def choose(kind: str, requested: str = "auto", cpu: CPU | None = None) -> str:
    """The compute type a model of `kind` runs in on `cpu` (default: this one).

    `auto` takes the first type of the kind's preference that the CPU offers. A type asked for by name is
    used only when the CPU offers it.
    """
    if kind not in PREFERENCE:
        raise ValueError(f"model kind must be one of {', '.join(PREFERENCE)}, not {kind!r}")
    cpu = cpu or this_cpu()
    if requested != "auto":
        if requested not in COMPUTE_TYPES:
            raise ComputeTypeError(f"compute type must be auto or one of {', '.join(COMPUTE_TYPES)}, "
                                   f"not {requested!r}")
        if requested not in cpu.compute_types:
            raise ComputeTypeError(f"this CPU cannot run CTranslate2 in {requested}: {cpu.describe()}. "
                                   f"Use compute type auto, or one of {', '.join(sorted(cpu.compute_types))}")
        return requested
    for candidate in PREFERENCE[kind]:
        if candidate in cpu.compute_types:
            return candidate
    raise ComputeTypeError(f"CTranslate2 offers none of {', '.join(PREFERENCE[kind])} for the {kind} on this CPU: "
                           f"{cpu.describe()}")


def load_failure(what: str, compute_type: str, exc: BaseException, cpu: CPU | None = None) -> str:
    """The message for an engine that failed to load: what, on which engine and compute type, on which CPU."""
    cpu = cpu or this_cpu()
    reason = " ".join(str(exc).split()) or exc.__class__.__name__
    return f"CTranslate2 could not load {what} in {compute_type} on {cpu.describe()}: {reason}"


def default_threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
