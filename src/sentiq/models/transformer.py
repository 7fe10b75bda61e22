"""A Hugging Face sequence-classification model behind sentiq's model interface."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from sentiq.errors import ModelError
from sentiq.labels import LabelSet
from sentiq.models import windows
from sentiq.models.resolve import hub_offline, resolve_model_source

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _load_pretrained(source: str, **kwargs):
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForSequenceClassification.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as exc:
        hint = " (HF_HUB_OFFLINE is set: give a local folder)" if hub_offline() else ""
        raise ModelError(f"cannot load model {source!r}: not a local model folder, a known alias, "
                         f"or a reachable hub id{hint}. Details: {str(exc).splitlines()[0]}") from None
    return model, tokenizer


class TransformerClassifier:
    """Tokenizer + classifier; ``predict_proba`` columns follow ``labels``."""

    approach = "finetune"

    def __init__(self, model, tokenizer, labels: LabelSet, *, max_length: int, device: torch.device | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.labels = labels
        self.max_length = max_length
        self.truncation = "head"  # a windows strategy: head, tail, head+tail or chunks
        self.window_options: dict = {}  # head_tokens, stride, pooling (None or absent: the defaults)
        self.base_model: str | None = None
        self.device = device or default_device()
        self.model.to(self.device)

    @classmethod
    def from_config(cls, config, labels: LabelSet, *, language: str = "en") -> "TransformerClassifier":
        from transformers import set_seed

        set_seed(config.seed)  # the new head's initialisation is part of the run's reproducibility
        model = cls.from_encoder(config.model, labels, max_length=config.training.max_length)
        model.base_model = config.model
        model.truncation = config.training.truncation
        model.window_options = {"head_tokens": config.training.head_tokens, "stride": config.training.chunk_stride,
                                "pooling": config.training.chunk_pooling}
        return model

    @classmethod
    def from_encoder(cls, name: str, labels: LabelSet, *, max_length: int) -> "TransformerClassifier":
        """A fresh classification head on a pretrained encoder, with real label names in its config."""
        model, tokenizer = _load_pretrained(
            resolve_model_source(name), num_labels=len(labels), id2label=labels.id2label,
            label2id=labels.label2id, ignore_mismatched_sizes=True,
        )
        return cls(model, tokenizer, labels, max_length=max_length)

    @classmethod
    def load(cls, directory: Path, manifest) -> "TransformerClassifier":
        model, tokenizer = _load_pretrained(str(directory))
        labels = LabelSet(tuple(manifest.labels))
        if model.config.num_labels != len(labels):
            raise ModelError(f"{directory}: the weights have {model.config.num_labels} classes but the manifest "
                             f"lists {len(labels)} labels")
        loaded = cls(model, tokenizer, labels, max_length=manifest.max_length or 512)
        loaded.truncation, loaded.base_model = manifest.truncation or "head", manifest.base_model
        loaded.window_options = dict(manifest.window or {})
        return loaded

    def save(self, directory: Path) -> None:
        self.model.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)

    def _special_tokens(self) -> tuple[list[int], list[int]]:
        """The ids the tokenizer puts before and after a text's tokens ([CLS] / [SEP] for BERT)."""
        if not hasattr(self, "_specials"):
            bare = self.tokenizer("a", add_special_tokens=False)["input_ids"]
            full = self.tokenizer("a")["input_ids"]
            at = next(i for i in range(len(full) - len(bare) + 1) if full[i:i + len(bare)] == bare)
            self._specials = (full[:at], full[at + len(bare):])
        return self._specials

    def encode(self, texts: Sequence[str]) -> dict:
        """Token ids per window without padding (padding happens per batch), and ``owners``: the text of each window.

        The truncation strategy (``head``, ``tail``, ``head+tail``, ``chunks``) picks the
        windows; see :mod:`sentiq.models.windows`. ``head`` gives what plain truncation gives.
        """
        content = self.tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
        prefix, suffix = self._special_tokens()
        opts = self.window_options
        spans, owners = windows.make_windows(
            content, strategy=self.truncation, max_tokens=self.max_length - len(prefix) - len(suffix),
            head_tokens=opts.get("head_tokens"), stride=opts.get("stride"),
        )
        input_ids = [prefix + span + suffix for span in spans]
        return {"input_ids": input_ids, "attention_mask": [[1] * len(ids) for ids in input_ids], "owners": owners}

    @torch.inference_mode()
    def predict_windows(self, texts: Sequence[str], *, batch_size: int = 64,
                        progress: ProgressFn | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities of every window (batched by length, rows in window order) and the text of each."""
        self.model.eval()
        encoded = self.encode(texts)
        input_ids = encoded["input_ids"]
        order = np.argsort([len(ids) for ids in input_ids], kind="stable")
        out = np.zeros((len(input_ids), len(self.labels)), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            batch = self.tokenizer.pad({"input_ids": [input_ids[i] for i in idx]}, return_tensors="pt")
            batch = {k: v.to(self.device) for k, v in batch.items()}
            logits = self.model(**batch).logits.float()
            out[idx] = torch.softmax(logits, dim=-1).cpu().numpy()
            if progress:
                progress("predict", min(start + batch_size, len(order)), len(order))
        return out, encoded["owners"]

    def predict_proba(self, texts: Sequence[str], *, batch_size: int = 64, progress: ProgressFn | None = None) -> np.ndarray:
        """Class probabilities, one row per text in input order; with ``chunks`` each text's windows are pooled."""
        probas, owners = self.predict_windows(texts, batch_size=batch_size, progress=progress)
        if len(probas) == len(texts):
            return probas  # one window per text: rows are already the texts'
        return windows.pool(probas, owners, len(texts), method=self.window_options.get("pooling") or "mean")
