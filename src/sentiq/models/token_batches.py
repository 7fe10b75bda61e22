"""The torch-free half of transformer inference, shared by the PyTorch and ONNX backends.

Inference runs in three steps, in the style of a transformers ``Pipeline``:

1. :func:`encode_texts` turns texts into token ids (no padding), with a ``tokenizers``
   tokenizer, so both backends tokenize exactly alike and serving needs no torch;
2. :func:`run_batched` sorts the sequences by length and cuts them into batches that hold
   at most ``max_batch_tokens`` padded tokens, then calls the backend's ``forward``
   (a function from padded numpy arrays to logits) on each;
3. the logits become probabilities (softmax) and go back to input order.

Only ``forward`` differs between backends.
"""

from __future__ import annotations

import logging
import os
from typing import Callable, Sequence

import numpy as np

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]
Forward = Callable[[dict[str, np.ndarray]], np.ndarray]

# Padded tokens per batch: about 21 reviews of 192 tokens, 8 of 512, or 64 tweets of 64. 4096, not 8192:
# MiniLM int8 on ONNX Runtime peaked at 641 MB instead of 867 MB on 1,000 IMDB reviews at the same
# speed (docs/benchmarks.md; a merge had brought 8192 back).
DEFAULT_MAX_BATCH_TOKENS = 4096
DEFAULT_MAX_BATCH_SIZE = 128


def configured_tokenizer(tokenizer, *, max_length: int):
    """A private copy of a ``tokenizers.Tokenizer`` that truncates to ``max_length`` and never pads.

    ``tokenizer`` may be a ``tokenizers.Tokenizer`` or a transformers fast tokenizer (its
    ``backend_tokenizer`` is used). A copy, because transformers changes the truncation and
    padding state of the backend it owns on every call.
    """
    from tokenizers import Tokenizer

    backend = getattr(tokenizer, "backend_tokenizer", tokenizer)
    if not isinstance(backend, Tokenizer):
        raise TypeError(f"{type(tokenizer).__name__} has no fast (tokenizers) backend")
    copy = Tokenizer.from_str(backend.to_str())
    copy.no_padding()
    # Same as transformers' truncation=True: longest_first on the right, special tokens kept.
    copy.enable_truncation(max_length, strategy="longest_first", direction="right")
    return copy


def encode_texts(tokenizer, texts: Sequence[str]) -> list[list[int]]:
    """Token ids per text, truncated to the head, unpadded (``tokenizer`` from :func:`configured_tokenizer`)."""
    return [encoding.ids for encoding in tokenizer.encode_batch(list(texts), add_special_tokens=True)]


def token_budget_batches(
    lengths: Sequence[int],
    *,
    max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
) -> list[np.ndarray]:
    """Indices of ``lengths`` sorted by length and cut into batches of at most
    ``max_batch_tokens`` padded tokens (batch size × its longest sequence) and at most
    ``max_batch_size`` rows. A sequence longer than the budget still gets a batch of its own."""
    if max_batch_tokens < 1 or max_batch_size < 1:
        raise ValueError("max_batch_tokens and max_batch_size must be positive")
    order = np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable")
    batches, start = [], 0
    for end in range(1, len(order) + 1):
        # sorted ascending, so the newest row is the longest of the candidate batch
        too_many_tokens = (end - start) * max(int(lengths[order[end - 1]]), 1) > max_batch_tokens
        if end - start > 1 and (too_many_tokens or end - start > max_batch_size):
            batches.append(order[start : end - 1])
            start = end - 1
    if start < len(order):
        batches.append(order[start:])
    return batches


def pad_batch(sequences: Sequence[Sequence[int]], *, pad_id: int) -> dict[str, np.ndarray]:
    """Right-padded ``input_ids`` and ``attention_mask`` (int64) for one batch."""
    width = max(len(seq) for seq in sequences)
    input_ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(sequences), width), dtype=np.int64)
    for row, seq in enumerate(sequences):
        input_ids[row, : len(seq)] = seq
        attention_mask[row, : len(seq)] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask}


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def run_batched(
    sequences: Sequence[Sequence[int]],
    forward: Forward,
    *,
    n_labels: int,
    pad_id: int,
    max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
    progress: ProgressFn | None = None,
    owners: np.ndarray | None = None,
) -> np.ndarray:
    """Probabilities for every sequence, rows in input order (length-sorted token-budget batches).

    With ``owners`` (the text of each sequence, when texts are cut into windows) progress counts the texts
    whose windows are all done, out of the texts, rather than windows a user never asked for."""
    out = np.zeros((len(sequences), n_labels), dtype=np.float32)
    left = np.bincount(owners) if owners is not None and len(owners) else None  # windows still to run, per text
    done = 0
    for idx in token_budget_batches(
        [len(s) for s in sequences], max_batch_tokens=max_batch_tokens, max_batch_size=max_batch_size
    ):
        logits = np.asarray(forward(pad_batch([sequences[i] for i in idx], pad_id=pad_id)), dtype=np.float32)
        out[idx] = softmax(logits)
        done += len(idx)
        if progress and left is not None:
            np.subtract.at(left, owners[idx], 1)
            progress("predict", len(left) - np.count_nonzero(left), len(left))
        elif progress:
            progress("predict", done, len(sequences))
    return out


def pad_token_id(tokenizer) -> int:
    """The id a ``tokenizers.Tokenizer`` pads with: its [PAD]/<pad> token, else 0 (masked anyway)."""
    for token in ("[PAD]", "<pad>", "<|padding|>"):
        token_id = tokenizer.token_to_id(token)
        if token_id is not None:
            return int(token_id)
    return 0


def cpu_threads() -> int:
    """Threads for CPU inference: physical cores this process may run on (``SENTIQ_NUM_THREADS`` wins).

    Hyper-threads share the vector units a matrix product saturates, and a container's CPU
    affinity can be smaller than the machine, so neither ``os.cpu_count()`` is right.
    """
    if os.environ.get("SENTIQ_NUM_THREADS", "").isdigit() and int(os.environ["SENTIQ_NUM_THREADS"]) > 0:
        return int(os.environ["SENTIQ_NUM_THREADS"])
    allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        import psutil

        physical = psutil.cpu_count(logical=False) or allowed
    except ImportError:
        physical = allowed
    return max(1, min(allowed, physical))
