"""An exported transformer served by ONNX Runtime: no torch, no transformers.

The directory ``sentiq export`` writes holds ``model.onnx`` (logits from ``input_ids`` and
``attention_mask``), ``tokenizer.json`` and ``sentiq.json`` (approach ``onnx``). Tokenizing,
batching and softmax are :mod:`sentiq.models.token_batches` (windows: :mod:`sentiq.models.windows`), the same code the PyTorch model
runs, so only the forward pass differs.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Sequence

import numpy as np

from sentiq.allocator import malloc_trim
from sentiq.errors import Errors, ModelError
from sentiq.labels import LabelSet
from sentiq.models import token_batches, windows
from sentiq.models.base import Capabilities, SentimentModel, require_fields

log = logging.getLogger(__name__)

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
# What the exporter writes; token_type_ids is accepted for graphs exported elsewhere (zeros).
REQUIRED_INPUTS = ("input_ids", "attention_mask")
OPTIONAL_INPUTS = ("token_type_ids",)
_INSTALL_HINT = "install the serving extra: pip install 'sentiq[onnx]'"


# Memory (issue 5: serving MiniLM int8 in <= 500 MB). ONNX Runtime's CPU arena grows (in doubling
# regions) for every new, larger batch shape and never gives memory back, and glibc keeps the freed
# buffers around each Run: a `sentiq serve` process peaked at 701 MB after 288 requests. So the last
# Run of every call shrinks the arena and trims glibc's heap: 532 MB peak, 341 MB between calls,
# predictions bit-identical and no measurable cost (shrinking after every Run cost 18% CPU). Batches
# of at most 2048 padded tokens (not 4096) bring the peak to 475 MB at the same speed (a 1,000-review
# predict call: 499 MB instead of 641 MB, 27.2 vs 27.9 CPU s). Turning the arena off, a fixed mmap
# threshold, kSameAsRequested regions or padding to multiples of 64 were worse. docs/benchmarks.md.
ONNX_MAX_BATCH_TOKENS = 2048
SHRINK_ARENA = ("memory.enable_memory_arena_shrinkage", "cpu:0")


def _onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise ModelError(Errors.E353, install=_INSTALL_HINT) from None
    return onnxruntime


def session_options(threads: int | None = None):
    """One intra-op thread per physical core; sequential graph execution (inter-op threads
    only help graphs with parallel branches, which an encoder does not have)."""
    ort = _onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or token_batches.cpu_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


def open_session(path: Path, *, n_labels: int | None = None, threads: int | None = None):
    """An ``InferenceSession`` on ``path`` whose inputs and outputs sentiq can feed and read."""
    ort = _onnxruntime()
    if not path.is_file():
        raise ModelError(Errors.E354, parent=path.parent, name=path.name)
    try:
        session = ort.InferenceSession(str(path), session_options(threads), providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own pybind classes (InvalidProtobuf, Fail, ...) for bad files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(Errors.E355, path=path, first=first) from None
    _check_signature(session, path, n_labels)
    return session


def _check_signature(session, path: Path, n_labels: int | None) -> None:
    inputs = [i.name for i in session.get_inputs()]
    outputs = session.get_outputs()
    unknown = [name for name in inputs if name not in REQUIRED_INPUTS + OPTIONAL_INPUTS]
    missing = [name for name in REQUIRED_INPUTS if name not in inputs]
    if unknown or missing:
        raise ModelError(Errors.E356, path=path, inputs=inputs, required=list(REQUIRED_INPUTS))
    if len(outputs) != 1 or len(outputs[0].shape) != 2:
        shapes = {o.name: o.shape for o in outputs}
        raise ModelError(Errors.E357, path=path, shapes=shapes)
    classes = outputs[0].shape[1]
    if n_labels is not None and isinstance(classes, int) and classes != n_labels:
        raise ModelError(Errors.E358, path=path, classes=classes, n_labels=n_labels)


def load_tokenizer(path: Path, *, max_length: int):
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise ModelError(Errors.E359, install=_INSTALL_HINT) from None
    if not path.is_file():
        raise ModelError(Errors.E360, parent=path.parent, name=path.name)
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception for malformed JSON
        raise ModelError(Errors.E361, path=path, detail=str(exc).splitlines()[0] if str(exc) else exc) from None
    return token_batches.configured_tokenizer(tokenizer, max_length=max_length)


class OnnxClassifier(SentimentModel):
    """ONNX Runtime session + tokenizer; ``predict_proba`` columns follow ``labels``."""

    approach = "onnx"
    # Exported already; explained by occlusion (no gradients through ONNX Runtime).
    capabilities = Capabilities(
        explain="occlusion", backend="onnxruntime", train="none", token_budget=True, windows=True, encoder=True
    )

    def __init__(self, session, tokenizer, labels: LabelSet, *, max_length: int, source: Path | None = None):
        self.session = session
        self.tokenizer = tokenizer
        self.labels = labels
        self.max_length = max_length
        self.source = source
        self._inputs = [i.name for i in session.get_inputs()]
        self._pad_id = token_batches.pad_token_id(tokenizer)
        ort = _onnxruntime()
        self._shrink = ort.RunOptions()
        self._shrink.add_run_config_entry(*SHRINK_ARENA)
        self._trim = malloc_trim()
        self.truncation = "head"  # the source model's windows strategy and settings, from the manifest
        self.window_options: dict = {}
        self.base_model: str | None = None

    @classmethod
    def load(cls, directory: Path, manifest) -> "OnnxClassifier":
        directory = Path(directory)
        require_fields(manifest, directory, "max_length", "truncation")
        labels = LabelSet(tuple(manifest.labels))
        max_length = manifest.max_length
        session = open_session(directory / MODEL_FILE, n_labels=len(labels))
        tokenizer = load_tokenizer(directory / TOKENIZER_FILE, max_length=max_length)
        loaded = cls(session, tokenizer, labels, max_length=max_length, source=directory)
        loaded.truncation, loaded.window_options = manifest.truncation, dict(manifest.window or {})
        loaded.base_model = manifest.base_model
        return loaded

    def manifest_fields(self) -> dict:
        return {
            "max_length": self.max_length,
            "truncation": self.truncation,
            "window": dict(self.window_options),
            "base_model": self.base_model,
        }

    def save(self, directory: Path) -> None:
        if self.source is None:
            raise ModelError(Errors.E362)
        for name in (MODEL_FILE, TOKENIZER_FILE):
            shutil.copy2(self.source / name, Path(directory) / name)

    def encode(self, texts: Sequence[str]) -> tuple[list[list[int]], np.ndarray]:
        """Token ids per window and the text of each (the source model's truncation strategy)."""
        return windows.encode_windows(self.tokenizer, texts, strategy=self.truncation, **self.window_options)

    def _forward(self, batch: dict[str, np.ndarray], *, last: bool = False) -> np.ndarray:
        """Logits of one padded batch; the ``last`` batch of a call shrinks the arena after it."""
        if "token_type_ids" in self._inputs:
            batch = {**batch, "token_type_ids": np.zeros_like(batch["input_ids"])}
        logits = self.session.run(None, {name: batch[name] for name in self._inputs}, self._shrink if last else None)[0]
        if last:
            self._trim(0)
        return logits

    def predict_proba(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = token_batches.DEFAULT_MAX_BATCH_SIZE,
        max_batch_tokens: int = ONNX_MAX_BATCH_TOKENS,
        progress=None,
    ) -> np.ndarray:
        """Class probabilities in input order (length-sorted token-budget batches, windows pooled, like PyTorch)."""
        ids, owners = self.encode(texts)
        remaining = len(ids)  # rows not yet run: the batch that brings it to 0 is the call's last

        def forward(batch: dict[str, np.ndarray]) -> np.ndarray:
            nonlocal remaining
            remaining -= len(batch["input_ids"])
            return self._forward(batch, last=remaining == 0)

        probas = token_batches.run_batched(
            ids,
            forward,
            n_labels=len(self.labels),
            pad_id=self._pad_id,
            max_batch_tokens=max_batch_tokens,
            max_batch_size=batch_size,
            progress=progress,
            owners=owners,
        )
        return windows.pool_windows(probas, owners, len(texts), pooling=self.window_options.get("pooling"))
