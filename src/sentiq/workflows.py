"""The end-to-end functions behind the CLI: train, evaluate, predict a file, inspect data.

Each takes plain arguments, returns plain results and never prints, so a notebook,
the CLI and the service all run the same code.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from sentiq.config import DataConfig, EvaluationConfig, SentiqConfig, TrackingConfig, save_config
from sentiq.data import DataReport, build_report, load_from, load_splits, split_from
from sentiq.data.fingerprint import locate_training_data, record_data_files
from sentiq.errors import ConfigError, DataError, shorten
from sentiq.fsutil import atomic_directory, atomic_write_text
from sentiq.labels import LabelSet
from sentiq.models import Manifest
from sentiq.models.integrity import seal
from sentiq.preprocess import Profile, get_profile
from sentiq.preprocess.language import detect_language

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]
_HEADLINE = ("accuracy", "macro_f1", "weighted_f1", "roc_auc", "log_loss", "ece")


@dataclass
class TrainResult:
    output_dir: Path
    metrics: dict
    data_report: DataReport
    warnings: list[str] = field(default_factory=list)


def _profile_for(config: SentiqConfig, default: str) -> Profile:
    from sentiq.models import model_type

    if getattr(model_type(config.approach), "owns_preprocessing", False):
        return get_profile("none")  # an ensemble's members clean text their own way
    return get_profile(default if config.preprocess == "auto" else config.preprocess)


def _preprocessed(frame: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    return frame.assign(text=profile.apply(frame["text"].tolist()))


def augmented_training_split(train: pd.DataFrame, config: SentiqConfig) -> pd.DataFrame:
    """The raw training split plus ``training.augment``'s new rows (validation and test never come here)."""
    from sentiq.data.augment import augment_frame

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
    from sentiq.tracking import tracked_run

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
    from sentiq.models import model_type
    from sentiq.models.cache import feature_cache
    from sentiq.training import fit_model
    from sentiq.training.callbacks import final_collapse_warning

    output_dir = Path(output_dir)
    if output_dir.exists() and not overwrite:
        raise ConfigError(f"output directory {output_dir} already exists; choose another or pass overwrite")
    loaded, splits = load_splits(config)
    data_report = build_report(loaded, splits)
    profile = _profile_for(config, loaded.default_preprocess)
    # Augmentation works on raw text (emoji are still emoji) and on the training split alone.
    train_df = _preprocessed(augmented_training_split(splits.train, config), profile)
    val_df, test_df = _preprocessed(splits.validation, profile), _preprocessed(splits.test, profile)
    labels = LabelSet.from_names(train_df["label"])
    labels.encode(pd.concat([val_df["label"], test_df["label"]]).tolist())  # fails early on unseen labels

    model = model_type(config.approach).from_config(config, labels, language=loaded.language)
    work_dir = work_dir_for(output_dir)
    with feature_cache():
        result = fit_model(model, train_df, val_df, config, work_dir=work_dir, resume=resume, progress=progress)
        raw_proba = model.predict_proba(test_df["text"].tolist(), batch_size=config.training.eval_batch_size,
                                        progress=progress)
        temperature = _fit_temperature(model, val_df, labels, config)

    from sentiq.evaluation import write_report
    from sentiq.evaluation.calibration import apply_temperature
    from sentiq.inference import Predictor

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
        manifest.metrics = {k: metrics.get(k) for k in _HEADLINE}
        if temperature is not None:
            from sentiq.evaluation.metrics import expected_calibration_error

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
    from sentiq.evaluation.calibration import fit_temperature

    raw = model.predict_proba(val_df["text"].tolist(), batch_size=config.training.eval_batch_size)
    return fit_temperature(labels.encode(val_df["label"].tolist()), raw)


def trust_sections(predictor, frame: pd.DataFrame, y_true, proba, settings, *, length_unit: str = "words",
                   fairness: bool | None = None, important: bool | None = None,
                   progress: ProgressFn | None = None) -> dict:
    """Slices, fairness check and important words for a report on ``frame`` (raw texts, in row order).

    ``settings`` is an :class:`~sentiq.config.EvaluationConfig`; ``fairness``/``important``
    override its switches. A part that cannot run here (no templates for the language) is
    left out with a log line, never failing the report.
    """
    from sentiq.evaluation.slices import slice_masks, slice_metrics

    texts = frame["text"].tolist()
    missing = [c for c in settings.slice_columns if c not in frame.columns]
    if missing:
        log.warning("slice columns %s are not in the data; those slices are left out", missing)
    masks = slice_masks(texts, length_unit=length_unit, regexes=settings.slices,
                        columns={c: frame[c].tolist() for c in settings.slice_columns if c in frame.columns})
    out: dict = {"slices": slice_metrics(masks, y_true, proba, predictor.labels)}
    if settings.fairness if fairness is None else fairness:
        try:
            out["fairness"] = fairness_check(predictor, templates=settings.fairness_templates)
        except ConfigError as exc:
            log.info("fairness check skipped: %s", exc)
    n_words = settings.important_words if important is None else (settings.important_words or 40) * bool(important)
    if n_words:
        from sentiq.explain import important_words

        out["important_words"] = important_words(predictor, texts, sample=n_words, progress=progress)
    return out


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
    from sentiq.tracking import tracked_run

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


