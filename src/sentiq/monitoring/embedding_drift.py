"""Embedding drift: a classifier two-sample test on sentence vectors.

A logistic regression learns to tell reference from current sentence embeddings; its
cross-validated ROC-AUC is the effect size (0.5: the samples cannot be told apart). The
p-value is the Mann-Whitney U test of the out-of-fold scores of the two sides, which is
the significance test of that AUC. The encoder (torch) is imported only here, lazily.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy import stats

from sentiq.monitoring.drift import DRIFT, OK, WARN, Check, Thresholds, skipped

log = logging.getLogger(__name__)
NAME, TEST = "embeddings", "classifier AUC"


def _subset(texts: list[str], n: int, seed: int) -> list[str]:
    if len(texts) <= n:
        return list(texts)
    keep = np.sort(np.random.default_rng(seed).choice(len(texts), size=n, replace=False))
    return [texts[i] for i in keep]


def classifier_two_sample(
    reference: np.ndarray, current: np.ndarray, *, seed: int = 0, folds: int = 5
) -> tuple[float, float]:
    """Cross-validated AUC of a logistic regression separating the two sets of vectors, and its p-value."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    x = np.vstack([reference, current])
    y = np.r_[np.zeros(len(reference)), np.ones(len(current))]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = cross_val_predict(LogisticRegression(C=1.0, max_iter=1000), x, y, cv=splitter, method="predict_proba")[
        :, 1
    ]
    auc = float(roc_auc_score(y, scores))
    p_value = float(stats.mannwhitneyu(scores[y == 1], scores[y == 0], alternative="greater").pvalue)
    return auc, p_value


def embedding_check(
    reference_texts: list[str],
    current_texts: list[str],
    thresholds: Thresholds,
    *,
    encoder: str = "minilm",
    max_texts: int = 500,
    max_length: int = 128,
    seed: int = 0,
    progress=None,
) -> Check:
    if min(len(reference_texts), len(current_texts)) < 20:
        return skipped(NAME, TEST, "needs at least 20 texts on each side")
    from sentiq.models.cache import feature_cache
    from sentiq.models.embedding import SentenceEncoder, cached_encode

    reference_texts = _subset(reference_texts, max_texts, seed)
    current_texts = _subset(current_texts, max_texts, seed + 1)
    model = SentenceEncoder(encoder, max_length=max_length)
    with feature_cache():  # reference vectors are cached; live texts are never written to disk
        ref = cached_encode(model, reference_texts, progress)
    cur = model.encode(current_texts, progress)
    folds = int(min(5, len(reference_texts), len(current_texts)))
    auc, p_value = classifier_two_sample(ref, cur, seed=seed, folds=folds)
    if p_value < thresholds.alpha and auc >= thresholds.auc_drift:
        status = DRIFT
    elif p_value < thresholds.alpha and auc >= thresholds.auc_warn:
        status = WARN
    else:
        status = OK
    centroid_cosine = float(
        np.dot(ref.mean(0), cur.mean(0)) / max(np.linalg.norm(ref.mean(0)) * np.linalg.norm(cur.mean(0)), 1e-12)
    )
    return Check(
        NAME,
        TEST,
        status,
        statistic=auc,
        p_value=p_value,
        auc=auc,
        reference={"n": len(reference_texts)},
        current={"n": len(current_texts)},
        note=f"encoder {encoder}, {folds}-fold logistic regression; centroid cosine {centroid_cosine:.3f}",
    )
