"""An opt-in on-disk cache of derived features (sentence vectors, lexicon scores, token ids) for batch work.

Training and evaluation turn it on: the same texts are featurised once across approaches
and re-runs. Serving leaves it off, so request texts never land on disk. Fine-tuning caches
its tokenized splits with :func:`cached_arrays` when ``training.cache_tokenized`` is on.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

log = logging.getLogger(__name__)
CACHE_ENV = "SENTIQ_CACHE_DIR"
# A sealed model directory's calibrated probabilities for a list of raw texts (keyed by
# models.integrity.prediction_key): what ensembles read instead of predicting with a member again.
MEMBER_PROBA = "member-proba"

_ENABLED: ContextVar[bool] = ContextVar("sentiq_feature_cache", default=False)


def cache_enabled() -> bool:
    return _ENABLED.get()


@contextmanager
def feature_cache(enabled: bool = True) -> Iterator[None]:
    token = _ENABLED.set(enabled)
    try:
        yield
    finally:
        _ENABLED.reset(token)


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "sentiq")


def _cache_path(kind: str, fingerprint: str, texts: Sequence[str], suffix: str) -> Path:
    digest = hashlib.sha256(fingerprint.encode())
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\0")
    return cache_root() / kind / f"{digest.hexdigest()[:32]}{suffix}"


def cached_features(kind: str, fingerprint: str, texts: Sequence[str], compute: Callable[[], np.ndarray]) -> np.ndarray:
    """``compute()``, stored under ``<cache root>/<kind>/`` keyed by the fingerprint of what
    computes it and the texts themselves; only inside :func:`feature_cache`."""
    if not cache_enabled():
        return compute()
    path = _cache_path(kind, fingerprint, texts, ".npy")
    values = _read_entry(kind, path, np.load)
    if values is None:
        values = compute()
        store_features(kind, fingerprint, texts, values)
    return values


def store_features(kind: str, fingerprint: str, texts: Sequence[str], values: np.ndarray) -> None:
    """Put ``values`` where :func:`cached_features` will find them for these texts (whatever the context:
    the caller decides)."""
    _write_entry(kind, _cache_path(kind, fingerprint, texts, ".npy"), lambda tmp: np.save(tmp, np.asarray(values)))


def cached_arrays(
    kind: str, fingerprint: str, texts: Sequence[str], compute: Callable[[], dict[str, np.ndarray]]
) -> tuple[dict[str, np.ndarray], bool]:
    """Like :func:`cached_features` for several named arrays (one ``.npz``), whatever the feature-cache
    context: the caller decides (``training.cache_tokenized``). Returns the arrays and whether they
    came from the cache."""
    path = _cache_path(kind, fingerprint, texts, ".npz")
    arrays = _read_entry(kind, path, _load_npz)
    if arrays is not None:
        return arrays, True
    arrays = compute()
    _write_entry(kind, path, lambda tmp: np.savez(tmp, **arrays))
    return arrays, False


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as stored:
        return {name: stored[name] for name in stored.files}


def _read_entry(kind: str, path: Path, load: Callable[[Path], object]):
    """The entry at ``path``, or None when there is none; a damaged entry is recomputed and replaced, never trusted."""
    if not path.is_file():
        return None
    try:
        value = load(path)
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable %s cache entry %s: %s", kind, path, exc)
        return None
    log.info("%s cache hit: %s", kind, path)
    return value


def _write_entry(kind: str, path: Path, save: Callable[[Path], None]) -> None:
    """``save(tmp)`` then a rename, so readers never see half an entry; a read-only or full disk costs the
    cache, not the run."""
    # pid and a random tag: processes on two nodes sharing a file system may have the same pid
    tmp = path.with_name(f"{path.stem}.tmp-{os.getpid()}-{secrets.token_hex(4)}{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("could not write the %s cache entry %s: %s", kind, path, exc)
        with suppress(OSError):
            tmp.unlink()
