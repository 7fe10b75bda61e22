"""Accuracy by text length, in quantile buckets with integer edges."""

from __future__ import annotations

import numpy as np

from sentiq.errors import ConfigError, DataError, Errors


def text_lengths(texts, unit: str = "words") -> np.ndarray:
    """Lengths of ``texts``: whitespace tokens (``"words"``) or characters (``"chars"``)."""
    if unit == "words":
        return np.array([len(str(t).split()) for t in texts], dtype=np.int64)
    if unit == "chars":
        return np.array([len(str(t)) for t in texts], dtype=np.int64)
    raise ConfigError(Errors.E120, unit=unit)


def length_buckets(lengths, y_true, y_pred, n_buckets: int = 5) -> list[dict]:
    """Split examples into up to ``n_buckets`` length quantile buckets.

    Returns ``[{"bucket": "12-30", "n": 40, "accuracy": 0.85}, ...]`` ordered by length;
    bucket bounds are inclusive integers and empty buckets are left out.
    """
    lengths = np.asarray(lengths)
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if not (lengths.ndim == y_true.ndim == y_pred.ndim == 1):
        raise DataError(Errors.E219)
    if not (len(lengths) == len(y_true) == len(y_pred)):
        raise DataError(Errors.E220, n_lengths=len(lengths), n_y_true=len(y_true), n_y_pred=len(y_pred))
    if len(lengths) == 0:
        return []
    lengths = np.round(lengths.astype(np.float64)).astype(np.int64)
    correct = y_true == y_pred
    quantiles = np.quantile(lengths, np.linspace(0.0, 1.0, n_buckets + 1))
    edges = np.unique(np.round(quantiles).astype(np.int64))
    # Bucket i covers [edges[i], edges[i+1] - 1]; the last one also takes the maximum.
    starts = edges[:-1] if len(edges) > 1 else edges
    ends = np.append(edges[1:-1] - 1, lengths.max()) if len(edges) > 1 else edges
    out = []
    for lo, hi in zip(starts, ends):
        mask = (lengths >= lo) & (lengths <= hi)
        n = int(mask.sum())
        if n:
            out.append({"bucket": f"{lo}-{hi}", "n": n, "accuracy": float(correct[mask].mean())})
    return out
