"""Crash-safe file system helpers: a directory or file is either complete or absent.

``atomic_directory`` builds a directory under a temporary sibling name and renames it
into place only when the ``with`` block succeeds; ``atomic_write_text`` does the same
for one text file. Readers therefore never see a half-written report or model.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sentiq.errors import ConfigError, Errors

logger = logging.getLogger(__name__)

# Temporary names end in ".partial" so that .gitignore (``*.partial/``) hides leftovers.
_TMP_SUFFIX = ".partial"


def _sibling(path: Path, tag: str) -> Path:
    return path.with_name(f"{path.name}.{tag}-{secrets.token_hex(4)}{_TMP_SUFFIX}")


def _remove(path: Path) -> None:
    """Delete a file, symlink or directory tree; missing paths are ignored."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path)


def _fsync_dir(path: Path) -> None:
    """Best-effort fsync of a directory so that a rename survives a power cut."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_directory(path: Path, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary sibling directory; on success it replaces ``path``.

    If the block raises, the temporary directory is removed, ``path`` is left exactly
    as it was, and the exception propagates. With ``overwrite=False`` an existing
    ``path`` raises :class:`~sentiq.errors.ConfigError`.
    """
    path = Path(path)
    if path.exists() or path.is_symlink():
        if not overwrite:
            raise ConfigError(Errors.E102, path=path)
        if not path.is_dir():
            raise ConfigError(Errors.E103, path=path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path, "tmp")
    tmp.mkdir()
    try:
        yield tmp
        _swap_into_place(tmp, path, overwrite=overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap_into_place(tmp: Path, path: Path, *, overwrite: bool) -> None:
    """Rename ``tmp`` to ``path``, moving an existing ``path`` aside first."""
    old = None
    if path.exists() or path.is_symlink():
        if not overwrite:
            raise ConfigError(Errors.E102, path=path)
        old = _sibling(path, "old")
        os.replace(path, old)
    try:
        os.replace(tmp, path)
    except BaseException:
        if old is not None:
            os.replace(old, path)  # put the previous version back
        raise
    _fsync_dir(path.parent)
    if old is not None:
        try:
            _remove(old)
        except OSError as exc:  # the new directory is in place; a leftover is harmless
            logger.warning("could not remove previous version %s: %s", old, exc)
    logger.debug("wrote %s atomically", path)


def atomic_write_text(path: Path, text: str, *, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` via a temporary file in the same directory, fsync and
    ``os.replace``; readers see either the old content or the new one, never a mix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}{_TMP_SUFFIX}")
    # 0o666 minus the umask: the same permissions an ordinary open() would give.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
