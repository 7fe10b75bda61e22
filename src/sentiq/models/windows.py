"""Which tokens of a long text the model sees, and how window predictions become one per text.

Torch-free. :func:`make_windows` and :func:`pool` work on lists of token ids *without* special tokens, with a
budget of ``max_tokens`` content tokens per window (the model's ``max_length`` minus
its special tokens). Training (one example per window) and prediction (windows, then
:func:`pool`) share these functions, so a model sees its inputs the same way in both.
:func:`encode_windows` (texts -> windows with special tokens) and :func:`pool_windows` are
what the PyTorch and ONNX backends call at prediction time.

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

from sentiq.models.token_batches import encode_texts

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
        return [ids[len(ids) - max_tokens :]]
    if strategy == "head+tail":
        tail = max_tokens - head_tokens
        return [ids[:head_tokens] + (ids[len(ids) - tail :] if tail else [])]
    return [ids[s : s + max_tokens] for s in window_starts(len(ids), max_tokens, stride)]


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


# ---- token ids of whole texts -> windows with special tokens (the one place inference tokenizes windows)


def _untruncated(tokenizer):
    """A cached copy of a configured tokenizer without truncation, and its special-token frame."""
    cached = _UNTRUNCATED.get(id(tokenizer))
    if cached is None or cached[0] is not tokenizer:  # the identity check guards against a reused id
        from tokenizers import Tokenizer

        copy = Tokenizer.from_str(tokenizer.to_str())
        copy.no_truncation()
        bare = copy.encode("a", add_special_tokens=False).ids
        full = copy.encode("a", add_special_tokens=True).ids
        at = next(i for i in range(len(full) - len(bare) + 1) if full[i : i + len(bare)] == bare)
        cached = (tokenizer, copy, full[:at], full[at + len(bare) :])
        _UNTRUNCATED[id(tokenizer)] = cached
    return cached[1:]


_UNTRUNCATED: dict[int, tuple] = {}  # id(configured tokenizer) -> (it, untruncated copy, prefix ids, suffix ids)


def encode_windows(
    tokenizer,
    texts: Sequence[str],
    *,
    strategy: str = "head",
    head_tokens: int | None = None,
    stride: int | None = None,
    pooling: str | None = None,
) -> tuple[list[list[int]], np.ndarray]:
    """Token ids per window (special tokens added, unpadded) and the index of the text each came from:
    the one place inference tokenizes. ``strategy`` is a strategy above;
    ``head`` is plain truncation. ``pooling`` is accepted (and ignored) so window options pass as one dict."""
    if strategy == "head":
        ids = encode_texts(tokenizer, texts)
        return ids, np.arange(len(ids))
    max_length = tokenizer.truncation["max_length"]
    full, prefix, suffix = _untruncated(tokenizer)
    content = [encoding.ids for encoding in full.encode_batch(list(texts), add_special_tokens=False)]
    spans, owners = make_windows(
        content,
        strategy=strategy,
        max_tokens=max_length - len(prefix) - len(suffix),
        head_tokens=head_tokens,
        stride=stride,
    )
    return [prefix + span + suffix for span in spans], owners


def pool_windows(probas: np.ndarray, owners: np.ndarray, n_texts: int, *, pooling: str | None = None) -> np.ndarray:
    """One row per text: window rows as they are when each text has one window, else pooled."""
    if len(probas) == n_texts:
        return probas
    return pool(probas, owners, n_texts, method=pooling or "mean")
