"""Where a model's training data lives, independent of the folder a command runs from.

A model records each data file it was trained on as an absolute path with its size,
modification time and SHA-256. Commands that rebuild the training splits later
(``evaluate``, ``calibrate``, ``monitor --reference MODEL``, the export accuracy gate)
find the file from any folder, and refuse when it changed: a changed file gives a
different "test split", and a check on it would not be the check it claims to be.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from sentiq.errors import DataError, Errors

log = logging.getLogger(__name__)

DATA_KEYS = ("source", "test_source")


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, read in blocks (the one helper for data files, model files and fetches)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def fingerprint(path: str | Path) -> dict:
    path = Path(path).expanduser().resolve()
    stat = path.stat()
    return {"path": str(path), "bytes": stat.st_size, "mtime": stat.st_mtime, "sha256": sha256_file(path)}


def record_data_files(data: dict) -> dict[str, dict]:
    """Fingerprints of the data config's file sources (``source``, ``test_source``); built-in names are skipped."""
    recorded = {}
    for key in DATA_KEYS:
        given = data.get(key)
        if given and Path(given).expanduser().is_file():
            recorded[key] = {"given": given, **fingerprint(given)}
    return recorded


def _unchanged(path: Path, record: dict) -> bool:
    stat = path.stat()
    if stat.st_size != record["bytes"]:
        return False
    if stat.st_mtime == record["mtime"]:
        return True
    return sha256_file(path) == record["sha256"]  # touched or copied: the content decides


def locate_training_data(data: dict, recorded: dict[str, dict]) -> dict:
    """``data`` (a model's data config) with file sources replaced by the absolute paths it recorded, each
    checked against its fingerprint; DataError when a file moved or changed. Models from before these
    records keep relative paths, which only resolve from the folder they were trained in."""
    data = dict(data)
    for key in DATA_KEYS:
        given = data.get(key)
        if not given:
            continue
        record = recorded.get(key)
        if record is None:
            if not Path(given).expanduser().is_absolute() and not Path(given).exists() and _looks_like_file(given):
                raise DataError(Errors.E285, given=given, cwd=Path.cwd())
            continue
        path = Path(record["path"])
        if not path.is_file():
            raise DataError(Errors.E286, path=path)
        if not _unchanged(path, record):
            raise DataError(Errors.E287, path=path)
        data[key] = str(path)
    return data


def _looks_like_file(name: str) -> bool:
    return "/" in name or Path(name).suffix != ""
