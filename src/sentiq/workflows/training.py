"""``train``: data -> split -> preprocess -> fit -> calibrate -> report -> one model directory
(written by :func:`sentiq.training.output.write_trained_model`, which ``distill`` shares)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sentiq import training  # training.fit_model looked up per call: tests and users may wrap it
from sentiq.config import SentiqConfig, warn_ignored_settings
from sentiq.data import DataReport, build_report, load_splits
from sentiq.data.augment import augmented_training_split
from sentiq.data.fingerprint import record_data_files
from sentiq.labels import LabelSet
from sentiq.models import model_type
from sentiq.models.cache import feature_cache
from sentiq.models.directory import check_output, manifest_for, work_dir_for
from sentiq.tracking import tracked_run
from sentiq.training.distributed import is_main_process, main_process_first
from sentiq.workflows.common import ProgressFn, preprocessed, profile_for

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    output_dir: Path
    metrics: dict
    data_report: DataReport
    warnings: list[str] = field(default_factory=list)
    # The test split's gold labels and the model's predicted labels, row by row (paired tests in `compare`).
    test_labels: list[str] = field(default_factory=list)
    test_predictions: list[str] = field(default_factory=list)


def train(
    config: SentiqConfig,
    output_dir: str | Path,
    *,
    overwrite: bool = False,
    resume: bool = False,
    keep_checkpoints: bool = False,
    progress: ProgressFn | None = None,
) -> TrainResult | None:
    """Load and split the data, train the configured approach, evaluate on the test split, write a model directory.

    The directory appears only when everything succeeded; until then work happens in
    ``<output_dir>.partial`` (checkpoints for ``resume=True``). The run is recorded as
    ``config.tracking`` says (a run folder under ``runs/`` by default).

    Under ``torchrun``/``accelerate launch`` every process trains (one data-parallel run) and only rank 0
    evaluates, writes the directory and records the run; the other ranks return None once training is done.
    """
    warn_ignored_settings(config, [config.approach])
    if not is_main_process():
        return _train(
            config, output_dir, overwrite=overwrite, resume=resume, keep_checkpoints=keep_checkpoints, progress=progress
        )
    with tracked_run(
        "train", name=config.name, tracking=config.tracking, params=config.to_dict(), config=config.to_dict()
    ) as run:
        result = _train(
            config, output_dir, overwrite=overwrite, resume=resume, keep_checkpoints=keep_checkpoints, progress=progress
        )
        run.log_metrics(result.metrics)
        run.model_path = str(Path(result.output_dir).resolve())
        run.report_path = str(Path(result.output_dir).resolve() / "report" / "report.html")
    return result


def _train(
    config: SentiqConfig,
    output_dir: str | Path,
    *,
    overwrite: bool,
    resume: bool,
    keep_checkpoints: bool,
    progress: ProgressFn | None,
) -> TrainResult | None:
    from sentiq.training.output import write_trained_model  # lazy: its module loads the evaluation report

    output_dir = check_output(output_dir, overwrite=overwrite)
    if model_type(config.approach).capabilities.train == "loop":
        from sentiq.models.resolve import check_model_available

        check_model_available(config.model)  # a misspelt model fails before the data is read
    data = _prepared_data(config)
    train_df, val_df, test_df, profile = data.train, data.validation, data.test, data.profile
    labels = LabelSet.from_names(data.labels)
    labels.encode(pd.concat([val_df["label"], test_df["label"]]).tolist())  # fails early on unseen labels

    model = model_type(config.approach).from_config(config, labels, language=data.language)
    with feature_cache():
        result = training.fit_model(
            model, train_df, val_df, config, work_dir=work_dir_for(output_dir), resume=resume, progress=progress
        )
    if not is_main_process():
        return None  # rank 0 holds the same weights and writes the one model directory
    if val_df.empty:
        message = (
            "data.validation_size is 0: trained on every non-test row with no validation split, so no "
            "early stopping, no best-checkpoint choice and no calibration (temperature none)"
        )
        log.warning(message)
        result.warnings.append(message)
    manifest = manifest_for(
        model,
        preprocess=profile.spec(),
        language=data.language,
        config=config.to_dict(),
        data_files=record_data_files(config.data.model_dump()),
        command=f"sentiq train --config config.yaml --output {output_dir}",
    )
    context = {
        "approach": config.approach,
        "model": manifest.base_model or "-",
        "data": config.data.source,
        "split": "test",
        "preprocess": profile.name,
        "train rows": data.raw_train_rows,
        **({"augmented rows": len(train_df) - data.raw_train_rows} if len(train_df) > data.raw_train_rows else {}),
    }
    written = write_trained_model(
        output_dir,
        model=model,
        manifest=manifest,
        config=config,
        val_df=val_df,
        test_df=test_df,
        raw_test=data.raw_test,
        fit=result,
        data_report=data.report,
        title=f"{config.name}: test split",
        context=context,
        overwrite=overwrite,
        keep_work_dir=keep_checkpoints,
        progress=progress,
    )
    predicted = [manifest.labels[i] for i in written.raw_test_proba.argmax(axis=1)]  # calibration keeps the argmax
    return TrainResult(
        output_dir, written.metrics, data.report, written.warnings, data.raw_test["label"].tolist(), predicted
    )


@dataclass
class _Prepared:
    """The preprocessed splits a fit needs; ``train`` is a frame, or a ``datasets.Dataset`` on disk."""

    train: object
    validation: pd.DataFrame
    test: pd.DataFrame
    raw_test: pd.DataFrame
    raw_train_rows: int
    labels: list[str]
    language: str
    profile: object
    report: DataReport


def _prepared_data(config: SentiqConfig) -> _Prepared:
    """Load, split and preprocess ``config.data``: in memory, or with the training rows left on disk
    (``data.out_of_core``; fine-tuning only) for corpora that do not fit comfortably in memory."""
    if _out_of_core(config):
        from sentiq.data.arrow import load_arrow_splits, preprocess_arrow

        started = time.perf_counter()
        with main_process_first(desc="reading the data"):  # under a launcher: read once, the others hit the cache
            splits = load_arrow_splits(
                config.data, config.seed, keep_columns=config.evaluation.slice_columns, num_proc=config.data.num_proc
            )
            profile = profile_for(config, splits.default_preprocess)
            train = preprocess_arrow(splits.train, profile, num_proc=config.data.num_proc)
        log.info("read, cleaned, split and preprocessed the data out of core in %.1f s", time.perf_counter() - started)
        return _Prepared(
            train,
            preprocessed(splits.validation, profile),
            preprocessed(splits.test, profile),
            splits.test,
            train.num_rows,
            splits.labels,
            splits.language,
            profile,
            splits.report,
        )
    loaded, splits = load_splits(config)
    profile = profile_for(config, loaded.default_preprocess)
    # Augmentation works on raw text (emoji are still emoji) and on the training split alone.
    train_df = preprocessed(augmented_training_split(splits.train, config), profile)
    return _Prepared(
        train_df,
        preprocessed(splits.validation, profile),
        preprocessed(splits.test, profile),
        splits.test,
        len(splits.train),
        sorted(set(train_df["label"])),
        loaded.language,
        profile,
        build_report(loaded, splits),
    )


def _out_of_core(config: SentiqConfig) -> bool:
    from sentiq.data.arrow import wants_out_of_core

    if not wants_out_of_core(config.data):
        return False
    why = (
        "data.domains are split and balanced in memory"
        if config.data.domains
        else "only fine-tuning trains out of core"
        if model_type(config.approach).capabilities.train != "loop"
        else "training.augment adds rows in memory"
        if config.training.augment.ops
        else None
    )
    if why is None:
        return True
    if config.data.out_of_core is True:
        log.warning(
            "data.out_of_core=true is ignored: %s (approach %s); the data are read into memory", why, config.approach
        )
    return False


__all__ = ["TrainResult", "augmented_training_split", "train", "work_dir_for"]
