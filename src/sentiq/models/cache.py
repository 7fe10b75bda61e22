"""An opt-in on-disk cache of derived features (sentence vectors, lexicon scores) for batch work.

Training and evaluation turn it on: the same texts are featurised once across approaches
and re-runs. Serving leaves it off, so request texts never land on disk.
"""

from __future__ import annotations

import hashlib
import logging
import os
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

log = logging.getLogger(__name__)
CACHE_ENV = "SENTIQ_CACHE_DIR"

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


def cached_features(kind: str, fingerprint: str, texts: Sequence[str], compute: Callable[[], np.ndarray]) -> np.ndarray:
    """``compute()``, stored under ``<cache root>/<kind>/`` keyed by the fingerprint of what
    computes it and the texts themselves; only inside :func:`feature_cache`."""
    if not cache_enabled():
        return compute()
    digest = hashlib.sha256(fingerprint.encode())
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\0")
    path = cache_root() / kind / f"{digest.hexdigest()[:32]}.npy"
    if path.is_file():
        log.info("%s cache hit: %s", kind, path)
        return np.load(path)
    values = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp-{os.getpid()}.npy")
    np.save(tmp, values)
    os.replace(tmp, path)
    return values
