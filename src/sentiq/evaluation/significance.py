"""Is model B really better than model A on the same rows? Paired bootstrap and McNemar's test.

Both take the gold labels and the two models' predictions for the very same rows (any hashable
labels: names or ids). numpy and scipy only.

* ``paired_bootstrap``: the difference in a metric (B minus A; accuracy by default) with a
  percentile confidence interval from resampling rows with replacement (the same rows for both
  models in each resample), and a two-sided p-value for "no difference" from the resamples
  shifted to a zero mean (Koehn 2004; Berg-Kirkpatrick et al. 2012).
* ``mcnemar``: only the discordant rows count (b: A right and B wrong; c: A wrong and B right).
  With fewer than ``exact_below`` of them, the exact binomial test (b ~ Binomial(b + c, 1/2));
  otherwise the chi-square statistic with Edwards' continuity correction, max(|b - c| - 1, 0)^2 / (b + c),
  on one degree of freedom.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

Metric = Callable[[np.ndarray, np.ndarray], float]


@dataclass(frozen=True)
class BootstrapResult:
    """``difference`` = metric(B) - metric(A) on all rows; ``ci`` its ``confidence`` interval."""

    metric_a: float
    metric_b: float
    difference: float
    ci: tuple[float, float]
    p_value: float
    confidence: float
    n_resamples: int
    rows: int

    def to_dict(self) -> dict:
        return {**asdict(self), "ci": list(self.ci)}


@dataclass(frozen=True)
class McNemarResult:
    """``only_a_right`` (b) and ``only_b_right`` (c) are the discordant rows; ``method`` is
    ``exact`` (binomial) or ``chi2`` (continuity-corrected); ``statistic`` is None for ``exact``."""

    only_a_right: int
    only_b_right: int
    statistic: float | None
    p_value: float
    method: str

    def to_dict(self) -> dict:
        return asdict(self)


def _arrays(**columns: Sequence) -> tuple[np.ndarray, ...]:
    """The named columns as object arrays of one common, non-zero length (names go into the error)."""
    arrays = [np.asarray(list(v) if not isinstance(v, np.ndarray) else v, dtype=object) for v in columns.values()]
    if len({len(a) for a in arrays}) > 1:
        *names, last = columns
        *lengths, last_length = (len(a) for a in arrays)
        raise ValueError(
            f"{', '.join(names)} and {last} must have the same length, got {', '.join(map(str, lengths))} and "
            f"{last_length}"
        )
    if len(arrays[0]) == 0:
        raise ValueError("no rows to compare")
    return tuple(arrays)


def _check_resampling(n_resamples: int, confidence: float) -> None:
    if n_resamples < 1:
        raise ValueError("n_resamples must be at least 1")
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")


def paired_bootstrap(
    y_true: Sequence,
    pred_a: Sequence,
    pred_b: Sequence,
    *,
    n_resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
    metric: Metric | None = None,
) -> BootstrapResult:
    """Paired bootstrap of metric(B) - metric(A) over rows.

    ``metric(y_true, pred) -> float`` defaults to accuracy (vectorised; other metrics are computed per
    resample in a loop, so keep ``n_resamples`` modest for costly ones such as macro-F1).
    """
    _check_resampling(n_resamples, confidence)
    y_true, pred_a, pred_b = _arrays(y_true=y_true, pred_a=pred_a, pred_b=pred_b)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(y_true), size=(n_resamples, len(y_true)))
    if metric is None:
        right_a, right_b = (pred_a == y_true).astype(float), (pred_b == y_true).astype(float)
        score_a, score_b = float(right_a.mean()), float(right_b.mean())
        boot = (right_b - right_a)[draws].mean(axis=1)
    else:
        score_a, score_b = float(metric(y_true, pred_a)), float(metric(y_true, pred_b))
        boot = np.array([metric(y_true[i], pred_b[i]) - metric(y_true[i], pred_a[i]) for i in draws], dtype=float)
    difference = score_b - score_a
    tail = (1 - confidence) / 2
    low, high = np.quantile(boot, [tail, 1 - tail])
    # Under "no difference" the resampled differences centre on 0: shift them there and count how often
    # they are at least as far from 0 as the observed one (+1: the observed sample counts as one draw).
    extreme = np.sum(np.abs(boot - boot.mean()) >= abs(difference) - 1e-12)
    p_value = float((extreme + 1) / (n_resamples + 1))
    return BootstrapResult(
        score_a,
        score_b,
        float(difference),
        (float(low), float(high)),
        min(p_value, 1.0),
        confidence,
        n_resamples,
        len(y_true),
    )


def bootstrap_interval(
    y_true: Sequence, pred: Sequence, *, n_resamples: int = 2000, seed: int = 0, confidence: float = 0.95
) -> tuple[float, float]:
    """Percentile ``confidence`` interval of one model's accuracy, resampling rows with replacement."""
    _check_resampling(n_resamples, confidence)
    y_true, pred = _arrays(y_true=y_true, pred=pred)
    right = (y_true == pred).astype(float)
    draws = np.random.default_rng(seed).integers(0, len(right), size=(n_resamples, len(right)))
    tail = (1 - confidence) / 2
    low, high = np.quantile(right[draws].mean(axis=1), [tail, 1 - tail])
    return float(low), float(high)


