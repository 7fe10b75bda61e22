"""Temperature scaling on log-probabilities (torch-free, works for every approach).

Every sentiq model returns probabilities; their logarithms are the model's logits up to a
per-row constant, so ``softmax(log p / T)`` is exactly temperature scaling of the logits
(Guo et al., 2017). ``T`` is fitted on the validation split by minimising the negative
log-likelihood; ``T > 1`` softens an over-confident model, ``T < 1`` sharpens a timid one.
Temperature scaling never changes which class wins, so accuracy and F1 are unchanged.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

from sentiq.evaluation.metrics import check_inputs, expected_calibration_error, reliability_bins
from sentiq.evaluation.temperature import _FLOOR, apply_temperature, log_probabilities  # noqa: F401 (re-exported)

log = logging.getLogger(__name__)

# Search log(T) in [log 0.05, log 20]: wider than any sensible model needs.
_LOG_T_BOUNDS = (float(np.log(0.05)), float(np.log(20.0)))


def _nll(log_t: float, logp: np.ndarray, y: np.ndarray) -> float:
    scaled = log_softmax(logp / np.exp(log_t), axis=1)
    return float(-scaled[np.arange(len(y)), y].mean())


def fit_temperature(y_true, proba) -> float | None:
    """The temperature that minimises the negative log-likelihood of ``y_true`` under ``proba``.

    Returns None when every prediction is right: the likelihood then keeps improving as T
    goes to 0, and sharpening a model on that evidence would make its test errors extreme.
    """
    y, p = check_inputs(y_true, proba)
    if np.all(p.argmax(axis=1) == y):
        log.warning("temperature scaling skipped: the model makes no error on the %d validation texts", len(y))
        return None
    logp = log_probabilities(p)
    result = minimize_scalar(_nll, bounds=_LOG_T_BOUNDS, args=(logp, y), method="bounded", options={"xatol": 1e-4})
    temperature = float(np.exp(result.x))
    before, after = _nll(0.0, logp, y), _nll(result.x, logp, y)
    if after > before:  # the bounded search can only lose to T=1 on pathological inputs
        temperature, after = 1.0, before
    log.info("temperature scaling: T=%.3f, validation NLL %.4f -> %.4f", temperature, before, after)
    return temperature


def calibration_summary(y_true, proba, temperature: float | None, n_bins: int = 15) -> dict:
    """ECE, log-loss and reliability bins before and after applying ``temperature``."""
    y, raw = check_inputs(y_true, proba)
    scaled = apply_temperature(raw, temperature)

    def side(p: np.ndarray) -> dict:
        bins = reliability_bins(y, p, n_bins)
        nll = float(-np.log(np.clip(p[np.arange(len(y)), y], _FLOOR, 1.0)).mean())
        return {
            "ece": expected_calibration_error(y, p, n_bins),
            "log_loss": nll,
            "mean_confidence": float(p.max(axis=1).mean()),
            "bins": {k: v.tolist() for k, v in bins.items()},
        }

    return {"temperature": temperature, "before": side(raw), "after": side(scaled)}
