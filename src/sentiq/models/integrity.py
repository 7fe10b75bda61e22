"""A model directory proves itself whole when it loads, or refuses with one line.

When a model directory is written, :func:`seal` records in its manifest (``integrity``)
every file the model needs with its size and SHA-256, and the probabilities the model
gives a few fixed texts. :func:`verify_files` checks the files before anything is
loaded (a missing, truncated or swapped ``tokenizer.json`` or weights file is named);
:func:`check_loaded` runs the fixed texts through the loaded model and compares. A
directory written before sealing existed loads with a warning (no checksums to check),
but still gets the smoke prediction (finite probabilities).

Cost: one SHA-256 pass over the files per load (MiniLM: 91 MB; see docs/benchmarks.md)
and a 3-text prediction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from sentiq.data.fingerprint import sha256_file
from sentiq.errors import Errors, ModelIntegrityError

log = logging.getLogger(__name__)

INTEGRITY_VERSION = 1
# Beside the model, not part of it: reports are rewritten by `evaluate`, the manifest holds the record.
# README.md is the model card, written from the manifest after sealing (and users edit it).
_NOT_MODEL_FILES = {"sentiq.json", "export_report.json", "README.md"}
_NOT_MODEL_DIRS = {"report", "evaluations"}
# Fixed texts whose probabilities are recorded at save and compared at load.
SMOKE_TEXTS = ("A wonderful film, I loved every minute.", "Dull, predictable and far too long.", "ok")
# Largest probability difference tolerated between save and load. The same files give the same
# numbers up to kernel rounding (1e-6); bf16 autocast on another CPU can move them by ~1e-2.
SMOKE_TOLERANCE = 0.05


def _is_nested_model(path: Path, root: Path) -> bool:
    """A member model copied inside (ensemble, routed): it carries and checks its own record."""
    return path != root and (path / "sentiq.json").is_file()


def model_files(directory: Path) -> list[Path]:
    """The files a model directory's predictions depend on, relative paths, sorted."""
    directory = Path(directory)
    found: list[Path] = []

    def walk(folder: Path) -> None:
        for entry in sorted(folder.iterdir()):
            rel = entry.relative_to(directory)
            if entry.is_dir():
                if (folder == directory and entry.name in _NOT_MODEL_DIRS) or _is_nested_model(entry, directory):
                    continue
                if entry.name.endswith(".partial"):
                    continue
                walk(entry)
            elif entry.is_file() and not (folder == directory and entry.name in _NOT_MODEL_FILES):
                found.append(rel)

    walk(directory)
    return found


def file_records(directory: Path) -> dict[str, dict[str, Any]]:
    directory = Path(directory)
    return {
        rel.as_posix(): {"bytes": (directory / rel).stat().st_size, "sha256": sha256_file(directory / rel)}
        for rel in model_files(directory)
    }


def smoke_probabilities(model) -> list[list[float]]:
    proba = np.asarray(model.predict_proba(list(SMOKE_TEXTS)), dtype=np.float64)
    return [[round(float(p), 6) for p in row] for row in proba]


# The manifest fields a model directory's probabilities depend on, beside its files' checksums.
_PREDICTION_FIELDS = (
    "approach",
    "labels",
    "preprocess",
    "max_length",
    "truncation",
    "window",
    "attention",
    "bf16",
    "temperature",
)


def prediction_key(manifest) -> str | None:
    """A digest of everything that decides a sealed directory's calibrated probabilities: its files'
    checksums and the manifest fields that loading and prediction read. None for a directory without
    checksums (written by an older sentiq), whose probabilities are then never cached."""
    files = (getattr(manifest, "integrity", None) or {}).get("files")
    if not files:
        return None
    record = {name: getattr(manifest, name, None) for name in _PREDICTION_FIELDS}
    record["files"] = {name: entry["sha256"] for name, entry in files.items()}
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()


def seal(directory: Path, manifest, model=None) -> None:
    """Record ``directory``'s files and ``model``'s smoke probabilities (none without a model) in
    ``manifest`` and save it.

    Call it last, once every model file is in place (reports may follow: they are not listed)."""
    directory = Path(directory)
    manifest.integrity = {"version": INTEGRITY_VERSION, "files": file_records(directory)}
    if model is not None:
        manifest.integrity["smoke"] = {"texts": list(SMOKE_TEXTS), "proba": smoke_probabilities(model)}
    manifest.save(directory)


def verify_files(directory: Path, manifest) -> None:
    """Every recorded file present with its size and checksum, or ModelIntegrityError naming the first bad one."""
    directory = Path(directory)
    files = (getattr(manifest, "integrity", None) or {}).get("files")
    if not files:
        log.warning(
            "%s was written without file checksums (an older sentiq): it cannot be verified; "
            "re-save it (train or export again) to add them",
            directory,
        )
        return
    for name, record in files.items():
        path = directory / name
        hint = "copy the model directory again from where it was trained or exported"
        if not path.is_file():
            raise ModelIntegrityError(Errors.E310, directory=directory, name=name, hint=hint)
        size = path.stat().st_size
        if size != record["bytes"]:
            raise ModelIntegrityError(
                Errors.E311, directory=directory, name=name, size=size, recorded=record["bytes"], hint=hint
            )
        if sha256_file(path) != record["sha256"]:
            raise ModelIntegrityError(Errors.E312, directory=directory, name=name, hint=hint)


def check_loaded(model, manifest, directory: Path) -> None:
    """The smoke prediction: finite probabilities that sum to one and, when recorded, match the save's."""
    directory = Path(directory)
    try:
        proba = np.asarray(model.predict_proba(list(SMOKE_TEXTS)), dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - any failure here means the directory cannot serve
        raise ModelIntegrityError(Errors.E313, directory=directory, detail=first_line(exc)) from None
    n_labels = len(manifest.labels)
    if (
        proba.shape != (len(SMOKE_TEXTS), n_labels)
        or not np.all(np.isfinite(proba))
        or not np.allclose(proba.sum(axis=1), 1.0, atol=1e-3)
    ):
        raise ModelIntegrityError(
            Errors.E314, directory=directory, shape=proba.shape, finite=bool(np.all(np.isfinite(proba)))
        )
    smoke = (getattr(manifest, "integrity", None) or {}).get("smoke") or {}
    if smoke.get("texts") == list(SMOKE_TEXTS) and smoke.get("proba"):
        expected = np.asarray(smoke["proba"], dtype=np.float64)
        if expected.shape == proba.shape:
            gap = float(np.abs(expected - proba).max())
            if not math.isfinite(gap) or gap > SMOKE_TOLERANCE:
                raise ModelIntegrityError(Errors.E315, directory=directory, gap=gap, bound=SMOKE_TOLERANCE)


def verify_directory(directory: str | Path):
    """Manifest and file checks without loading the model (cheap enough for a launcher); returns the manifest."""
    from sentiq.models.manifest import Manifest

    manifest = Manifest.load(directory)
    verify_files(Path(directory), manifest)
    return manifest


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
