"""sentiq.evaluation.significance: paired bootstrap and McNemar against known values and properties."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sentiq.evaluation import mcnemar, mcnemar_from_counts, paired_bootstrap


def _pair(b: int, c: int, both_right: int = 0, both_wrong: int = 0):
    """Gold labels and two models' predictions with the given 2x2 table (b: only A right, c: only B right)."""
    gold = ["pos"] * (b + c + both_right + both_wrong)
    a = ["pos"] * b + ["neg"] * c + ["pos"] * both_right + ["neg"] * both_wrong
    bb = ["neg"] * b + ["pos"] * c + ["pos"] * both_right + ["neg"] * both_wrong
    return gold, a, bb


def test_mcnemar_exact_matches_scipy_binomtest():
    gold, a, b = _pair(3, 12, both_right=70, both_wrong=15)  # 15 discordant rows: exact test
    result = mcnemar(gold, a, b)
    assert (result.only_a_right, result.only_b_right, result.method) == (3, 12, "exact")
    assert result.p_value == pytest.approx(stats.binomtest(3, 15, 0.5).pvalue)
    assert result.p_value == pytest.approx(0.03515625)  # 2 * sum_{k<=3} C(15,k) / 2^15, worked by hand


def test_mcnemar_chi_square_textbook_tables():
    # Wikipedia's McNemar example (b=121, c=59): corrected chi2 = (|121-59|-1)^2/180 = 3721/180 = 20.672.
    result = mcnemar_from_counts(121, 59)
    assert result.method == "chi2" and result.statistic == pytest.approx(3721 / 180)
    assert result.p_value == pytest.approx(stats.chi2.sf(3721 / 180, 1)) and result.p_value < 1e-5
    # Agresti, Categorical Data Analysis: presidential approval, b=150, c=86: (64-1)^2/236 = 16.818, p = 4.1e-5.
    agresti = mcnemar_from_counts(150, 86)
    assert agresti.statistic == pytest.approx(3969 / 236) and agresti.p_value == pytest.approx(4.115e-5, rel=1e-2)


def test_mcnemar_identical_predictions_and_threshold():
    gold, a, _ = _pair(0, 0, both_right=30, both_wrong=10)
    assert mcnemar(gold, a, a).p_value == 1.0
    assert mcnemar_from_counts(12, 12).p_value == 1.0  # chi2 path: correction floors |b - c| - 1 at 0
    assert mcnemar_from_counts(12, 12, exact_below=100).method == "exact"
    with pytest.raises(ValueError):
        mcnemar(["a"], ["a", "b"], ["a"])


def test_bootstrap_identical_predictions():
    gold, a, _ = _pair(0, 0, both_right=80, both_wrong=20)
    result = paired_bootstrap(gold, a, a, n_resamples=500, seed=1)
    assert result.difference == 0 and result.ci == (0.0, 0.0) and result.p_value == 1.0
    assert result.metric_a == result.metric_b == 0.8 and result.rows == 100


def test_bootstrap_no_real_difference_contains_zero():
    rng = np.random.default_rng(3)
    gold = rng.integers(0, 2, 400)
    a = np.where(rng.random(400) < 0.8, gold, 1 - gold)
    b = np.where(rng.random(400) < 0.8, gold, 1 - gold)  # same skill, independent errors
    result = paired_bootstrap(gold, a, b, n_resamples=2000, seed=0)
    assert result.ci[0] <= 0 <= result.ci[1] and result.p_value > 0.05
    assert result.difference == pytest.approx(np.mean(b == gold) - np.mean(a == gold))


def test_bootstrap_clear_difference_and_seed():
    gold, a, b = _pair(0, 15, both_right=80, both_wrong=5)  # B fixes 15 of A's 20 errors
    result = paired_bootstrap(gold, a, b, n_resamples=2000, seed=0)
    assert result.difference == pytest.approx(0.15) and result.ci[0] > 0 and result.p_value < 0.01
    assert result == paired_bootstrap(gold, a, b, n_resamples=2000, seed=0)
    assert result.to_dict()["ci"] == list(result.ci)


def test_bootstrap_custom_metric():
    from sklearn.metrics import f1_score

    gold, a, b = _pair(2, 10, both_right=30, both_wrong=8)
    gold[:20] = ["neg"] * 20  # two classes in the gold labels

    def macro_f1(y, p):
        return f1_score(y, p, average="macro", zero_division=0)

    result = paired_bootstrap(gold, a, b, n_resamples=200, seed=0, metric=macro_f1)
    assert result.difference == pytest.approx(macro_f1(gold, b) - macro_f1(gold, a))
    assert result.ci[0] <= result.difference <= result.ci[1]


def test_against_reference_picks_the_most_accurate():
    from sentiq.evaluation.significance import against_reference

    gold, weak, strong = _pair(2, 14, both_right=60, both_wrong=4)
    reference, rows = against_reference(gold, {"weak": weak, "strong": strong}, n_resamples=500)
    assert reference == "strong" and rows["strong"]["mcnemar_p"] is None
    assert rows["weak"]["vs_best_diff"] == pytest.approx(-0.15)
    assert rows["weak"]["vs_best_ci_high"] < 0 and rows["weak"]["mcnemar_p"] == pytest.approx(
        stats.binomtest(2, 16).pvalue
    )


def test_bootstrap_interval_brackets_the_accuracy_and_narrows_with_rows():
    from sentiq.evaluation.significance import bootstrap_interval

    small = bootstrap_interval([1, 0] * 20, [1, 0] * 15 + [0, 1] * 5)  # 30 of 40 right
    large = bootstrap_interval([1, 0] * 400, [1, 0] * 300 + [0, 1] * 100)
    assert small[0] < 0.75 < small[1] and large[0] < 0.75 < large[1]
    assert large[1] - large[0] < small[1] - small[0]
    assert bootstrap_interval(["a"] * 10, ["a"] * 10) == (1.0, 1.0)


def test_bootstrap_interval_checks_its_arguments_like_the_paired_bootstrap():
    # Before: one prediction for two gold labels broadcast silently and gave an interval.
    from sentiq.evaluation.significance import bootstrap_interval

    with pytest.raises(ValueError, match="y_true and pred must have the same length, got 2 and 1"):
        bootstrap_interval([1, 0], [1])
    with pytest.raises(ValueError, match="no rows"):
        bootstrap_interval([], [])
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_interval([1], [1], confidence=1.5)
