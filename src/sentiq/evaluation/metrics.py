"""Classification metrics from class ids and predicted probabilities.

Everything scikit-learn provides comes from scikit-learn; this module adds input
checks, expected calibration error and a JSON-friendly result.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Sequence

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    log_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

from sentiq.errors import ConfigError, DataError, Errors

logger = logging.getLogger(__name__)

# Rows of ``proba`` must sum to 1 within this tolerance (float16/32 softmax is fine).
_SUM_TOLERANCE = 1e-3


def check_inputs(y_true, proba, n_labels: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``y_true``/``proba`` and return them as int64 / row-normalised float64.

    Raises :class:`~sentiq.errors.DataError` for empty input, shape mismatches,
    non-integer or out-of-range class ids and rows that are not probabilities.
    """
    y = np.asarray(y_true)
    try:
        p = np.asarray(proba, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(Errors.E222, detail=exc) from None
    if p.ndim != 2:
        raise DataError(Errors.E223, shape=p.shape)
    if y.ndim != 1:
        raise DataError(Errors.E224, shape=y.shape)
    n, k = p.shape
    if len(y) != n:
        raise DataError(Errors.E225, n_true=len(y), n=n)
    if n == 0:
        raise DataError(Errors.E226)
    if n_labels is not None and k != n_labels:
        raise DataError(Errors.E227, k=k, n_labels=n_labels)
    if k < 2:
        raise DataError(Errors.E228, k=k)
    y = _as_class_ids(y)
    if y.min() < 0 or y.max() >= k:
        bad = sorted({int(v) for v in y if v < 0 or v >= k})[:5]
        raise DataError(Errors.E229, max_id=k - 1, bad=bad)
    if not np.all(np.isfinite(p)):
        raise DataError(Errors.E230)
    if p.min() < -_SUM_TOLERANCE or p.max() > 1 + _SUM_TOLERANCE:
        raise DataError(Errors.E231)
    sums = p.sum(axis=1)
    worst = int(np.argmax(np.abs(sums - 1.0)))
    if abs(sums[worst] - 1.0) > _SUM_TOLERANCE:
        raise DataError(Errors.E232, worst=worst, total=sums[worst])
    p = np.clip(p, 0.0, None)
    return y, p / p.sum(axis=1, keepdims=True)


def _as_class_ids(y: np.ndarray) -> np.ndarray:
    if y.dtype.kind in "iub":
        return y.astype(np.int64)
    if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        return y.astype(np.int64)
    raise DataError(Errors.E233, dtype=y.dtype)


def reliability_bins(y_true, proba, n_bins: int = 15) -> dict:
    """Per-bin counts, mean confidence and accuracy of the max-probability confidence.

    Bins are ``n_bins`` equal-width intervals ``(lo, hi]`` over [0, 1] (0 goes to the
    first bin). Empty bins have ``count`` 0 and NaN confidence/accuracy.
    """
    if int(n_bins) != n_bins or n_bins < 1:
        raise ConfigError(Errors.E129, n_bins=n_bins)
    y, p = check_inputs(y_true, proba)
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, int(n_bins) + 1)
    idx = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, int(n_bins) - 1)
    count = np.bincount(idx, minlength=n_bins).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(idx, weights=conf, minlength=n_bins) / count
        accuracy = np.bincount(idx, weights=correct, minlength=n_bins) / count
    return {"edges": edges, "count": count, "confidence": mean_conf, "accuracy": accuracy}


def expected_calibration_error(y_true, proba, n_bins: int = 15) -> float:
    """ECE: count-weighted mean |accuracy - confidence| over equal-width confidence bins."""
    bins = reliability_bins(y_true, proba, n_bins)
    mask = bins["count"] > 0
    gaps = np.abs(bins["accuracy"][mask] - bins["confidence"][mask])
    return float(np.sum(gaps * bins["count"][mask]) / bins["count"].sum())


def _roc_auc(y: np.ndarray, p: np.ndarray) -> float | None:
    """Binary AUC of column 1, or macro one-vs-rest AUC; None when undefined."""
    k = p.shape[1]
    if len(np.unique(y)) < 2:
        logger.info("ROC-AUC undefined: only one class present in y_true")
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if k == 2:
                value = roc_auc_score(y, p[:, 1])
            else:
                value = roc_auc_score(y, p, multi_class="ovr", average="macro", labels=list(range(k)))
    except ValueError as exc:
        logger.info("ROC-AUC undefined: %s", exc)
        return None
    value = float(value)
    if not math.isfinite(value):
        logger.info("ROC-AUC undefined: some class has no examples in y_true")
        return None
    return value


def compute_metrics(y_true: Sequence[int], proba: np.ndarray, labels: Sequence[str]) -> dict:
    """All headline metrics for class ids ``y_true`` and probabilities ``proba`` (n, K)
    whose columns follow ``labels``. Predictions are the argmax. JSON-serialisable."""
    labels = [str(label) for label in labels]
    if len(set(labels)) != len(labels):
        raise DataError(Errors.E234, labels=labels)
    y, p = check_inputs(y_true, proba, n_labels=len(labels))
    k = len(labels)
    ids = list(range(k))
    pred = p.argmax(axis=1)

    per = precision_recall_fscore_support(y, pred, labels=ids, zero_division=0)
    macro = precision_recall_fscore_support(y, pred, labels=ids, average="macro", zero_division=0)
    weighted = precision_recall_fscore_support(y, pred, labels=ids, average="weighted", zero_division=0)
    shares = np.bincount(pred, minlength=k) / len(pred)

    return {
        "n": int(len(y)),
        "accuracy": float(accuracy_score(y, pred)),
        "macro_precision": float(macro[0]),
        "macro_recall": float(macro[1]),
        "macro_f1": float(macro[2]),
        "weighted_precision": float(weighted[0]),
        "weighted_recall": float(weighted[1]),
        "weighted_f1": float(weighted[2]),
        "per_class": {
            label: {
                "precision": float(per[0][i]),
                "recall": float(per[1][i]),
                "f1": float(per[2][i]),
                "support": int(per[3][i]),
            }
            for i, label in enumerate(labels)
        },
        "roc_auc": _roc_auc(y, p),
        "log_loss": float(log_loss(y, p, labels=ids)),
        "ece": expected_calibration_error(y, p),
        "confusion_matrix": confusion_matrix(y, pred, labels=ids).astype(int).tolist(),
        "predicted_share": {label: float(shares[i]) for i, label in enumerate(labels)},
        "majority_prediction_share": float(shares.max()),
    }
