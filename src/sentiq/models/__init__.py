"""Model types by approach. Each type implements :class:`~sentiq.models.base.SentimentModel`
(``labels``, ``predict_proba(texts)``, ``save(directory)``, ``load(directory, manifest)``) and
declares its :class:`~sentiq.models.base.Capabilities`; heavy imports happen on first use."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from sentiq.errors import Errors, ModelError, ModelIntegrityError, SentiqError
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


def load_model(directory: str | Path, manifest: Manifest | None = None, *, verify: bool = True):
    """Load the model a sentiq directory holds, whatever its approach.

    With ``verify`` (the default) the directory proves itself whole first (files, sizes and
    checksums recorded at save) and after (a smoke prediction): :mod:`sentiq.models.integrity`.
    Any failure to read the files is one ModelError line, never a library traceback.
    """
    from sentiq.models import integrity

    directory = Path(directory)
    manifest = manifest or Manifest.load(directory)
    if verify:
        integrity.verify_files(directory, manifest)
    kind = model_type(manifest.approach)
    try:
        model = kind.load(directory, manifest)
    except SentiqError:
        raise
    except Exception as exc:  # noqa: BLE001 - a truncated pickle, safetensors header, ... : one line
        raise ModelIntegrityError(
            Errors.E316,
            approach=manifest.approach,
            directory=directory,
            detail=f"{type(exc).__name__}: {integrity.first_line(exc)}",
        ) from None
    if verify:
        integrity.check_loaded(model, manifest, directory)
    return model


__all__ = ["Capabilities", "Manifest", "SentimentModel", "approaches", "load_model", "model_type"]
