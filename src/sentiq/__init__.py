"""sentiq: sentiment analysis you can train, trust and ship.

The names below are imported lazily so that ``import sentiq`` stays cheap and a tool
that only reads data never loads torch.
"""

from __future__ import annotations

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "Predictor": "sentiq.inference.predictor",
    "Prediction": "sentiq.inference.predictor",
    "load_config": "sentiq.config",
    "build_config": "sentiq.config",
    "SentiqConfig": "sentiq.config",
    "train": "sentiq.workflows",
    "evaluate": "sentiq.workflows",
    "SentiqError": "sentiq.errors",
    "explain": "sentiq.explain",
    "important_words": "sentiq.explain",
    "fairness_check": "sentiq.workflows",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sentiq' has no attribute {name!r}")
