"""The kinds of CPU citeqa runs on, injected instead of read from the machine.

In a test: `cpu_kinds()[kind]` is an `index.compute.CPU` to pass where code takes one, and
`ctranslate2_offering(monkeypatch, types)` makes CTranslate2 itself behave as on a CPU that offers only `types`.
In a fresh process: `python -m tests.cpus KIND bench.worker ARGS...` runs a command of `bench.worker` as it would
run on that kind: this module imports nothing heavy, so the worker still sees what its own command imports.
"""

from __future__ import annotations

import contextlib
import runpy
import sys
from collections.abc import Iterator

XEON = frozenset({"avx2", "avx512f", "avx512_vnni", "avx512_bf16"})
# What CTranslate2 4.8.5 offers on each kind, as measured (shared/MODELS.md): no bfloat16 types, AMX or not; no
# int16 on AMD, which CTranslate2 computes only through Intel MKL.
INTEL_TYPES = frozenset({"int8", "int8_float32", "int16", "float32"})
AMD_TYPES = frozenset({"int8", "int8_float32", "float32"})
KINDS = ("intel-amx", "intel", "amd")


def cpu_kinds():
    """The three kinds of CPU seen so far: {name: CPU}."""
    from index.compute import CPU

    return {
        "intel-amx": CPU("Intel Xeon Platinum 8480+", XEON | {"amx_bf16", "amx_int8", "amx_tile"}, INTEL_TYPES),
        "intel": CPU("Intel Xeon Platinum 8375C", XEON, INTEL_TYPES),
        "amd": CPU("AMD EPYC", XEON | {"avx_vnni"}, AMD_TYPES),
    }


def runnable(kind: str):
    """`kind` as this machine can run it: only the types its CTranslate2 offers as well. Injection takes types
    away and never adds one: an AMD EPYC cannot load a model in int16 for a test of an Intel kind."""
    import dataclasses

    import ctranslate2

    cpu = cpu_kinds()[kind]
    return dataclasses.replace(cpu, compute_types=cpu.compute_types & set(ctranslate2.get_supported_compute_types("cpu")))


def restrict_ctranslate2(types: frozenset[str], setattr_=setattr) -> None:
    """CTranslate2 as on a CPU that offers only `types`: it reports them, and its model classes refuse any other
    type with the ValueError CTranslate2 raises on such a CPU. Only restricts: a type this CPU lacks stays
    lacking. `setattr_` is how attributes are replaced (a monkeypatch's, in a test)."""
    import ctranslate2

    offered = frozenset(ctranslate2.get_supported_compute_types("cpu")) & types

    def restricted(cls):
        def load(*args, compute_type="default", **kwargs):
            if compute_type not in offered | {"default", "auto"}:
                raise ValueError(f"Requested {compute_type} compute type, but the target device or backend do not "
                                 f"support efficient {compute_type} computation.")
            return cls(*args, compute_type=compute_type, **kwargs)
        return load

    setattr_(ctranslate2, "get_supported_compute_types", lambda device="cpu", device_index=0: set(offered))
    for name in ("Encoder", "Generator", "Translator"):
        setattr_(ctranslate2, name, restricted(getattr(ctranslate2, name)))


@contextlib.contextmanager
def ctranslate2_offering(monkeypatch, types: frozenset[str]) -> Iterator[None]:
    with monkeypatch.context() as patch:
        restrict_ctranslate2(types, patch.setattr)
        yield


def pretend(kind: str) -> None:
    """This process, from now on, runs as on `kind`: `index.compute.this_cpu` says so, and CTranslate2 offers
    only that kind's types."""
    from index import compute

    cpu = runnable(kind)
    compute.this_cpu = lambda: cpu
    restrict_ctranslate2(cpu.compute_types)


def main(argv: list[str]) -> None:
    kind, module, *args = argv
    pretend(kind)
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
