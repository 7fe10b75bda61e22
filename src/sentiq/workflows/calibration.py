"""``calibrate``: fit (or refit) temperature scaling for an existing model directory."""

from __future__ import annotations

from pathlib import Path

from sentiq.data import evaluation_frame
from sentiq.errors import DataError, Errors
from sentiq.evaluation.calibration import calibration_summary, fit_temperature
from sentiq.inference import Predictor
from sentiq.labels import LabelSet
from sentiq.workflows.common import ProgressFn


def calibrate(
    model_dir: str | Path, *, data: str | None = None, split: str = "validation", progress: ProgressFn | None = None
) -> dict:
    """Fit (or refit) temperature scaling for an existing model directory and record it in its manifest.

    By default on the validation split of the training data (re-split with the training
    seed); returns :func:`~sentiq.evaluation.calibration.calibration_summary` on that split.
    """
    predictor = Predictor.load(model_dir)
    frame, _ = evaluation_frame(predictor.manifest, data, split)
    if frame.empty:
        raise DataError(Errors.E258, split=split)
    y = LabelSet(tuple(predictor.labels)).encode(frame["label"].tolist())
    raw = predictor.predict_proba(frame["text"].tolist(), calibrated=False, progress=progress)
    temperature = fit_temperature(y, raw)
    predictor.manifest.temperature = temperature
    predictor.manifest.save(Path(model_dir))
    return {**calibration_summary(y, raw, temperature), "split": split, "n": len(frame)}
