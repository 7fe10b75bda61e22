"""The model directory contract: ``sentiq.json`` beside the weights says how to use them."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from sentiq.errors import ModelError
from sentiq.atomic import atomic_write_text

MANIFEST_NAME = "sentiq.json"
FORMAT_VERSION = 1


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in ("sentiq", "torch", "transformers", "scikit-learn", "numpy", "onnxruntime"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return versions


@dataclass
class Manifest:
    """What a model directory holds and how its inputs must be prepared."""

    approach: str
    labels: list[str]
    preprocess: dict[str, Any]  # {"name": ..., "version": ...}
    language: str = "en"
    max_length: int | None = None
    truncation: str | None = None  # windows strategy: head, tail, head+tail or chunks
    window: dict[str, Any] = field(default_factory=dict)  # head_tokens, stride, pooling (None: the defaults)
    base_model: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    # Temperature fitted on the validation split; Predictor divides log-probabilities by it.
    temperature: float | None = None
    warnings: list[str] = field(default_factory=list)
    export: dict[str, Any] = field(default_factory=dict)  # ONNX exports: source, quantization, parity report
    # The training data files: absolute path, size, mtime and SHA-256 (sentiq.data.fingerprint).
    data_files: dict[str, Any] = field(default_factory=dict)
    # Files with size and SHA-256, and smoke-text probabilities: written by models.integrity.seal, checked at load.
    integrity: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=library_versions)
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    format_version: int = FORMAT_VERSION

    def save(self, directory: Path) -> None:
        atomic_write_text(Path(directory) / MANIFEST_NAME, json.dumps(asdict(self), indent=2, ensure_ascii=False))

    @classmethod
    def load(cls, directory: str | Path) -> "Manifest":
        directory = Path(directory)
        if not directory.exists():
            raise ModelError(f"model directory {directory} does not exist")
        path = directory / MANIFEST_NAME
        if not path.is_file():
            raise ModelError(f"{directory} is not a sentiq model directory (no {MANIFEST_NAME}); "
                             "train one with `sentiq train` or point at the folder it wrote")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(f"{path} is corrupt: {exc}") from None
        if data.get("format_version", 0) > FORMAT_VERSION:
            raise ModelError(f"{directory} was written by a newer sentiq (format {data['format_version']}); upgrade sentiq")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        try:
            return cls(**known)
        except TypeError as exc:
            raise ModelError(f"{path} is missing fields: {exc}") from None
