"""Shared glue for models whose last step is a scikit-learn classifier."""

from __future__ import annotations

from typing import Callable

import numpy as np


def aligned_proba(
    estimator, features_of: Callable[[], object], n_texts: int, n_labels: int, progress=None
) -> np.ndarray:
    """``predict_proba`` with one column per label id, even for classes the estimator never saw."""
    proba = np.zeros((n_texts, n_labels), dtype=np.float32)
    if n_texts:
        proba[:, estimator.classes_] = estimator.predict_proba(features_of())
    if progress:
        progress("predict", n_texts, n_texts)
    return proba
