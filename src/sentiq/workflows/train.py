"""``train``: data -> split -> preprocess -> fit -> calibrate -> report -> one model directory."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sentiq import training  # training.fit_model looked up per call: tests and users may wrap it
from sentiq.atomic import atomic_directory, atomic_write_text
from sentiq.config import SentiqConfig, save_config
from sentiq.data import DataReport, build_report, load_splits
from sentiq.data.augment import augment_frame
from sentiq.data.fingerprint import record_data_files
from sentiq.errors import ConfigError
from sentiq.evaluation import write_report
from sentiq.evaluation.calibration import apply_temperature, fit_temperature
from sentiq.evaluation.metrics import expected_calibration_error
from sentiq.inference import Predictor
from sentiq.labels import LabelSet
from sentiq.models import Manifest, model_type
from sentiq.models.cache import feature_cache
from sentiq.models.integrity import seal
from sentiq.tracking import tracked_run
from sentiq.workflows.common import HEADLINE_METRICS, ProgressFn, preprocessed, profile_for
from sentiq.workflows.trust import trust_sections

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    output_dir: Path
    metrics: dict
    data_report: DataReport
    warnings: list[str] = field(default_factory=list)


def augmented_training_split(train: pd.DataFrame, config: SentiqConfig) -> pd.DataFrame:
    """The raw training split plus ``training.augment``'s new rows (validation and test never come here)."""
    aug = config.training.augment
    if not aug.ops:
        return train
    out = augment_frame(train, ops=aug.ops, n_per_example=aug.n_per_example, p=aug.p, seed=config.training_seed)
    log.info("augmentation (%s): %d training rows + %d new", ", ".join(aug.ops), len(train), len(out) - len(train))
    return out


def work_dir_for(output_dir: Path) -> Path:
    """Checkpoints live beside the output until the run completes (so a crash can resume)."""
    return output_dir.with_name(output_dir.name + ".partial")


def train(
    config: SentiqConfig,
    output_dir: str | Path,
    *,
    overwrite: bool = False,
    resume: bool = False,
    keep_checkpoints: bool = False,
    progress: ProgressFn | None = None,
) -> TrainResult:
    """Load and split the data, train the configured approach, evaluate on the test split, write a model directory.

    The directory appears only when everything succeeded; until then work happens in
    ``<output_dir>.partial`` (checkpoints for ``resume=True``). The run is recorded as
    ``config.tracking`` says (a run folder under ``runs/`` by default).
    """
    with tracked_run("train", name=config.name, tracking=config.tracking, params=config.to_dict(),
                     config=config.to_dict()) as run:
        result = _train(config, output_dir, overwrite=overwrite, resume=resume,
                        keep_checkpoints=keep_checkpoints, progress=progress)
        run.log_metrics(result.metrics)
        run.model_path = str(Path(result.output_dir).resolve())
        run.report_path = str(Path(result.output_dir).resolve() / "report" / "report.html")
    return result


def _train(config: SentiqConfig, output_dir: str | Path, *, overwrite: bool, resume: bool, keep_checkpoints: bool,
           progress: ProgressFn | None) -> TrainResult:
    from sentiq.training.callbacks import final_collapse_warning  # lazy: its module loads transformers

    output_dir = Path(output_dir)
    if output_dir.exists() and not overwrite:
        raise ConfigError(f"output directory {output_dir} already exists; choose another or pass overwrite")
    loaded, splits = load_splits(config)
    data_report = build_report(loaded, splits)
    profile = profile_for(config, loaded.default_preprocess)
    # Augmentation works on raw text (emoji are still emoji) and on the training split alone.
    train_df = preprocessed(augmented_training_split(splits.train, config), profile)
    val_df, test_df = preprocessed(splits.validation, profile), preprocessed(splits.test, profile)
    labels = LabelSet.from_names(train_df["label"])
    labels.encode(pd.concat([val_df["label"], test_df["label"]]).tolist())  # fails early on unseen labels

    model = model_type(config.approach).from_config(config, labels, language=loaded.language)
    work_dir = work_dir_for(output_dir)
    with feature_cache():
        result = training.fit_model(model, train_df, val_df, config, work_dir=work_dir, resume=resume, progress=progress)
        raw_proba = model.predict_proba(test_df["text"].tolist(), batch_size=config.training.eval_batch_size,
                                        progress=progress)
        temperature = _fit_temperature(model, val_df, labels, config)

    warnings = data_report.warnings + result.warnings
    manifest = Manifest(
        approach=config.approach, labels=list(labels), preprocess=profile.spec(), language=loaded.language,
        max_length=getattr(model, "max_length", None), truncation=getattr(model, "truncation", None),
        window=dict(getattr(model, "window_options", None) or {}),
        base_model=getattr(model, "base_model", None), config=config.to_dict(), temperature=temperature,
        data_files=record_data_files(config.data.model_dump()),
    )
    proba = apply_temperature(raw_proba, temperature)
    y_test = labels.encode(test_df["label"].tolist())
    extras = trust_sections(Predictor(model, manifest, batch_size=config.training.eval_batch_size), splits.test,
                            y_test, proba, config.evaluation, length_unit="chars" if loaded.language == "zh" else "words",
                            progress=progress)
    with atomic_directory(output_dir, overwrite=overwrite) as tmp:
        model.save(tmp)
        metrics = write_report(
            tmp / "report", texts=test_df["text"].tolist(), y_true=y_test,
            proba=proba, labels=list(labels), history=result.history, title=f"{config.name}: test split",
            context={"approach": config.approach, "model": getattr(model, "base_model", None) or "-",
                     "data": config.data.source, "split": "test", "preprocess": profile.name,
                     "train rows": len(splits.train), "steps": result.global_step,
                     **({"augmented rows": len(train_df) - len(splits.train)} if len(train_df) > len(splits.train)
                        else {}),
                     "temperature": "none" if temperature is None else round(temperature, 4)},
            length_unit="chars" if loaded.language == "zh" else "words",
            uncalibrated_proba=raw_proba if temperature is not None else None, temperature=temperature, **extras,
        )
        _write_run_files(tmp, config, data_report, result.history)
        final = final_collapse_warning(metrics, threshold=config.training.collapse_threshold)
        if final:
            log.warning(final)
            warnings.append(final)
        manifest.metrics = {k: metrics.get(k) for k in HEADLINE_METRICS}
        if temperature is not None:
            manifest.metrics["ece_uncalibrated"] = expected_calibration_error(y_test, raw_proba)
        manifest.warnings = warnings
        seal(tmp, manifest, model)  # last: the file list and checksums cover everything written above
    if not keep_checkpoints:
        shutil.rmtree(work_dir, ignore_errors=True)
    return TrainResult(output_dir, metrics, data_report, warnings)


def _fit_temperature(model, val_df: pd.DataFrame, labels: LabelSet, config: SentiqConfig) -> float | None:
    """Temperature scaling on the validation split, when there is one and calibration is on."""
    if not config.evaluation.calibrate or val_df.empty:
        return None
    raw = model.predict_proba(val_df["text"].tolist(), batch_size=config.training.eval_batch_size)
    return fit_temperature(labels.encode(val_df["label"].tolist()), raw)


def _write_run_files(directory: Path, config: SentiqConfig, data_report: DataReport, history: list[dict]) -> None:
    save_config(config, directory / "config.yaml")
    atomic_write_text(directory / "data_report.json", json.dumps(data_report.to_dict(), indent=2, ensure_ascii=False))
    atomic_write_text(directory / "history.json", json.dumps(history, indent=2))
