"""sentiq: sentiment analysis you can train, trust and ship.

One function per CLI verb (``sentiq.train``, ``sentiq.evaluate``, ``sentiq.explain``, ...).
The names below are imported lazily so that ``import sentiq`` stays cheap and a tool
that only reads data never loads torch. No name here is also a subpackage (the
explanation methods live in :mod:`sentiq.explanations`), so a name always means the
same thing however many times, and after whatever imports, it is looked up.
"""

from __future__ import annotations

from importlib import import_module

__version__ = "0.1.0"

# public name -> (module, attribute); the CLI verb each function backs is in the comment.
_EXPORTS = {
    "Predictor": ("sentiq.inference.predictor", "Predictor"),
    "Prediction": ("sentiq.inference.predictor", "Prediction"),
    "load_config": ("sentiq.config", "load_config"),  # config FILE
    "build_config": ("sentiq.config", "build_config"),
    "describe_config": ("sentiq.config", "describe_fields"),  # config (no FILE)
    "SentiqConfig": ("sentiq.config", "SentiqConfig"),
    "SentiqError": ("sentiq.errors", "SentiqError"),
    "train": ("sentiq.workflows", "train"),  # train
    "compare": ("sentiq.workflows", "compare"),  # compare
    "pretrain": ("sentiq.training", "pretrain"),  # pretrain
    "distill": ("sentiq.training", "distill"),  # distill
    "evaluate": ("sentiq.workflows", "evaluate"),  # evaluate
    "evaluate_behaviour": ("sentiq.workflows", "evaluate_behaviour"),  # evaluate --behaviour
    "calibrate": ("sentiq.workflows", "calibrate"),  # calibrate
    "fairness_check": ("sentiq.workflows", "fairness_check"),  # fairness
    "route": ("sentiq.workflows", "route"),  # route
    "score_file": ("sentiq.inference.batch", "score_file"),  # predict --input --output (streamed, resumable)
    "predict_to_file": ("sentiq.workflows", "predict_to_file"),  # (an in-memory list of texts to a JSONL file)
    "read_texts": ("sentiq.data", "read_texts"),
    "serve": ("sentiq.workflows", "serve"),  # serve
    "export_onnx": ("sentiq.export", "export_onnx"),  # export
    "explain": ("sentiq.explanations", "explain"),  # explain
    "important_words": ("sentiq.explanations", "important_words"),
    "monitor": ("sentiq.monitoring", "monitor"),  # monitor
    "inspect_data": ("sentiq.workflows", "inspect_data"),  # data inspect
    "load_runs": ("sentiq.tracking", "load_runs"),  # runs list
    "compare_runs": ("sentiq.tracking", "compare_runs"),  # runs compare
    "available_models": ("sentiq.models.builtin", "available_models"),  # models list
    "fetch_model": ("sentiq.models.fetch", "fetch"),  # models fetch
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        module, attribute = _EXPORTS[name]
        return getattr(import_module(module), attribute)
    raise AttributeError(f"module 'sentiq' has no attribute {name!r}")
