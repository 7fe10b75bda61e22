"""A Hugging Face sequence-classification model behind sentiq's model interface."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from sentiq.errors import ConfigError, ModelError
from sentiq.labels import LabelSet
from sentiq.models.resolve import hub_offline, resolve_model_source

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]


def cpu_supports_bf16() -> bool:
    """AVX512-BF16 or AMX: bfloat16 autocast then runs native matmuls (multilingual-e5-small on
    an AVX512-BF16 EPYC: 1.6x fewer CPU-seconds per training example, docs/benchmarks.md)."""
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool((probe and probe()) or (amx and amx()))


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


def freeze_encoder_parts(model, *, embeddings: bool, layers: int) -> int:
    """Stop gradients to the embeddings and the first ``layers`` transformer layers; returns
    the number of weights frozen. Fewer trainable weights means less backward work and a much
    smaller optimiser step (the embedding matrix dominates multilingual models)."""
    if not embeddings and not layers:
        return 0
    base = model.base_model
    blocks = getattr(getattr(base, "encoder", None), "layer", None)
    if getattr(base, "embeddings", None) is None or (layers and blocks is None):
        raise ConfigError(f"training.freeze_embeddings/freeze_layers: {type(model).__name__} does not have the "
                          "BERT layout (embeddings + encoder.layer); turn freezing off for this model")
    if layers > len(blocks):
        raise ConfigError(f"training.freeze_layers={layers} but the model has {len(blocks)} layers")
    parts = [base.embeddings, *list(blocks)[:layers]]
    frozen = 0
    for part in parts:
        for weight in part.parameters():
            weight.requires_grad_(False)
            frozen += weight.numel()
    log.info("froze %d weights (embeddings and %d layers)", frozen, layers)
    return frozen


class TransformerClassifier:
    """Tokenizer + classifier; ``predict_proba`` columns follow ``labels``."""

    approach = "finetune"

    def __init__(self, model, tokenizer, labels: LabelSet, *, max_length: int, device: torch.device | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.labels = labels
        self.max_length = max_length
        self.truncation = "head"
        self.base_model: str | None = None
        self.bf16 = False  # trained under bfloat16 autocast: predict the same way where the hardware has it
        self.device = device or default_device()
        self.model.to(self.device)

    @classmethod
    def from_config(cls, config, labels: LabelSet, *, language: str = "en") -> "TransformerClassifier":
        from transformers import set_seed

        set_seed(config.seed)  # the new head's initialisation is part of the run's reproducibility
        model = cls.from_encoder(config.model, labels, max_length=config.training.max_length)
        model.base_model = config.model
        model.truncation = config.training.truncation
        model.bf16 = config.training.bf16
        freeze_encoder_parts(model.model, embeddings=config.training.freeze_embeddings,
                             layers=config.training.freeze_layers)
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
        loaded.bf16 = bool(manifest.config.get("training", {}).get("bf16", False))
        return loaded

    def save(self, directory: Path) -> None:
        self.model.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)

    def encode(self, texts: Sequence[str]) -> dict[str, list[list[int]]]:
        """Token ids without padding (padding happens per batch)."""
        return self.tokenizer(list(texts), truncation=True, max_length=self.max_length)

    def _autocast(self):
        if self.bf16:
            if self.device.type == "cuda" and torch.cuda.is_bf16_supported():
                return torch.autocast("cuda", dtype=torch.bfloat16)
            if self.device.type == "cpu":
                if cpu_supports_bf16():
                    return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @torch.inference_mode()
    def predict_proba(self, texts: Sequence[str], *, batch_size: int = 64, progress: ProgressFn | None = None) -> np.ndarray:
        """Class probabilities, batching texts of similar length together; rows in input order."""
        self.model.eval()
        encoded = self.encode(texts)["input_ids"]
        order = np.argsort([len(ids) for ids in encoded], kind="stable")
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            batch = self.tokenizer.pad({"input_ids": [encoded[i] for i in idx]}, return_tensors="pt")
            batch = {k: v.to(self.device) for k, v in batch.items()}
            with self._autocast():
                logits = self.model(**batch).logits.float()
            out[idx] = torch.softmax(logits, dim=-1).cpu().numpy()
            if progress:
                progress("predict", min(start + batch_size, len(order)), len(order))
        return out