def mcnemar(y_true: Sequence, pred_a: Sequence, pred_b: Sequence, *, exact_below: int = 25) -> McNemarResult:
    """McNemar's test of equal error rates on paired predictions (two-sided)."""
    y_true, pred_a, pred_b = _arrays(y_true=y_true, pred_a=pred_a, pred_b=pred_b)
    right_a, right_b = pred_a == y_true, pred_b == y_true
    return mcnemar_from_counts(
        int(np.sum(right_a & ~right_b)), int(np.sum(right_b & ~right_a)), exact_below=exact_below
    )


def mcnemar_from_counts(only_a_right: int, only_b_right: int, *, exact_below: int = 25) -> McNemarResult:
    """McNemar's test from the two discordant counts of a 2x2 table (b, c)."""
    b, c = int(only_a_right), int(only_b_right)
    if b < 0 or c < 0:
        raise ValueError("discordant counts cannot be negative")
    n = b + c
    if n == 0:
        return McNemarResult(b, c, None, 1.0, "exact")
    if n < exact_below:
        return McNemarResult(b, c, None, float(stats.binomtest(b, n, 0.5).pvalue), "exact")
    statistic = max(abs(b - c) - 1, 0) ** 2 / n  # the correction never pushes |b - c| below 0
    return McNemarResult(b, c, float(statistic), float(stats.chi2.sf(statistic, df=1)), "chi2")


def against_reference(
    y_true: Sequence,
    predictions: dict[str, Sequence],
    *,
    reference: str | None = None,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[str, dict[str, dict]]:
    """Each model's accuracy difference from ``reference`` (default: the most accurate) on the same rows.

    Returns ``(reference, {name: {"vs_best_diff", "vs_best_ci_low", "vs_best_ci_high", "bootstrap_p",
    "mcnemar_p"}})``; the reference's own entry holds None values. What ``sentiq compare`` shows.
    """
    gold = np.asarray(list(y_true), dtype=object)
    if reference is None:
        reference = max(
            predictions, key=lambda name: np.mean(np.asarray(list(predictions[name]), dtype=object) == gold)
        )
    keys = ("vs_best_diff", "vs_best_ci_low", "vs_best_ci_high", "bootstrap_p", "mcnemar_p")
    out: dict[str, dict] = {}
    for name, predicted in predictions.items():
        if name == reference:
            out[name] = dict.fromkeys(keys)
            continue
        boot = paired_bootstrap(gold, predictions[reference], predicted, n_resamples=n_resamples, seed=seed)
        test = mcnemar(gold, predictions[reference], predicted)
        out[name] = dict(zip(keys, (boot.difference, boot.ci[0], boot.ci[1], boot.p_value, test.p_value)))
    return reference, out
