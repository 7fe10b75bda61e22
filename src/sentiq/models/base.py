"""The model contract: what every model type offers and what it declares it can do.

A model type subclasses :class:`SentimentModel`, names its ``approach`` and declares its
:class:`Capabilities`; callers (Predictor, train, explain, export) read the declaration
instead of probing attributes. Loading reads only the manifest: :meth:`manifest_fields`
returns the fields a model's :meth:`load` needs, and the writer stores them there.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Literal, Sequence

import numpy as np

ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Capabilities:
    """What a model type can do; read by callers instead of ``getattr`` probing."""

    explain: str  # the default explanation method: linear, lexicon, integrated-gradients or occlusion
    backend: str | None = None  # what runs it (pytorch, onnxruntime); None: the approach itself
    train: Literal["fit", "loop", "none"] = "fit"  # fit(): trains itself; loop: a trainer in sentiq.training
    token_budget: bool = False  # predict_proba takes max_batch_tokens (padded tokens per batch)
    windows: bool = False  # long texts are cut by a truncation strategy (manifest truncation + window)
    encoder: bool = False  # a transformer encoder inside: the manifest must hold max_length
    export: bool = False  # `sentiq export` turns it into an ONNX directory
    own_preprocessing: bool = False  # member models apply their own profiles: it receives raw text
    languages: bool = False  # routes by language: languages(texts) gives each text's detected language


class SentimentModel(ABC):
    """A sentiment classifier behind one interface; ``predict_proba`` columns follow ``labels``."""

    approach: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    labels: Any  # a LabelSet

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("approach", "capabilities"):
            if not hasattr(cls, name):
                raise TypeError(f"{cls.__name__} must declare {name} (the model contract, sentiq.models.base)")

    @abstractmethod
    def predict_proba(
        self, texts: Sequence[str], *, batch_size: int | None = None, progress: ProgressFn | None = None
    ) -> np.ndarray:
        """Probabilities, one row per text in input order, one column per label."""

    @abstractmethod
    def save(self, directory: Path) -> None:
        """Write the weights into ``directory`` (the manifest is written by the model-directory writer)."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path, manifest) -> "SentimentModel":
        """The model in ``directory``; reads nothing but its own files and ``manifest``'s fields."""

    def manifest_fields(self) -> dict[str, Any]:
        """The manifest fields :meth:`load` needs beyond approach, labels and preprocessing."""
        return {}

    def languages(self, texts: Sequence[str]) -> list[str | None]:
        """Each text's detected language (models that route by language); ``None`` elsewhere."""
        return [None] * len(texts)


def require_fields(manifest, directory: Path, *names: str) -> None:
    """A loader's check that the manifest holds what it needs (the compatibility reader fills old ones)."""
    from sentiq.errors import Errors, ModelError

    missing = [name for name in names if getattr(manifest, name) in (None, "")]
    if missing:
        raise ModelError(Errors.E305, directory=directory, approach=manifest.approach, missing=missing)
