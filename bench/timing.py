"""Timing helpers: percentiles, and whole child processes timed to their first output line and to their exit."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.runtime import go_offline

REPO = Path(__file__).resolve().parents[1]


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    """count, p50, p95 and mean (linear interpolation between samples, as numpy does)."""
    if not values:
        return {"count": 0, "p50": None, "p95": None, "mean": None}
    array = np.asarray(values, dtype=float)
    return {"count": len(values), "p50": float(np.percentile(array, 50)), "p95": float(np.percentile(array, 95)),
            "mean": float(array.mean())}


def peak_rss_mb(status: Path = Path("/proc/self/status")) -> float:
    """This process's peak resident set size so far, in MB.

    Linux's VmHWM first: ru_maxrss survives execve, so a worker started by a bench that holds a 4 GB model
    would report the bench's 4 GB as its own peak. Elsewhere ru_maxrss (KiB on Linux, bytes on macOS).
    """
    try:
        for line in status.read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak * 1024 / 1e6


def citeqa_command() -> list[str]:
    """The `citeqa` console script beside this interpreter, or the same front door through -m."""
    script = Path(sys.executable).with_name("citeqa")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "citeqa.cli"]


def worker_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "bench.worker", *args]


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment, offline, with the checkout importable (the benchmark is not installed)."""
    env = dict(os.environ)
    go_offline(env)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env.update(extra or {})
    return env


@dataclass(frozen=True, slots=True)
class ProcessRun:
    seconds: float  # from start to exit
    first_output: float | None  # from start to the first non-empty stdout line (`citeqa ask`: the answer)
    stdout: str
    stderr: str
    returncode: int = 0

    def stderr_tail(self) -> str:
        return " ".join(self.stderr.strip().splitlines()[-5:])[-600:]

    def json(self) -> dict[str, Any]:
        """The JSON object the child printed: its whole output, or its last line."""
        text = self.stdout.strip()
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return json.loads(text.splitlines()[-1])


def timed_process(argv: list[str], env: dict[str, str] | None = None, timeout: float = 3600,
                  check: bool = True) -> ProcessRun:
    """Run a child to its end; with `check`, a non-zero exit raises with the tail of its stderr."""
    started = time.perf_counter()
    first = None
    lines: list[str] = []
    with tempfile.TemporaryFile(mode="w+") as errors:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, text=True, cwd=REPO,
                                   env=env if env is not None else child_env())
        try:
            for line in process.stdout:
                if first is None and line.strip():
                    first = time.perf_counter() - started
                lines.append(line)
            process.wait(timeout=max(1.0, timeout - (time.perf_counter() - started)))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise TimeoutError(f"{Path(argv[0]).name} {' '.join(argv[1:3])} took over {timeout:.0f} s") from None
        finally:
            process.stdout.close()
        errors.seek(0)
        stderr = errors.read()
    run = ProcessRun(time.perf_counter() - started, first, "".join(lines), stderr, process.returncode)
    if check and run.returncode != 0:
        raise RuntimeError(f"{Path(argv[0]).name} {' '.join(argv[1:3])} exited with {run.returncode}: "
                           f"{run.stderr_tail()}")
    return run
