"""Frozen encoder -> mean-pooled sentence vectors -> a scikit-learn head.

Sentence vectors are cached on disk keyed by the encoder's content (weights, vocabulary), max length and the exact texts
(already preprocessed, so the preprocessing is part of the key): re-fitting the head,
or another approach that reuses the vectors, skips the encoder.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Callable, Sequence

import joblib
import numpy as np
import pandas as pd

from sentiq.errors import Errors, ModelError
from sentiq.labels import LabelSet
from sentiq.models._sklearn import aligned_proba
from sentiq.models.base import Capabilities, SentimentModel, require_fields
from sentiq.models.cache import cached_features

log = logging.getLogger(__name__)
HEAD = "embedding_head.joblib"
ENCODER_DIR = "encoder"


class SentenceEncoder:
    """Mean pooling over the last hidden states, L2-normalised (the sentence-transformers recipe)."""

    def __init__(self, source: str, *, max_length: int = 256, batch_size: int = 64):
        import torch
        from transformers import AutoModel, AutoTokenizer

        from sentiq.models.resolve import resolve_model_source

        self.source = resolve_model_source(source)
        try:
            from sentiq.models.transformer import quiet_loading

            with quiet_loading():
                self.tokenizer = AutoTokenizer.from_pretrained(self.source)
                self.model = AutoModel.from_pretrained(self.source).eval()
        except (OSError, ValueError) as exc:
            raise ModelError(
                Errors.E308, what="encoder", source=source, hint="", detail=str(exc).splitlines()[0]
            ) from None
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device)
        self.max_length = max_length
        self.batch_size = batch_size

    def fingerprint(self) -> str:
        """What the vectors depend on, by content: the weights, the tokenizer and the max length, not the
        folder the encoder was loaded from, so two models saved with one encoder share cached vectors."""
        if getattr(self, "_fingerprint", None) is None:
            digest = hashlib.sha256()
            for name, tensor in sorted(self.model.state_dict().items()):
                digest.update(name.encode())
                digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
            # the vocabulary and casing, not the backend's state (a call with truncation=True changes that)
            vocab = json.dumps(
                [
                    type(self.tokenizer).__name__,
                    self.tokenizer.init_kwargs.get("do_lower_case"),
                    sorted(self.tokenizer.get_vocab().items()),
                ],
                ensure_ascii=False,
            )
            digest.update(vocab.encode())
            self._fingerprint = f"encoder-sha256:{digest.hexdigest()}|{self.max_length}"
        return self._fingerprint

    def encode(self, texts: Sequence[str], progress: Callable[[str, int, int], None] | None = None) -> np.ndarray:
        import torch

        ids = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)["input_ids"]
        order = np.argsort([len(x) for x in ids], kind="stable")
        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                batch = self.tokenizer.pad({"input_ids": [ids[i] for i in idx]}, return_tensors="pt").to(self.device)
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
                out[idx] = torch.nn.functional.normalize(pooled, dim=-1).float().cpu().numpy()
                if progress:
                    progress("embed", min(start + self.batch_size, len(order)), len(order))
        return out

    def save(self, directory: Path) -> None:
        self.model.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)


def cached_encode(encoder: SentenceEncoder, texts: Sequence[str], progress=None) -> np.ndarray:
    """Encode with the feature cache (keyed by encoder fingerprint and the texts)."""
    return cached_features("embeddings", encoder.fingerprint(), texts, lambda: encoder.encode(texts, progress))


def build_head(params, seed: int):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    if params.head == "logreg":
        return LogisticRegression(C=params.C, max_iter=2000, random_state=seed)
    # A linear SVM has no probabilities of its own: calibrate it with internal CV.
    return CalibratedClassifierCV(LinearSVC(C=params.C, random_state=seed), cv=3)


class EmbeddingClassifier(SentimentModel):
    approach = "embedding"
    capabilities = Capabilities(explain="occlusion", encoder=True)

    def __init__(self, encoder: SentenceEncoder, head, labels: LabelSet, *, base_model: str | None = None):
        self.encoder = encoder
        self.head = head
        self.labels = labels
        self.base_model = base_model
        self.max_length = encoder.max_length

    @classmethod
    def from_config(cls, config, labels: LabelSet, *, language: str = "en") -> "EmbeddingClassifier":
        params = config.embedding
        encoder = SentenceEncoder(params.encoder, max_length=params.max_length, batch_size=params.batch_size)
        return cls(encoder, build_head(params, config.seed), labels, base_model=params.encoder)

    def features(self, texts: Sequence[str], progress=None) -> np.ndarray:
        return cached_encode(self.encoder, texts, progress)

    def fit(self, train: pd.DataFrame, validation: pd.DataFrame | None = None, progress=None):
        self.head.fit(self.features(train["text"].tolist(), progress), self.labels.encode(train["label"].tolist()))
        return None

    def predict_proba(self, texts: Sequence[str], *, batch_size: int | None = None, progress=None) -> np.ndarray:
        return aligned_proba(self.head, lambda: self.features(texts, progress), len(texts), len(self.labels))

    def save(self, directory: Path) -> None:
        joblib.dump(self.head, Path(directory) / HEAD)
        self.encoder.save(Path(directory) / ENCODER_DIR)  # self-contained: serving needs no package lookup

    @classmethod
    def load(cls, directory: Path, manifest) -> "EmbeddingClassifier":
        directory = Path(directory)
        if not (directory / HEAD).is_file() or not (directory / ENCODER_DIR).is_dir():
            raise ModelError(
                Errors.E309, directory=directory, missing=f"{HEAD} or {ENCODER_DIR}/", approach="embedding"
            )
        require_fields(manifest, directory, "max_length")
        encoder = SentenceEncoder(str(directory / ENCODER_DIR), max_length=manifest.max_length)
        return cls(
            encoder, joblib.load(directory / HEAD), LabelSet(tuple(manifest.labels)), base_model=manifest.base_model
        )

    def manifest_fields(self) -> dict:
        return {"max_length": self.encoder.max_length, "base_model": self.base_model}
