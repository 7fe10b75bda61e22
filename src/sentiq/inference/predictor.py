"""Predictor: preprocess -> model -> label names, for any sentiq model directory."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from sentiq.errors import DataError, EmptyTextError
from sentiq.evaluation.temperature import apply_temperature
from sentiq.models import Manifest, load_model
from sentiq.preprocess import profile_from_spec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prediction:
    label: str
    score: float
    scores: dict[str, float]
    language: str | None = None  # the detected language, from models that route by language

    def to_dict(self) -> dict:
        data = asdict(self)
        if data["language"] is None:  # single-language models keep their JSON shape
            del data["language"]
        return data


def validate_texts(texts: Sequence[str]) -> list[str]:
    """Texts must be non-empty strings; the error names the first offender's position."""
    if isinstance(texts, str):
        texts = [texts]
    checked = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise DataError(f"text #{i} is a {type(text).__name__}, not a string")
        if not text.strip():
            raise EmptyTextError(f"text #{i} is empty")
        checked.append(text)
    return checked


class Predictor:
    """Loads a model directory and applies the preprocessing it was trained with."""

    def __init__(self, model, manifest: Manifest, *, batch_size: int = 64, max_batch_tokens: int | None = None):
        self.model = model
        self.manifest = manifest
        self.profile = profile_from_spec(manifest.preprocess)
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens

    @classmethod
    def load(cls, path: str | Path | None = None, *, batch_size: int = 64,
             max_batch_tokens: int | None = None) -> "Predictor":
        """A model directory, or a built-in model: no ``path`` (or ``"general"``) is the default
        built-in, ``"builtin:NAME"`` a named one (see :mod:`sentiq.models.builtin`).

        ``batch_size`` caps texts per batch; transformer models (PyTorch or ONNX) also cap the padded
        tokens per batch at ``max_batch_tokens`` (default 4096; 2048 on ONNX Runtime, for memory), sorting texts by length first."""
        from sentiq.models.builtin import resolve_model_dir

        path = resolve_model_dir(path)
        manifest = Manifest.load(path)
        return cls(load_model(path, manifest), manifest, batch_size=batch_size, max_batch_tokens=max_batch_tokens)

    @property
    def backend(self) -> str:
        """What runs the model: "pytorch", "onnxruntime" or the approach (tfidf, lexicon, ...)."""
        return self.model.capabilities.backend or self.manifest.approach

    @property
    def labels(self) -> list[str]:
        return list(self.manifest.labels)

    @property
    def temperature(self) -> float | None:
        return self.manifest.temperature

    def clean(self, texts: Sequence[str]) -> list[str]:
        """The texts as the model sees them (validated, then preprocessed with the training profile)."""
        return self.profile.apply(validate_texts(texts))

    def predict_proba(self, texts: Sequence[str], *, calibrated: bool = True,
                      progress: Callable[[str, int, int], None] | None = None) -> np.ndarray:
        """Probabilities, columns in the order of ``labels``, rows in input order.

        With ``calibrated`` (the default) the model's temperature, when it has one, is applied.
        """
        # A text that preprocessing empties (only a URL, say) still gets a prediction: the model sees "".
        options = {"batch_size": self.batch_size, "progress": progress}
        if self.max_batch_tokens and self.model.capabilities.token_budget:
            options["max_batch_tokens"] = self.max_batch_tokens
        proba = self.model.predict_proba(self.clean(texts), **options)
        return apply_temperature(proba, self.temperature) if calibrated else proba

    def explain(self, text: str, **options):
        """Word importances for one text's predicted class: see :func:`sentiq.explanations.explain`."""
        from sentiq.explanations import explain

        return explain(self, text, **options)

    def predict(self, texts: str | Sequence[str], **kwargs) -> list[Prediction]:
        proba = self.predict_proba(texts, **kwargs)
        labels = self.labels
        languages = self.languages(texts)
        return [
            Prediction(labels[int(row.argmax())], float(row.max()), {name: float(p) for name, p in zip(labels, row)},
                       language)
            for row, language in zip(proba, languages)
        ]

    def languages(self, texts: str | Sequence[str]) -> list[str | None]:
        """Each text's detected language for a routed model; ``None`` for single-language models."""
        return self.model.languages(validate_texts(texts))
