"""The end-to-end functions behind the CLI: train, evaluate, predict a file, inspect data.

Each takes plain arguments, returns plain results and never prints, so a notebook,
the CLI and the service all run the same code.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from sentiq.config import DataConfig, EvaluationConfig, SentiqConfig, TrackingConfig
from sentiq.data import DataReport, build_report, load_from, load_splits, split_from
from sentiq.errors import ConfigError, DataError
from sentiq.fsutil import atomic_directory, atomic_write_text
from sentiq.labels import LabelSet
from sentiq.evaluation.trust import trust_sections
from sentiq.models import Manifest
from sentiq.models.directory import work_dir_for
from sentiq.preprocess import Profile, get_profile
from sentiq.preprocess.language import detect_language

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]


@dataclass
class TrainResult:
    output_dir: Path
    metrics: dict
    data_report: DataReport
    warnings: list[str] = field(default_factory=list)


def _profile_for(config: SentiqConfig, default: str) -> Profile:
    from sentiq.models import model_type

    if model_type(config.approach).capabilities.own_preprocessing:
        return get_profile("none")  # an ensemble's members clean text their own way
    return get_profile(default if config.preprocess == "auto" else config.preprocess)


def _preprocessed(frame: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    return frame.assign(text=profile.apply(frame["text"].tolist()))


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
    from sentiq.config import warn_ignored_settings
    from sentiq.tracking import tracked_run

    warn_ignored_settings(config, [config.approach])
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
    from sentiq.data.augment import augmented_training_split
    from sentiq.models import model_type
    from sentiq.models.cache import feature_cache
    from sentiq.models.directory import check_output, manifest_for
    from sentiq.training import fit_model
    from sentiq.training.output import write_trained_model

    output_dir = check_output(output_dir, overwrite=overwrite)
    if model_type(config.approach).capabilities.train == "loop":
        from sentiq.models.resolve import check_model_available

        check_model_available(config.model)  # a misspelt model fails before the data is read
    loaded, splits = load_splits(config)
    data_report = build_report(loaded, splits)
    profile = _profile_for(config, loaded.default_preprocess)
    # Augmentation works on raw text (emoji are still emoji) and on the training split alone.
    train_df = _preprocessed(augmented_training_split(splits.train, config), profile)
    val_df, test_df = _preprocessed(splits.validation, profile), _preprocessed(splits.test, profile)
    labels = LabelSet.from_names(train_df["label"])
    labels.encode(pd.concat([val_df["label"], test_df["label"]]).tolist())  # fails early on unseen labels

    model = model_type(config.approach).from_config(config, labels, language=loaded.language)
    with feature_cache():
        result = fit_model(model, train_df, val_df, config, work_dir=work_dir_for(output_dir), resume=resume,
                           progress=progress)
    manifest = manifest_for(model, preprocess=profile.spec(), language=loaded.language, config=config.to_dict(),
                            command=f"sentiq train --config config.yaml --output {output_dir}")
    context = {"approach": config.approach, "model": manifest.base_model or "-", "data": config.data.source,
               "split": "test", "preprocess": profile.name, "train rows": len(splits.train),
               **({"augmented rows": len(train_df) - len(splits.train)} if len(train_df) > len(splits.train) else {})}
    written = write_trained_model(output_dir, model=model, manifest=manifest, config=config, val_df=val_df,
                                  test_df=test_df, raw_test=splits.test, fit=result, data_report=data_report,
                                  title=f"{config.name}: test split", context=context, overwrite=overwrite,
                                  keep_work_dir=keep_checkpoints, progress=progress)
    return TrainResult(output_dir, written.metrics, data_report, written.warnings)


def fairness_check(model, *, templates: str | Path | dict | None = None, language: str | None = None) -> dict:
    """The template fairness check for a model directory or Predictor (see :mod:`sentiq.evaluation.fairness`)."""
    from sentiq.evaluation.fairness import fairness_check as check
    from sentiq.inference import Predictor

    predictor = model if isinstance(model, Predictor) else Predictor.load(model)
    return check(predictor.predict_proba, predictor.labels, templates=templates,
                 language=language or predictor.manifest.language)


def _timed_speed(model_dir: Path, texts: list[str]) -> float:
    from sentiq.inference import Predictor

    predictor = Predictor.load(model_dir)
    predictor.predict_proba(texts[: min(8, len(texts))])  # warm-up: lazy loads, first-call allocations
    start = time.perf_counter()
    predictor.predict_proba(texts)
    return len(texts) / max(time.perf_counter() - start, 1e-9)


def compare(config: SentiqConfig, output_dir: str | Path, *, overwrite: bool = False,
            progress: ProgressFn | None = None) -> list[dict]:
    """Train each approach of ``config.compare`` on the same split; write one table and page.

    Models go to ``<output_dir>/models/<approach>``; ``comparison.json`` and
    ``comparison.html`` sit beside them. Nothing appears at ``output_dir`` unless all succeed.
    One run is recorded (metrics keyed ``<approach>.<metric>``), not one per approach.
    """
    from sentiq.config import warn_ignored_settings
    from sentiq.tracking import tracked_run

    warn_ignored_settings(config, list(config.compare.approaches))
    with tracked_run("compare", name=config.name, tracking=config.tracking, params=config.to_dict(),
                     config=config.to_dict()) as run:
        rows = _compare(config, output_dir, overwrite=overwrite, progress=progress)
        run.log_metrics({r["approach"]: {k: v for k, v in r.items() if k != "approach"} for r in rows})
        run.model_path = str(Path(output_dir).resolve() / "models")
        run.report_path = str(Path(output_dir).resolve() / "comparison.html")
    return rows


def _compare(config: SentiqConfig, output_dir: str | Path, *, overwrite: bool, progress: ProgressFn | None) -> list[dict]:
    from sentiq.evaluation.comparison import write_comparison

    output_dir = Path(output_dir)
    _, splits = load_splits(config)
    speed_texts = splits.test["text"].tolist()[: config.compare.speed_texts]
    rows: list[dict] = []
    with atomic_directory(output_dir, overwrite=overwrite) as tmp:
        trained: list[str] = []
        for approach in config.compare.approaches:
            update = {"approach": approach}
            if approach == "ensemble":
                update["ensemble"] = config.ensemble.model_copy(update={"members": list(trained)})
            cfg = config.model_copy(update=update)
            log.info("compare: training %s", approach)
            start = time.perf_counter()
            result = _train(cfg, tmp / "models" / approach, overwrite=False, resume=False, keep_checkpoints=False,
                            progress=progress)
            seconds = time.perf_counter() - start
            trained.append(str(tmp / "models" / approach))
            rows.append({"approach": approach, **{k: result.metrics.get(k) for k in ("accuracy", "macro_f1", "roc_auc")},
                         "train_seconds": seconds, "predict_texts_per_s": _timed_speed(tmp / "models" / approach,
                                                                                         speed_texts)})
        write_comparison(tmp, rows, title=f"{config.name}: approaches compared",
                         context={"data": config.data.source, "seed": config.seed, "train rows": len(splits.train),
                                  "test rows": len(splits.test)})
    return rows


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(text).stem if Path(text).suffix else text).strip("-") or "data"


def evaluation_frame(manifest: Manifest, data: str | None, split: str, *, keep_columns=(),
                     **columns) -> tuple[pd.DataFrame, str]:
    """The rows to evaluate on: the training data's split when ``data`` is omitted or the same source,
    re-split with the training seed so ``test`` is the very test split of training."""
    trained = manifest.config.get("data", {})
    seed = manifest.config.get("seed", 42)
    same_source = data is None or data == trained.get("source")
    if same_source and trained:
        base = DataConfig.model_validate({**trained, **{k: v for k, v in columns.items() if v is not None}})
    else:
        if data is None:
            raise ConfigError("this model records no training data; pass --data")
        base = DataConfig(source=data, **{k: v for k, v in columns.items() if v is not None})
    loaded = load_from(base, keep_columns=keep_columns)
    if split == "all":
        return pd.concat(list(loaded.frames.values()), ignore_index=True), loaded.language
    if split not in {"train", "validation", "test"}:
        raise ConfigError(f"split must be train, validation, test or all (got {split!r})")
    return dict(split_from(loaded, base, seed).items())[split], loaded.language


def evaluate(
    model_dir: str | Path,
    *,
    data: str | None = None,
    split: str = "test",
    report_dir: str | Path | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
    label_map: dict[str, str] | None = None,
    fairness: bool | None = None,
    important_words: bool | None = None,
    progress: ProgressFn | None = None,
    tracking: TrackingConfig | None = None,
) -> tuple[dict, Path]:
    """Score a model directory on a split of a dataset; write ``report.html`` and ``metrics.json``.

    The report covers calibration (before/after the model's temperature), slices, and, as the
    model's ``evaluation`` settings say unless ``fairness``/``important_words`` override them,
    the template fairness check and each class's most important words.
    The run is recorded as ``tracking`` says (default: as the model's training config said).
    """
    from sentiq.inference import Predictor
    from sentiq.tracking import tracked_run

    predictor = Predictor.load(model_dir)
    if tracking is None:
        tracking = _recorded_tracking(predictor.manifest)
    params = {"model": str(Path(model_dir).resolve()), "data": data or predictor.manifest.config.get("data", {}).get("source"),
              "split": split, "text_column": text_column, "label_column": label_column, "label_map": label_map,
              "approach": predictor.manifest.approach, "base_model": predictor.manifest.base_model}
    name = f"{predictor.manifest.config.get('name', Path(model_dir).name)}-eval"
    with tracked_run("evaluate", name=name, tracking=tracking, params=params) as run:
        metrics, report = _evaluate(predictor, model_dir, data=data, split=split, report_dir=report_dir,
                                    text_column=text_column, label_column=label_column, label_map=label_map,
                                    fairness=fairness, important_words=important_words, progress=progress)
        run.log_metrics(metrics)
        run.model_path = params["model"]
        run.report_path = str(report.resolve() / "report.html")
    return metrics, report


def _recorded_tracking(manifest: Manifest) -> TrackingConfig:
    """The tracking settings the model was trained with (defaults for models older than tracking)."""
    from pydantic import ValidationError

    try:
        return TrackingConfig.model_validate(manifest.config.get("tracking") or {})
    except ValidationError:
        return TrackingConfig()


def _evaluate(predictor, model_dir, *, data, split, report_dir, text_column, label_column, label_map,
              fairness, important_words, progress) -> tuple[dict, Path]:
    from sentiq.evaluation import write_report

    settings = EvaluationConfig.model_validate(predictor.manifest.config.get("evaluation", {}))
    frame, language = evaluation_frame(predictor.manifest, data, split, text_column=text_column,
                                       label_column=label_column, label_map=label_map,
                                       keep_columns=settings.slice_columns)
    if frame.empty:
        raise DataError(f"the {split} split is empty")
    labels = LabelSet(tuple(predictor.labels))
    y_true = labels.encode(frame["label"].tolist())
    from sentiq.models.cache import feature_cache

    from sentiq.evaluation.calibration import apply_temperature

    with feature_cache():
        raw_proba = predictor.predict_proba(frame["text"].tolist(), calibrated=False, progress=progress)
    proba = apply_temperature(raw_proba, predictor.temperature)
    unit = "chars" if language == "zh" else "words"
    extras = trust_sections(predictor, frame, y_true, proba, settings, length_unit=unit, fairness=fairness,
                            important=important_words, progress=progress)
    source = data or predictor.manifest.config.get("data", {}).get("source", "data")
    report_dir = Path(report_dir) if report_dir else Path(model_dir) / "evaluations" / f"{_slug(source)}-{split}"
    metrics = write_report(
        report_dir, texts=frame["text"].tolist(), y_true=y_true, proba=proba, labels=list(labels),
        title=f"{Path(model_dir).name} on {source} ({split})",
        context={"model": str(model_dir), "data": source, "split": split, "rows": len(frame),
                 "temperature": "none" if predictor.temperature is None else round(predictor.temperature, 4)},
        length_unit=unit, uncalibrated_proba=raw_proba if predictor.temperature is not None else None,
        temperature=predictor.temperature, **extras,
    )
    return metrics, report_dir


def calibrate(model_dir: str | Path, *, data: str | None = None, split: str = "validation",
              progress: ProgressFn | None = None) -> dict:
    """Fit (or refit) temperature scaling for an existing model directory and record it in its manifest.

    By default on the validation split of the training data (re-split with the training
    seed); returns :func:`~sentiq.evaluation.calibration.calibration_summary` on that split.
    """
    from sentiq.evaluation.calibration import calibration_summary, fit_temperature
    from sentiq.inference import Predictor

    predictor = Predictor.load(model_dir)
    frame, _ = evaluation_frame(predictor.manifest, data, split)
    if frame.empty:
        raise DataError(f"the {split} split is empty: nothing to fit a temperature on")
    y = LabelSet(tuple(predictor.labels)).encode(frame["label"].tolist())
    raw = predictor.predict_proba(frame["text"].tolist(), calibrated=False, progress=progress)
    temperature = fit_temperature(y, raw)
    predictor.manifest.temperature = temperature
    predictor.manifest.save(Path(model_dir))
    return {**calibration_summary(y, raw, temperature), "split": split, "n": len(frame)}


@dataclass
class BehaviourResult:
    cases: list  # BehaviourCase
    metrics: dict
    report_dir: Path

    @property
    def failures(self) -> list:
        return [c for c in self.cases if not c.passed]


def evaluate_behaviour(
    model_dir: str | Path,
    behaviour_file: str | Path,
    *,
    report_dir: str | Path | None = None,
    progress: ProgressFn | None = None,
) -> BehaviourResult:
    """Run a behaviour file (``text, expected``) through a model: pass/fail per sentence, plus a
    report (``report.html`` lists every sentence, failures first; ``metrics.json`` holds them)."""
    from sentiq.evaluation import write_report
    from sentiq.evaluation.behaviour import check_behaviour, read_behaviour_file
    from sentiq.inference import Predictor

    frame = read_behaviour_file(behaviour_file)
    predictor = Predictor.load(model_dir)
    proba = predictor.predict_proba(frame["text"].tolist(), progress=progress)
    cases = check_behaviour(frame, proba, predictor.labels)
    name = Path(behaviour_file).stem
    report_dir = Path(report_dir) if report_dir else Path(model_dir) / "evaluations" / f"behaviour-{_slug(name)}"
    languages = {detect_language(t) for t in frame["text"]}
    metrics = write_report(
        report_dir, texts=frame["text"].tolist(), y_true=LabelSet(tuple(predictor.labels)).encode(frame["expected"].tolist()),
        proba=proba, labels=predictor.labels, title=f"{Path(model_dir).name}: behaviour tests {name}",
        context={"model": str(model_dir), "behaviour file": str(behaviour_file), "sentences": len(frame)},
        length_unit="chars" if languages == {"zh"} else "words", behaviour=[c.to_dict() for c in cases],
    )
    return BehaviourResult(cases, metrics, report_dir)


def route(
    models: dict[str, str | Path],
    output_dir: str | Path,
    *,
    fallback: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Combine model directories into one that routes each text by its detected language.

    ``models`` maps a language code (``zh``, ``en``, ...) to a model directory; members must
    share one label set. Texts in a language without a member go to ``fallback`` (default:
    ``en`` when present, else the first member). The members are copied inside.
    """
    from sentiq.models.directory import check_output, manifest_for, write_model_directory
    from sentiq.models.routed import RoutedClassifier

    output_dir = check_output(output_dir, overwrite=overwrite)
    model = RoutedClassifier.from_directories(models, fallback=fallback)
    members = {lang: p.manifest for lang, p in model.members.items()}
    routes = " ".join(f"--model {lang}={path}" for lang, path in models.items())
    manifest = manifest_for(
        model, preprocess=get_profile("none").spec(), language="multi",
        config={"routes": {lang: str(path) for lang, path in models.items()}, "fallback": model.fallback},
        metrics={lang: m.metrics for lang, m in members.items()},
        warnings=[f"{lang}: {w}" for lang, m in members.items() for w in m.warnings],
        command=f"sentiq route {routes} --fallback {model.fallback} --output {output_dir}",
    )
    write_model_directory(output_dir, manifest=manifest, save=model.save, overwrite=overwrite)
    return output_dir


def read_texts(path: str | Path, *, text_column: str = "text") -> list[str]:
    """Texts from a .txt (one per line), .csv/.tsv/.jsonl/.parquet (``text_column``) file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"input file {path} does not exist")
    if path.suffix.lower() in {".txt", ""}:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise DataError(f"{path} is not valid UTF-8 text (byte {exc.start})") from None
        return [line for line in lines if line.strip()]
    from sentiq.data.sources import _read_file

    frame = _read_file(path)
    if text_column not in frame.columns:
        raise DataError(f"{path} has no column {text_column!r}; columns are {list(frame.columns)}")
    return frame[text_column].astype(str).tolist()


def predict_to_file(predictor, texts: Sequence[str], output: str | Path, *, progress: ProgressFn | None = None) -> int:
    """Write one JSON line per text ``{"text", "label", "score", "scores"}``, atomically."""
    predictions = predictor.predict(list(texts), progress=progress)
    lines = [json.dumps({"text": t, **p.to_dict()}, ensure_ascii=False) for t, p in zip(texts, predictions)]
    atomic_write_text(Path(output), "\n".join(lines) + "\n")
    return len(lines)


def inspect_data(source: str, *, config: SentiqConfig | None = None, **columns) -> DataReport:
    """Load and split a dataset the way training would, and report on it."""
    from sentiq.config import build_config

    cfg = config or build_config({"data": {"source": source, **{k: v for k, v in columns.items() if v is not None}}})
    loaded, splits = load_splits(cfg)
    return build_report(loaded, splits)
