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


def _file_sources(data: dict) -> list[tuple[str, str, bool]]:
    """(record key, source as given, optional) for each source of a data config: ``source``, ``test_source``
    and each of ``domains`` (keyed ``domains.N``), the ones given only."""
    sources = [(key, data.get(key), False) for key in DATA_KEYS]
    sources += [
        (f"domains.{i}", d["source"], d.get("optional", False)) for i, d in enumerate(data.get("domains") or [])
    ]
    return [(key, given, optional) for key, given, optional in sources if given]


def _with_source(data: dict, key: str, path: str) -> dict:
    if not key.startswith("domains."):
        return {**data, key: path}
    i = int(key.removeprefix("domains."))
    domains = [dict(d) for d in data["domains"]]
    domains[i]["source"] = path
    return {**data, "domains": domains}


def record_data_files(data: dict) -> dict[str, dict]:
    """Fingerprints of the data config's file sources (``source``, ``test_source``, each of ``domains``);
    built-in names are skipped."""
    return {
        key: {"given": given, **fingerprint(given)}
        for key, given, _ in _file_sources(data)
        if Path(given).expanduser().is_file()
    }


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
    for key, given, optional in _file_sources(data):
        record = recorded.get(key)
        if record is None:
            # an optional domain absent at training is left out again; a relative file only resolves from here
            relative = not Path(given).expanduser().is_absolute() and not Path(given).exists()
            if relative and not optional and _looks_like_file(given):
                raise DataError(Errors.E285, given=given, cwd=Path.cwd())
            continue
        path = Path(record["path"])
        if not path.is_file():
            raise DataError(Errors.E286, path=path)
        if not _unchanged(path, record):
            raise DataError(Errors.E287, path=path)
        data = _with_source(data, key, str(path))
    return data


def _looks_like_file(name: str) -> bool:
    return "/" in name or Path(name).suffix != ""
