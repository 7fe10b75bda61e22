"""What every trained model gets, whoever trained it (``train``, ``distill``): a temperature fitted on
the validation split, the test report with its trust sections, the run files, and a model directory
written by :func:`sentiq.models.directory.write_model_directory` (manifest and model card included)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from sentiq.config import SentiqConfig
from sentiq.labels import LabelSet
from sentiq.models.directory import write_model_directory
from sentiq.models.manifest import Manifest
from sentiq.training.result import FitResult

log = logging.getLogger(__name__)
ProgressFn = Callable[[str, int, int], None]


@dataclass
class TrainedDirectory:
    manifest: Manifest
    metrics: dict  # the full test metrics of the report
    raw_test_proba: np.ndarray  # uncalibrated test probabilities, rows in test order
    warnings: list[str]


def fit_temperature(model, val_df: pd.DataFrame, labels: LabelSet, config: SentiqConfig) -> float | None:
    """Temperature scaling on the (preprocessed) validation split, when there is one and calibration is on."""
    if not config.evaluation.calibrate or val_df.empty:
        return None
    from sentiq.evaluation.calibration import fit_temperature as fit

    raw = model.predict_proba(val_df["text"].tolist(), batch_size=config.training.eval_batch_size)
    return fit(labels.encode(val_df["label"].tolist()), raw)


def write_trained_model(
    output_dir: str | Path,
    *,
    model,
    manifest: Manifest,
    config: SentiqConfig,
    val_df: pd.DataFrame,
    test_df: pd.DataFrame,
    raw_test: pd.DataFrame,
    fit: FitResult,
    data_report,
    title: str,
    context: dict,
    overwrite: bool = False,
    keep_work_dir: bool = False,
    after: Callable[[Path, dict, np.ndarray], None] | None = None,
    progress: ProgressFn | None = None,
) -> TrainedDirectory:
    """Calibrate ``model``, evaluate it on ``test_df`` (preprocessed; ``raw_test`` holds the same rows as read,
    for the trust sections, which go through a Predictor) and write its directory; ``after(tmp, metrics,
    raw_test_proba)`` runs on the finished directory before it appears."""
    from sentiq.evaluation import write_report
    from sentiq.evaluation.calibration import apply_temperature
    from sentiq.evaluation.metrics import expected_calibration_error
    from sentiq.evaluation.trust import trust_sections
    from sentiq.inference import Predictor
    from sentiq.models.cache import feature_cache
    from sentiq.training.callbacks import final_collapse_warning

    labels = LabelSet(tuple(manifest.labels))
    batch = config.training.eval_batch_size
    with feature_cache():
        raw_proba = model.predict_proba(test_df["text"].tolist(), batch_size=batch, progress=progress)
        manifest.temperature = fit_temperature(model, val_df, labels, config)
    temperature = manifest.temperature
    proba = apply_temperature(raw_proba, temperature)
    y_test = labels.encode(test_df["label"].tolist())
    unit = "chars" if manifest.language == "zh" else "words"
    extras = trust_sections(
        Predictor(model, manifest, batch_size=batch),
        raw_test,
        y_test,
        proba,
        config.evaluation,
        length_unit=unit,
        progress=progress,
    )
    warnings = list(data_report.warnings) + list(fit.warnings)
    if temperature is not None:
        manifest.metrics["ece_uncalibrated"] = expected_calibration_error(y_test, raw_proba)
    metrics: dict = {}

    def report(tmp: Path) -> dict:
        metrics.update(
            write_report(
                tmp / "report",
                texts=test_df["text"].tolist(),
                y_true=y_test,
                proba=proba,
                labels=list(labels),
                history=fit.history,
                title=title,
                context={
                    **context,
                    "steps": fit.global_step,
                    "temperature": "none" if temperature is None else round(temperature, 4),
                },
                length_unit=unit,
                uncalibrated_proba=raw_proba if temperature is not None else None,
                temperature=temperature,
                **extras,
            )
        )
        final = final_collapse_warning(metrics, threshold=config.training.collapse_threshold)
        if final:
            log.warning(final)
            warnings.append(final)
        manifest.warnings = warnings
        return metrics

    write_model_directory(
        output_dir,
        manifest=manifest,
        save=model.save,
        overwrite=overwrite,
        report=report,
        files=run_files(config, data_report, fit.history),
        after=(lambda tmp: after(tmp, metrics, raw_proba)) if after else None,
        keep_work_dir=keep_work_dir,
        model=model,
    )
    remember_test_proba(output_dir, raw_test["text"].tolist(), proba)
    return TrainedDirectory(manifest, metrics, raw_proba, warnings)


def remember_test_proba(directory: str | Path, texts: list[str], proba: np.ndarray) -> None:
    """Cache the finished directory's test probabilities under its prediction key, so an ensemble of it
    trained on the same split reads them instead of predicting the test split again."""
    from sentiq.models.cache import MEMBER_PROBA, store_features
    from sentiq.models.integrity import prediction_key

    key = prediction_key(Manifest.load(directory))
    if key is not None:
        store_features(MEMBER_PROBA, key, texts, proba)


def run_files(config: SentiqConfig, data_report, history: list[dict]) -> dict[str, str]:
    """config.yaml, data_report.json and history.json: what a run leaves beside the model."""
    import yaml

    return {
        "config.yaml": yaml.safe_dump(config.to_dict(), sort_keys=False, allow_unicode=True),
        "data_report.json": json.dumps(data_report.to_dict(), indent=2, ensure_ascii=False),
        "history.json": json.dumps(history, indent=2),
    }


__all__ = ["TrainedDirectory", "fit_temperature", "run_files", "write_trained_model"]
