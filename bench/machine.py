"""The machine a run measured, and how busy it was: figures taken on a loaded machine are flagged."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

BUSY_LOAD = 1.5  # a 1-minute load average above this means other work shared the cores


def load_average() -> float | None:
    """The 1-minute load average, or None where the system has none."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def is_busy(loads: list[float | None]) -> bool:
    return any(x is not None and x > BUSY_LOAD for x in loads)


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    from index.compute import FLAGS_THAT_MATTER, this_cpu

    cpu = this_cpu()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu.model, "amx": cpu.has_amx, "avx512_bf16": "avx512_bf16" in cpu.flags,
            "flags": [f for f in FLAGS_THAT_MATTER if f in cpu.flags], "compute_types": sorted(cpu.compute_types),
            "cores": cores,
            "memory_gb": _memory_gb(), "system": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(),
            "versions": {p: _version(p) for p in ("ctranslate2", "torch", "transformers", "faiss-cpu")},
            "load_average_start": load_average(), "load_average_end": None}
