"""Drift monitoring: is live traffic still like the data the model was trained on?

Statistics (``drift``) need only numpy and scipy; the embedding check imports the
sentence encoder (torch) lazily, only when it runs.
"""

from sentiq.monitoring.drift import Check, Thresholds
from sentiq.monitoring.monitor import DRIFT_EXIT_CODE, DriftResult, monitor
from sentiq.monitoring.samples import Sample, load_sample

__all__ = ["Check", "DRIFT_EXIT_CODE", "DriftResult", "Sample", "Thresholds", "load_sample", "monitor"]
