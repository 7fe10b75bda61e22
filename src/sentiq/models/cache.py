"""An opt-in switch for caching derived features (sentence vectors) during batch work.

Training and evaluation turn it on: the same texts are encoded once across approaches
and re-runs. Serving leaves it off, so request texts never land on disk.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

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
