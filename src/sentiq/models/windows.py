"""Which tokens of a long text the model sees, and how window predictions become one per text.

Torch-free: everything works on lists of token ids *without* special tokens, with a
budget of ``max_tokens`` content tokens per window (the model's ``max_length`` minus
its special tokens). Training (one example per window) and prediction (windows, then
:func:`pool`) share these functions, so a model sees its inputs the same way in both.

Strategies:

* ``head``: the first ``max_tokens`` tokens (the classic truncation).
* ``tail``: the last ``max_tokens`` tokens (reviews often end with the verdict).
* ``head+tail``: the first ``head_tokens`` and the last ``max_tokens - head_tokens``
  (Sun et al. 2019, "How to fine-tune BERT for text classification": 128 + 382 was
  their best on IMDB).
* ``chunks``: sliding windows of ``max_tokens`` starting every ``stride`` tokens; the
  last window is aligned to the end of the text so every token is seen. Each window is
  predicted and the text's probabilities are pooled (mean, or the most confident window).
"""

from __future__ import annotations

from typing import Literal, Sequence

import numpy as np

Strategy = Literal["head", "tail", "head+tail", "chunks"]
Pooling = Literal["mean", "max"]
STRATEGIES: tuple[str, ...] = ("head", "tail", "head+tail", "chunks")
POOLINGS: tuple[str, ...] = ("mean", "max")


def default_head_tokens(max_tokens: int) -> int:
    """A quarter of the budget from the start (128 of 510 at max_length 512, as in Sun et al.)."""
    return max(1, round(max_tokens / 4))


def default_stride(max_tokens: int) -> int:
    """Half a window: every token is seen in (about) two windows."""
    return max(1, max_tokens // 2)


def window_starts(n_tokens: int, max_tokens: int, stride: int) -> list[int]:
    """Start offsets of the sliding windows over ``n_tokens`` tokens; the last one ends at the text's end."""
    if n_tokens <= max_tokens:
        return [0]
    last = n_tokens - max_tokens
    starts = list(range(0, last + 1, stride))
    if starts[-1] != last:
        starts.append(last)
    return starts


def _one_text(ids: Sequence[int], strategy: str, max_tokens: int, head_tokens: int, stride: int) -> list[list[int]]:
    ids = list(ids)
    if len(ids) <= max_tokens:
        return [ids]
    if strategy == "head":
        return [ids[:max_tokens]]
    if strategy == "tail":
        return [ids[len(ids) - max_tokens:]]
    if strategy == "head+tail":
        tail = max_tokens - head_tokens
        return [ids[:head_tokens] + (ids[len(ids) - tail:] if tail else [])]
    return [ids[s:s + max_tokens] for s in window_starts(len(ids), max_tokens, stride)]


def make_windows(
    ids: Sequence[Sequence[int]],
    *,
    strategy: str = "head",
    max_tokens: int,
    head_tokens: int | None = None,
    stride: int | None = None,
) -> tuple[list[list[int]], np.ndarray]:
    """Windows of at most ``max_tokens`` ids for each text, and the index of the text each came from.

    ``head``, ``tail`` and ``head+tail`` give exactly one window per text; ``chunks`` gives
    one or more. Texts that fit the budget are kept whole whatever the strategy.
    ``head_tokens`` (head+tail) and ``stride`` (chunks, at most ``max_tokens``) default to a
    quarter and a half of the budget.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown truncation strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1 (got {max_tokens})")
    head = default_head_tokens(max_tokens) if head_tokens is None else min(max(head_tokens, 0), max_tokens)
    step = default_stride(max_tokens) if stride is None else min(stride, max_tokens)  # a wider step skips tokens
    if step < 1:
        raise ValueError(f"stride must be at least 1 (got {step})")
    windows: list[list[int]] = []
    owners: list[int] = []
    for i, text_ids in enumerate(ids):
        parts = _one_text(text_ids, strategy, max_tokens, head, step)
        windows.extend(parts)
        owners.extend([i] * len(parts))
    return windows, np.asarray(owners, dtype=np.int64)


def pool(probas: np.ndarray, owners: np.ndarray, n_docs: int, *, method: str = "mean") -> np.ndarray:
    """One probability row per text from its windows' rows.

    ``mean`` averages the windows' probabilities; ``max`` takes the row of the window
    whose top probability is highest (the most confident window; the first on ties).
    Every text must own at least one window.
    """
    probas = np.asarray(probas, dtype=np.float64)
    owners = np.asarray(owners, dtype=np.int64)
    if method not in POOLINGS:
        raise ValueError(f"unknown pooling {method!r}; choose one of {', '.join(POOLINGS)}")
    if len(probas) != len(owners):
        raise ValueError(f"{len(probas)} probability rows for {len(owners)} windows")
    counts = np.bincount(owners, minlength=n_docs)
    if len(counts) > n_docs or (counts[:n_docs] == 0).any():
        raise ValueError("every text needs at least one window and owners must be below n_docs")
    if method == "mean":
        sums = np.zeros((n_docs, probas.shape[1]))
        np.add.at(sums, owners, probas)
        return (sums / counts[:, None]).astype(np.float32)
    confidence = probas.max(axis=1)
    # Sort by (owner, -confidence, position): the first row of each owner is its most confident window.
    order = np.lexsort((np.arange(len(owners)), -confidence, owners))
    first = order[np.r_[0, np.flatnonzero(np.diff(owners[order])) + 1]]
    return probas[first].astype(np.float32)
