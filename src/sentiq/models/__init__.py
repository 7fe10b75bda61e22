"""Model types by approach. Each type implements :class:`~sentiq.models.base.SentimentModel`
(``labels``, ``predict_proba(texts)``, ``save(directory)``, ``load(directory, manifest)``) and
declares its :class:`~sentiq.models.base.Capabilities`; heavy imports happen on first use."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from sentiq.errors import Errors, ModelError
from sentiq.models.base import Capabilities, SentimentModel
from sentiq.models.manifest import Manifest

# approach -> "module:Class"; lazy so that a TF-IDF model never imports torch.
_MODEL_TYPES = {
    "finetune": "sentiq.models.transformer:TransformerClassifier",
    "tfidf": "sentiq.models.tfidf:TfidfClassifier",
    "lexicon": "sentiq.models.lexicon:LexiconClassifier",
    "embedding": "sentiq.models.embedding:EmbeddingClassifier",
    "hybrid": "sentiq.models.hybrid:HybridClassifier",
    "ensemble": "sentiq.models.ensemble:EnsembleClassifier",
    "onnx": "sentiq.models.onnx_runtime:OnnxClassifier",  # written by `sentiq export`; needs no torch
    "routed": "sentiq.models.routed:RoutedClassifier",  # built by `sentiq route`, not trained
    "pretrained": "sentiq.models.pretrained:PretrainedHeadClassifier",  # built-in, not trained (models.builtin)
}


def approaches() -> list[str]:
    """Every approach a model directory can have (trained, exported or combined)."""
    return list(_MODEL_TYPES)


def model_type(approach: str) -> type[SentimentModel]:
    try:
        module, cls = _MODEL_TYPES[approach].split(":")
    except KeyError:
        raise ModelError(Errors.E304, approach=approach, approaches=sorted(_MODEL_TYPES)) from None
    return getattr(import_module(module), cls)


def load_model(directory: str | Path, manifest: Manifest | None = None):
    """Load the model a sentiq directory holds, whatever its approach."""
    manifest = manifest or Manifest.load(directory)
    return model_type(manifest.approach).load(Path(directory), manifest)


__all__ = ["Capabilities", "Manifest", "SentimentModel", "approaches", "load_model", "model_type"]
