"""Evaluation layer: metrics, plots and a self-contained HTML report.

Depends on numpy, pandas, scikit-learn and matplotlib only (never torch/transformers).
"""

from sentiq.evaluation.metrics import compute_metrics, expected_calibration_error
from sentiq.evaluation.plots import (
    plot_accuracy_by_length,
    plot_confidence_histogram,
    plot_confusion_matrix,
    plot_reliability_diagram,
    plot_training_curves,
)
from sentiq.evaluation.report import length_buckets, most_confident_errors, write_report

__all__ = [
    "compute_metrics",
    "expected_calibration_error",
    "length_buckets",
    "most_confident_errors",
    "plot_accuracy_by_length",
    "plot_confidence_histogram",
    "plot_confusion_matrix",
    "plot_reliability_diagram",
    "plot_training_curves",
    "write_report",
]
