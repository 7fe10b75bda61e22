"""Applying a fitted temperature: numpy only, so a serving process (``Predictor``) does not import
scikit-learn, scipy and pandas for it (about 190 MB of resident memory; issue 15). Fitting the
temperature is :mod:`sentiq.evaluation.calibration`."""

from __future__ import annotations

import numpy as np

from sentiq.errors import DataError, Errors

# Probabilities of exactly 0 (a class a scikit-learn head never saw) stay finite in log space.
_FLOOR = 1e-12


def log_probabilities(proba) -> np.ndarray:
    p = np.asarray(proba, dtype=np.float64)
    return np.log(np.clip(p, _FLOOR, 1.0))


def log_softmax(x: np.ndarray, axis: int = 1) -> np.ndarray:
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def apply_temperature(proba, temperature: float | None) -> np.ndarray:
    """``softmax(log p / T)``, rows following the columns of ``proba``; ``None`` or 1 returns ``proba``."""
    if temperature is None or temperature == 1.0:
        return np.asarray(proba)
    if not np.isfinite(temperature) or temperature <= 0:
        raise DataError(Errors.E240, temperature=temperature)
    scaled = np.exp(log_softmax(log_probabilities(proba) / float(temperature), axis=1))
    return scaled.astype(np.asarray(proba).dtype if np.asarray(proba).dtype.kind == "f" else np.float64)
