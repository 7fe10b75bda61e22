"""The end-to-end functions behind the CLI, one module per verb.

Each takes plain arguments, returns plain results and never prints, so a notebook,
the CLI and the service all run the same code. This is the top layer: nothing under
``sentiq`` except the CLI imports it.

=================  ==================================================================
module             functions
=================  ==================================================================
``training``       :func:`train` (and ``TrainResult``, ``work_dir_for``, ``augmented_training_split``)
``comparison``     :func:`compare`
``evaluation``     :func:`evaluate`, :func:`evaluate_behaviour`
``calibration``    :func:`calibrate`
``routing``        :func:`route`
``serving``        :func:`serve`
``prediction``     :func:`predict_records`, :func:`predict_to_file`
``inspection``     :func:`inspect_data`
``trust``          :func:`trust_sections`, :func:`fairness_check` (report sections train and evaluate share)
``common``         ``ProgressFn``, headline metrics, preprocessing profile choice
=================  ==================================================================

Modules are named for what they do (nouns) and functions for the verb, so no name here is
both a module and a function. The names are imported lazily: ``sentiq serve`` pulls in the
service, not the training stack (about 190 MB of a serving process).
"""

from __future__ import annotations

from importlib import import_module

# public name -> module under sentiq.workflows (or a full module path for names whose home is elsewhere)
_EXPORTS = {
    "train": "training",
    "TrainResult": "training",
    "augmented_training_split": "training",
    "work_dir_for": "training",
    "compare": "comparison",
    "evaluate": "evaluation",
    "evaluate_behaviour": "evaluation",
    "BehaviourResult": "evaluation",
    "calibrate": "calibration",
    "route": "routing",
    "serve": "serving",
    "predict_records": "prediction",
    "predict_to_file": "prediction",
    "inspect_data": "inspection",
    "fairness_check": "trust",
    "trust_sections": "trust",
    "ProgressFn": "common",
    "evaluation_frame": "sentiq.data",
    "read_texts": "sentiq.data",  # their home is sentiq.data; kept for old imports
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        module = _EXPORTS[name]
        return getattr(import_module(module if "." in module else f"{__name__}.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
