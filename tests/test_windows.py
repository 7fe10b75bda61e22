"""The windowing functions: which token ids each strategy keeps, and how window predictions pool."""

from __future__ import annotations

import numpy as np
import pytest

from sentiq.models.windows import make_windows, pool, window_starts

IDS = list(range(100, 120))  # one 20-token text


def test_head_tail_and_head_plus_tail_keep_the_expected_tokens():
    (head,), _ = make_windows([IDS], strategy="head", max_tokens=8)
    (tail,), _ = make_windows([IDS], strategy="tail", max_tokens=8)
    (both,), _ = make_windows([IDS], strategy="head+tail", max_tokens=8, head_tokens=3)
    assert head == IDS[:8]
    assert tail == IDS[-8:]
    assert both == IDS[:3] + IDS[-5:]


def test_head_plus_tail_default_head_share_is_a_quarter():
    ids = list(range(1000))
    (window,), _ = make_windows([ids], strategy="head+tail", max_tokens=510)
    assert window == ids[:128] + ids[-382:]  # Sun et al.'s 128 + 382 at max_length 512


def test_head_tokens_at_or_over_the_budget_is_plain_head():
    (window,), _ = make_windows([IDS], strategy="head+tail", max_tokens=8, head_tokens=50)
    assert window == IDS[:8]


def test_chunks_slide_by_the_stride_and_the_last_window_ends_at_the_end():
    windows, owners = make_windows([IDS], strategy="chunks", max_tokens=8, stride=5)
    assert [w[0] for w in windows] == [100, 105, 110, 112]
    assert windows[-1] == IDS[-8:]
    assert all(len(w) == 8 for w in windows)
    assert owners.tolist() == [0, 0, 0, 0]
    assert sorted(set(t for w in windows for t in w)) == IDS  # every token seen


def test_chunks_default_stride_is_half_a_window_and_wide_strides_are_capped():
    assert window_starts(20, 8, 4) == [0, 4, 8, 12]
    windows, _ = make_windows([IDS], strategy="chunks", max_tokens=8)
    assert [w[0] for w in windows] == [100, 104, 108, 112]
    capped, _ = make_windows([IDS], strategy="chunks", max_tokens=8, stride=100)
    assert [w[0] for w in capped] == [100, 108, 112]


@pytest.mark.parametrize("strategy", ["head", "tail", "head+tail", "chunks"])
def test_short_and_empty_texts_are_kept_whole_as_one_window(strategy):
    windows, owners = make_windows([[1, 2, 3], [], IDS[:8]], strategy=strategy, max_tokens=8)
    assert windows == [[1, 2, 3], [], IDS[:8]]
    assert owners.tolist() == [0, 1, 2]


def test_owners_map_windows_back_to_texts_in_order():
    windows, owners = make_windows([IDS, [7], IDS], strategy="chunks", max_tokens=10, stride=10)
    assert owners.tolist() == [0, 0, 1, 2, 2]
    assert windows[2] == [7]


def test_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="truncation strategy"):
        make_windows([IDS], strategy="middle", max_tokens=8)


def test_mean_pooling_averages_each_texts_windows():
    probas = np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8], [0.3, 0.7]])
    pooled = pool(probas, np.array([0, 0, 1, 0]), 2, method="mean")
    np.testing.assert_allclose(pooled, [[(0.9 + 0.5 + 0.3) / 3, (0.1 + 0.5 + 0.7) / 3], [0.2, 0.8]], rtol=1e-6)


def test_max_pooling_takes_the_most_confident_window():
    probas = np.array([[0.6, 0.4], [0.05, 0.95], [0.2, 0.8], [0.7, 0.3], [0.3, 0.7]])
    pooled = pool(probas, np.array([0, 0, 1, 1, 1]), 2, method="max")
    np.testing.assert_allclose(pooled, [[0.05, 0.95], [0.2, 0.8]], rtol=1e-6)


def test_pooling_refuses_a_text_without_windows():
    with pytest.raises(ValueError, match="at least one window"):
        pool(np.ones((2, 2)) / 2, np.array([0, 0]), 2)
