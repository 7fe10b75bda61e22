"""The model directory contract: ``sentiq.json`` beside the weights says how to use them."""

from __future__ import annotations

import json
import logging
import platform
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from sentiq.atomic import atomic_write_text
from sentiq.errors import Errors, ModelError

log = logging.getLogger(__name__)

MANIFEST_NAME = "sentiq.json"
# 2: every field loading needs is in the manifest (max_length, truncation, window, attention, bf16);
# format 1 directories are read through :func:`upgrade_format_1`.
FORMAT_VERSION = 2


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
    """What a model directory holds and how its inputs must be prepared.

    Loaders read these fields and nothing else: ``config`` (the training config) is a record
    for people and for ``evaluate``'s data split, never an input of loading. Unknown top-level
    keys (written by a newer sentiq or another tool) are kept in ``extra`` and written back.
    """

    approach: str
    labels: list[str]
    preprocess: dict[str, Any]  # {"name": ..., "version": ...}
    language: str = "en"
    max_length: int | None = None  # tokens per window (transformer and encoder models)
    truncation: str | None = None  # windows strategy: head, tail, head+tail or chunks
    window: dict[str, Any] = field(default_factory=dict)  # head_tokens, stride, pooling (None: the defaults)
    attention: str | None = None  # attention kernel the transformer predicts with (auto, sdpa, eager)
    bf16: bool = False  # trained under bfloat16 autocast: predicts the same way where the hardware has it
    base_model: str | None = None  # the encoder it was built on (fine-tuned model, sentence encoder)
    command: str | None = None  # the command that reproduces the directory (shown in the model card)
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
    extra: dict[str, Any] = field(default_factory=dict)  # unknown keys, preserved on save

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {**data.pop("extra"), **data}

    def save(self, directory: Path) -> None:
        atomic_write_text(Path(directory) / MANIFEST_NAME, json.dumps(self.to_dict(), indent=2, ensure_ascii=False))

    @classmethod
    def load(cls, directory: str | Path) -> "Manifest":
        directory = Path(directory)
        if not directory.exists():
            raise ModelError(Errors.E342, directory=directory)
        path = directory / MANIFEST_NAME
        if not path.is_file():
            raise ModelError(Errors.E343, directory=directory, manifest=MANIFEST_NAME)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(Errors.E344, path=path, detail=exc) from None
        if not isinstance(data, dict):
            raise ModelError(Errors.E345, path=path, type_name=type(data).__name__)
        version = data.get("format_version", 1)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ModelError(Errors.E346, directory=directory, version=version)
        if version < FORMAT_VERSION:
            data = upgrade_format_1(data, directory)
        names = {f.name for f in fields(cls)} - {"extra"}
        known = {k: v for k, v in data.items() if k in names}
        try:
            return cls(**known, extra={k: v for k, v in data.items() if k not in names})
        except TypeError as exc:
            raise ModelError(Errors.E347, path=path, detail=exc) from None


# What format-1 loaders guessed when the manifest had no value (transformer and ONNX 512, encoders 256).
_FORMAT_1_MAX_LENGTH = {
    "finetune": ("training", 512),
    "onnx": ("training", 512),
    "embedding": ("embedding", 256),
    "hybrid": ("embedding", 256),
}


def upgrade_format_1(data: dict[str, Any], directory: Path) -> dict[str, Any]:
    """The one place that reads a format-1 manifest: fields loading needs that format 1 kept only in
    the training config (attention, bf16) or left to per-loader defaults (max_length, truncation) are
    filled the way the format-1 loaders did, with a warning naming what was filled."""
    data = dict(data)
    training = (data.get("config") or {}).get("training") or {}
    filled = {}
    approach = data.get("approach")
    parts = ((data.get("config") or {}).get("hybrid") or {}).get("parts") or []
    uses_encoder = approach != "hybrid" or "embedding" in parts
    if approach in _FORMAT_1_MAX_LENGTH and uses_encoder and data.get("max_length") is None:
        section, default = _FORMAT_1_MAX_LENGTH[approach]
        filled["max_length"] = ((data.get("config") or {}).get(section) or {}).get("max_length") or default
    if approach in ("finetune", "onnx"):
        if not data.get("truncation"):
            filled["truncation"] = "head"
        if "attention" not in data and training.get("attention"):
            filled["attention"] = training["attention"]
        if "bf16" not in data and training.get("bf16"):
            filled["bf16"] = bool(training["bf16"])
    if filled:
        log.warning(
            "%s was written by an older sentiq (manifest format 1); read with %s. Re-save it with this "
            "sentiq (`sentiq calibrate` rewrites the manifest) to store them",
            directory,
            ", ".join(f"{k}={v!r}" for k, v in filled.items()),
        )
    return {**data, **filled, "format_version": FORMAT_VERSION}