def _write_run_files(directory: Path, config: SentiqConfig, data_report: DataReport, history: list[dict]) -> None:
    save_config(config, directory / "config.yaml")
    atomic_write_text(directory / "data_report.json", json.dumps(data_report.to_dict(), indent=2, ensure_ascii=False))
    atomic_write_text(directory / "history.json", json.dumps(history, indent=2))


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
        trained = locate_training_data(trained, manifest.data_files)  # from any folder, and unchanged
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
    from sentiq.models.routed import RoutedClassifier

    output_dir = Path(output_dir)
    if output_dir.exists() and not overwrite:
        raise ConfigError(f"output directory {output_dir} already exists; choose another or pass overwrite")
    model = RoutedClassifier.from_directories(models, fallback=fallback)
    members = {lang: p.manifest for lang, p in model.members.items()}
    with atomic_directory(output_dir, overwrite=overwrite) as tmp:
        model.save(tmp)
        seal(tmp, Manifest(
            approach="routed", labels=list(model.labels), preprocess=get_profile("none").spec(), language="multi",
            config={"routes": {lang: str(path) for lang, path in models.items()}, "fallback": model.fallback},
            metrics={lang: m.metrics for lang, m in members.items()},
            warnings=[f"{lang}: {w}" for lang, m in members.items() for w in m.warnings],
        ), model)
    return output_dir


# The CLI's per-text limit in characters (`sentiq predict --max-chars`). A transformer reads 512 tokens
# (or its windows); 100,000 characters is about 20,000 words. Unbounded, a 10 MB line took 1.84 GB and
# a 100 MB line aborted the process (exit 134) with no message.
MAX_TEXT_CHARS = 100_000


def check_text_lengths(texts: Sequence[str], *, max_chars: int, truncate: bool, where: Callable[[int], str]) -> list[str]:
    """``texts`` when none is over ``max_chars``; with ``truncate`` long ones are cut (with a log line);
    otherwise a DataError naming the first one (``where(i)`` says where text ``i`` came from)."""
    out = list(texts)
    for i, text in enumerate(out):
        if len(text) > max_chars:
            if not truncate:
                raise DataError(f"{where(i)}: the text has {len(text):,} characters, over the limit of {max_chars:,} "
                                "(--max-chars); raise the limit or pass --truncate to cut long texts")
            log.warning("%s: text cut from %d to %d characters (--truncate)", where(i), len(text), max_chars)
            out[i] = text[:max_chars]
    return out


def read_texts(path: str | Path, *, text_column: str = "text", max_chars: int = MAX_TEXT_CHARS,
               truncate: bool = False) -> list[str]:
    """Texts from a .txt (one per line), .csv/.tsv/.jsonl/.parquet (``text_column``) file.

    A text over ``max_chars`` characters is an error naming its line (row), or is cut with ``truncate``;
    a file without texts is an error."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"input file {path} does not exist")
    if path.suffix.lower() in {".txt", ""}:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise DataError(f"{path} is not valid UTF-8 text (byte {exc.start})") from None
        numbered = [(n, line) for n, line in enumerate(lines, 1) if line.strip()]
        texts = check_text_lengths([line for _, line in numbered], max_chars=max_chars, truncate=truncate,
                                   where=lambda i: f"{path} line {numbered[i][0]}")
    else:
        from sentiq.data.sources import _read_file, shown_columns

        frame = _read_file(path)
        if text_column not in frame.columns:
            raise DataError(f"{path} has no column {shorten(text_column)!r}; columns are {shown_columns(frame.columns)}")
        texts = check_text_lengths(frame[text_column].astype(str).tolist(), max_chars=max_chars, truncate=truncate,
                                   where=lambda i: f"{path} row {i + 1}")
    if not texts:
        raise DataError(f"{path} holds no texts (an empty file, or only blank lines or a header)")
    return texts


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
