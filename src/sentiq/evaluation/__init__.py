"""Evaluation layer: metrics, calibration, slices, fairness, significance tests, plots and a self-contained HTML
report.

Depends on numpy, scipy, pandas, scikit-learn and matplotlib only (never torch/transformers).
Names are imported lazily so that the predictor can use calibration without loading matplotlib.
"""

from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "compute_metrics": "sentiq.evaluation.metrics",
    "expected_calibration_error": "sentiq.evaluation.metrics",
    "apply_temperature": "sentiq.evaluation.calibration",
    "fit_temperature": "sentiq.evaluation.calibration",
    "calibration_summary": "sentiq.evaluation.calibration",
    "bootstrap_interval": "sentiq.evaluation.significance",
    "paired_bootstrap": "sentiq.evaluation.significance",
    "mcnemar": "sentiq.evaluation.significance",
    "mcnemar_from_counts": "sentiq.evaluation.significance",
    "slice_masks": "sentiq.evaluation.slices",
    "slice_metrics": "sentiq.evaluation.slices",
    "template_fairness_check": "sentiq.evaluation.fairness",
    "length_buckets": "sentiq.evaluation.report",
    "most_confident_errors": "sentiq.evaluation.report",
    "write_report": "sentiq.evaluation.report",
    "plot_accuracy_by_length": "sentiq.evaluation.plots",
    "plot_confidence_histogram": "sentiq.evaluation.plots",
    "plot_confusion_matrix": "sentiq.evaluation.plots",
    "plot_reliability_diagram": "sentiq.evaluation.plots",
    "plot_training_curves": "sentiq.evaluation.plots",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sentiq.evaluation' has no attribute {name!r}")
