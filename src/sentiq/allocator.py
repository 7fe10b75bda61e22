"""glibc's allocator, where its defaults cost time or memory (no-ops with another C library).

Training on the CPU allocates the same large buffers every step: the embedding matrix's dense
gradient is 47 MB for MiniLM (30,522 x 384 floats). glibc serves any block above its mmap
threshold (at most 32 MB by its own adjustment) with a fresh mapping and unmaps it on free, so
every step page-faults those megabytes in again: 20 ms of a 480 ms tweet batch, 3 ms once the
memory stays mapped (docs/benchmarks.md, "Training options"). :func:`keep_freed_memory` raises
the thresholds for the duration of a training run, then restores glibc's defaults and trims.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from contextlib import contextmanager
from typing import Callable, Iterator

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_GLIBC_DEFAULT = 128 * 1024  # both thresholds' initial value (mallopt(3))
KEEP_LIMIT = 1 << 30  # blocks up to 1 GiB stay in the heap: e5-small's embedding gradient is 384 MB


def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def malloc_trim() -> Callable[[int], int]:
    """glibc's ``malloc_trim`` (gives freed heap memory back to the system), or a no-op."""
    libc = _libc()
    return libc.malloc_trim if libc is not None else (lambda pad: 0)


@contextmanager
def keep_freed_memory(enabled: bool = True, *, limit: int = KEEP_LIMIT) -> Iterator[bool]:
    """Inside the block, freed blocks of up to ``limit`` bytes stay in the process for reuse instead of
    being unmapped; yields whether that took effect. Process-wide while it lasts; on exit glibc's
    default thresholds are set again and the freed memory trimmed."""
    libc = _libc() if enabled else None
    applied = libc is not None and all([libc.mallopt(_M_MMAP_THRESHOLD, limit), libc.mallopt(_M_TRIM_THRESHOLD, limit)])
    if enabled and not applied:
        log.debug("keep_freed_memory: glibc's thresholds could not be raised; left as they are")
    try:
        yield applied
    finally:
        if libc is not None:
            libc.mallopt(_M_MMAP_THRESHOLD, _GLIBC_DEFAULT)
            libc.mallopt(_M_TRIM_THRESHOLD, _GLIBC_DEFAULT)
            libc.malloc_trim(0)
