"""Drift statistics between a reference and a current sample (numpy + scipy; no torch).

Each check gives an effect size and a test: the population stability index (PSI) with a
two-sample Kolmogorov-Smirnov test for continuous values, PSI with a chi-square test of
homogeneity for categories. A check flags drift only when both agree: the test rejects
"same distribution" (p < alpha) *and* the PSI is large. The test alone flags trivial shifts
once samples are big; PSI alone is noisy on small samples.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats

OK, WARN, DRIFT, SKIPPED = "ok", "warn", "drift", "skipped"
_SMOOTHING = 0.5  # pseudo-count per bin: an empty bin must not make PSI infinite


@dataclass(frozen=True)
class Thresholds:
    """When a check warns or flags drift. PSI 0.1 / 0.2 are the customary 'moderate' and
    'significant' shift levels; AUC is the embedding classifier's (0.5 = indistinguishable)."""

    alpha: float = 0.01
    psi_warn: float = 0.1
    psi_drift: float = 0.2
    auc_warn: float = 0.55
    auc_drift: float = 0.6


@dataclass
class Check:
    name: str
    test: str  # KS, chi-square, classifier AUC
    status: str
    statistic: float | None = None
    p_value: float | None = None
    psi: float | None = None
    auc: float | None = None
    reference: dict = field(default_factory=dict)  # summary of the reference side
    current: dict = field(default_factory=dict)
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def skipped(name: str, test: str, reason: str) -> Check:
    return Check(name, test, SKIPPED, note=reason)


def _psi(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    ref = (ref_counts + _SMOOTHING) / (ref_counts.sum() + _SMOOTHING * len(ref_counts))
    cur = (cur_counts + _SMOOTHING) / (cur_counts.sum() + _SMOOTHING * len(cur_counts))
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def psi_continuous(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """PSI over the reference's quantile bins (ties merged), current values beyond the ends in the end bins."""
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)))
    inner = edges[1:-1]
    n_bins = len(inner) + 1
    ref_counts = np.bincount(np.searchsorted(inner, reference, side="right"), minlength=n_bins)
    cur_counts = np.bincount(np.searchsorted(inner, current, side="right"), minlength=n_bins)
    return _psi(ref_counts.astype(float), cur_counts.astype(float))


def _status(p_value: float, effect: float, warn: float, drift: float, alpha: float) -> str:
    if p_value < alpha and effect >= drift:
        return DRIFT
    if p_value < alpha and effect >= warn:
        return WARN
    return OK


def _describe(values: np.ndarray) -> dict:
    return {
        "n": int(len(values)),
        "mean": float(np.mean(values)),
        "median": float(np.median(values)),
        "p10": float(np.quantile(values, 0.1)),
        "p90": float(np.quantile(values, 0.9)),
    }


def numeric_check(name: str, reference, current, thresholds: Thresholds, *, min_rows: int = 10) -> Check:
    reference, current = np.asarray(reference, dtype=float), np.asarray(current, dtype=float)
    if min(len(reference), len(current)) < min_rows:
        return skipped(name, "KS", f"needs at least {min_rows} values on each side")
    ks = stats.ks_2samp(reference, current)
    psi = psi_continuous(reference, current)
    return Check(
        name,
        "KS",
        _status(ks.pvalue, psi, thresholds.psi_warn, thresholds.psi_drift, thresholds.alpha),
        statistic=float(ks.statistic),
        p_value=float(ks.pvalue),
        psi=psi,
        reference=_describe(reference),
        current=_describe(current),
    )


def categorical_check(name: str, reference, current, thresholds: Thresholds, *, min_rows: int = 10) -> Check:
    if min(len(reference), len(current)) < min_rows:
        return skipped(name, "chi-square", f"needs at least {min_rows} values on each side")
    ref, cur = Counter(map(str, reference)), Counter(map(str, current))
    categories = sorted(ref.keys() | cur.keys())
    ref_counts = np.array([ref[c] for c in categories], dtype=float)
    cur_counts = np.array([cur[c] for c in categories], dtype=float)
    if len(categories) < 2:  # one category on both sides: nothing can have shifted
        statistic, p_value = 0.0, 1.0
    else:
        result = stats.chi2_contingency(np.vstack([ref_counts, cur_counts]))
        statistic, p_value = float(result.statistic), float(result.pvalue)
    psi = _psi(ref_counts, cur_counts)
    return Check(
        name,
        "chi-square",
        _status(p_value, psi, thresholds.psi_warn, thresholds.psi_drift, thresholds.alpha),
        statistic=statistic,
        p_value=p_value,
        psi=psi,
        reference={c: float(n / ref_counts.sum()) for c, n in zip(categories, ref_counts)},
        current={c: float(n / cur_counts.sum()) for c, n in zip(categories, cur_counts)},
    )


# Words for the out-of-vocabulary rate: runs of letters, each CJK ideograph on its own
# (Chinese has no spaces; a character vocabulary is what a character-level model sees).
_WORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]|[^\W\d_\u3400-\u4dbf\u4e00-\u9fff]+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def oov_rates(texts: list[str], vocabulary: set[str]) -> np.ndarray:
    """Per text: the share of its words not in ``vocabulary`` (texts without words are left out)."""
    rates = []
    for text in texts:
        tokens = words(text)
        if tokens:
            rates.append(sum(t not in vocabulary for t in tokens) / len(tokens))
    return np.array(rates, dtype=float)


def oov_check(reference_texts: list[str], current_texts: list[str], thresholds: Thresholds, *, seed: int = 0) -> Check:
    """The vocabulary comes from one half of the reference; the other half gives the reference's own
    OOV rates, so both sides are measured against words neither contributed."""
    if len(reference_texts) < 20 or len(current_texts) < 10:
        return skipped("out-of-vocabulary rate", "KS", "needs at least 20 reference and 10 current texts")
    order = np.random.default_rng(seed).permutation(len(reference_texts))
    half = len(order) // 2
    vocabulary = {w for i in order[:half] for w in words(reference_texts[i])}
    check = numeric_check(
        "out-of-vocabulary rate",
        oov_rates([reference_texts[i] for i in order[half:]], vocabulary),
        oov_rates(current_texts, vocabulary),
        thresholds,
    )
    check.note = f"vocabulary: {len(vocabulary)} words from {half} reference texts"
    return check
