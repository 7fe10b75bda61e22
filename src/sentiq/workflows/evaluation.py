"""``evaluate``: a model directory scored on a dataset split or a behaviour file, with its report."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sentiq.config import EvaluationConfig, TrackingConfig
from sentiq.data import default_split, evaluation_data, is_training_data
from sentiq.errors import ConfigError, DataError, Errors
from sentiq.evaluation import write_report
from sentiq.evaluation.behaviour import behaviour_source, capability_summary, check_behaviour, read_behaviour_file
from sentiq.evaluation.calibration import apply_temperature
from sentiq.inference import Predictor
from sentiq.labels import LabelSet
from sentiq.models.cache import feature_cache
from sentiq.preprocess.language import detect_language
from sentiq.tracking import tracked_run
from sentiq.workflows.common import ProgressFn, recorded_tracking, slug
from sentiq.workflows.trust import trust_sections

log = logging.getLogger(__name__)


def evaluate(
    model_dir: str | Path,
    *,
    data: str | None = None,
    split: str | None = None,
    report_dir: str | Path | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
    label_map: dict[str, str] | None = None,
    header: bool | None = None,
    neutral_band: float | str | None = None,
    fairness: bool | None = None,
    important_words: bool | None = None,
    progress: ProgressFn | None = None,
    tracking: TrackingConfig | None = None,
) -> tuple[dict, Path]:
    """Score a model directory on a dataset; write ``report.html`` and ``metrics.json``.

    ``split`` defaults to ``test`` (the very test split of training) for the training data and
    to ``all`` for any other file: a user's file is scored whole. Rows with empty text, rows
    the model's preprocessing empties and rows whose label maps to ``skip`` are left out and
    counted in ``metrics["scored"]``, which also says which rows were scored.

    ``neutral_band`` scores a two-class model on data with a third ``neutral`` class: a text is
    predicted neutral when its top probability is below 0.5 + band. ``"auto"`` chooses the band
    (best macro-F1) on a seeded, stratified 20% of the rows, which are then not scored.

    The report covers calibration, slices and, as the model's ``evaluation`` settings say unless
    ``fairness``/``important_words`` override them, the template fairness check and each class's
    most important words; for data other than the training data both are opt-in (the fairness
    check does not depend on the data and is in the training report; explanations cost far more
    than predictions). The run is recorded as ``tracking`` says (default: as the model's training
    config said), with the data file, split and rows scored.
    """
    predictor = Predictor.load(model_dir)
    split = split or default_split(predictor.manifest, data)
    if tracking is None:
        tracking = recorded_tracking(predictor.manifest)
    source = data or predictor.manifest.config.get("data", {}).get("source")
    params = {
        "model": str(Path(model_dir).resolve()),
        "data": str(Path(source).resolve()) if source and Path(source).exists() else source,
        "split": split,
        "text_column": text_column,
        "label_column": label_column,
        "label_map": label_map,
        "neutral_band": neutral_band,
        "approach": predictor.manifest.approach,
        "base_model": predictor.manifest.base_model,
    }
    name = f"{predictor.manifest.config.get('name', Path(model_dir).name)}-eval"
    with tracked_run("evaluate", name=name, tracking=tracking, params=params) as run:
        metrics, report = _evaluate(
            predictor,
            model_dir,
            data=data,
            split=split,
            report_dir=report_dir,
            text_column=text_column,
            label_column=label_column,
            label_map=label_map,
            header=header,
            neutral_band=neutral_band,
            fairness=fairness,
            important_words=important_words,
            progress=progress,
        )
        run.log_metrics({k: v for k, v in metrics.items() if k != "scored"})
        run.params["rows_scored"] = metrics["scored"]["rows"]
        run.model_path = params["model"]
        run.report_path = str(report.resolve() / "report.html")
    return metrics, report


NEUTRAL = "neutral"


def _band_labels(model_labels: list[str], data_labels) -> list[str]:
    if len(model_labels) != 2 or NEUTRAL in model_labels:
        raise ConfigError(Errors.E153, neutral=NEUTRAL, model_labels=model_labels)
    if NEUTRAL not in set(data_labels):
        raise ConfigError(Errors.E154, neutral=NEUTRAL)
    return list(LabelSet.from_names([*model_labels, NEUTRAL]))


def with_neutral_band(proba, band: float, model_labels: list[str], labels: list[str]):
    """Two-class probabilities as three columns (``labels`` order): the neutral column is the threshold
    0.5 + ``band``, so the argmax is neutral exactly when the top probability falls below it; rows are
    normalised (the numbers rank, they are not calibrated probabilities)."""
    import numpy as np

    out = np.zeros((len(proba), 3))
    for j, name in enumerate(model_labels):
        out[:, labels.index(name)] = proba[:, j]
    out[:, labels.index(NEUTRAL)] = 0.5 + band
    return out / out.sum(axis=1, keepdims=True)


def choose_neutral_band(proba, y_true, model_labels: list[str], labels: list[str]) -> float:
    """The band (0 to 0.5 in steps of 0.01) with the best macro-F1 on these rows; the narrowest on ties."""
    import numpy as np
    from sklearn.metrics import f1_score

    best, best_f1 = 0.0, -1.0
    for band in np.round(np.arange(0.0, 0.501, 0.01), 2):
        pred = with_neutral_band(proba, float(band), model_labels, labels).argmax(axis=1)
        f1 = f1_score(y_true, pred, average="macro", labels=list(range(3)), zero_division=0)
        if f1 > best_f1 + 1e-12:
            best, best_f1 = float(band), f1
    return best


def _evaluate(
    predictor,
    model_dir,
    *,
    data,
    split,
    report_dir,
    text_column,
    label_column,
    label_map,
    header,
    neutral_band,
    fairness,
    important_words,
    progress,
) -> tuple[dict, Path]:
    settings = EvaluationConfig.model_validate(predictor.manifest.config.get("evaluation", {}))
    frame, loaded = evaluation_data(
        predictor.manifest,
        data,
        split,
        text_column=text_column,
        label_column=label_column,
        label_map=label_map,
        header=header,
        keep_columns=settings.slice_columns,
    )
    reasons = predictor.empty_reasons(frame["text"].tolist()) if not frame.empty else []
    unscored = pd.Series([r for r in reasons if r], dtype=object).value_counts().to_dict()
    if unscored:
        log.info("left out %s", ", ".join(f"{n} rows: {why}" for why, n in unscored.items()))
        frame = frame[[r is None for r in reasons]].reset_index(drop=True)
    if frame.empty:
        raise DataError(Errors.E259, split=split, data=data or "the training data")
    model_labels = list(predictor.labels)
    band_rows = 0
    if neutral_band is not None:
        labels = _band_labels(model_labels, frame["label"])
        if neutral_band == "auto":
            from sentiq.data.splits import stratified_split

            frame, chooser = stratified_split(frame, 0.2, predictor.manifest.config.get("seed", 42))
            band_rows = len(chooser)
            with feature_cache():
                chooser_proba = predictor.predict_proba(chooser["text"].tolist())
            neutral_band = choose_neutral_band(
                chooser_proba, LabelSet(tuple(labels)).encode(chooser["label"].tolist()), model_labels, labels
            )
        neutral_band = float(neutral_band)
    else:
        labels = model_labels
    y_true = LabelSet(tuple(labels)).encode(frame["label"].tolist())
    with feature_cache():
        raw_proba = predictor.predict_proba(frame["text"].tolist(), calibrated=False, progress=progress)
    proba = apply_temperature(raw_proba, predictor.temperature)
    if neutral_band is not None:
        proba = with_neutral_band(proba, neutral_band, model_labels, labels)
        raw_proba = None
    unit = "chars" if loaded.language == "zh" else "words"
    external = not is_training_data(predictor.manifest, data)
    extras = trust_sections(
        predictor,
        frame,
        y_true,
        proba,
        settings,
        length_unit=unit,
        labels=labels,
        fairness=fairness if fairness is not None else (None if not external else False),
        important=important_words if important_words is not None else (None if not external else False),
        progress=progress,
    )
    source = data or predictor.manifest.config.get("data", {}).get("source", "data")
    scored = {
        "split": split,
        "rows": len(frame),
        "source": source,
        "left_out": {
            **{f"label {k} (skip)": v for k, v in loaded.skipped.items()},
            **({"empty text (in the file)": loaded.dropped_empty} if loaded.dropped_empty else {}),
            **({"no label": loaded.dropped_missing_label} if loaded.dropped_missing_label else {}),
            **unscored,
        },
        **({"neutral_band": neutral_band, "band_chosen_on_rows": band_rows} if neutral_band is not None else {}),
        **({"label_map": loaded.recorded_label_map} if loaded.recorded_label_map else {}),
    }
    name = f"{slug(source)}-{split}" + ("-neutral-band" if neutral_band is not None else "")
    report_dir = Path(report_dir) if report_dir else Path(model_dir) / "evaluations" / name
    metrics = write_report(
        report_dir,
        texts=frame["text"].tolist(),
        y_true=y_true,
        proba=proba,
        labels=labels,
        title=f"{Path(model_dir).name} on {source} ({split})",
        context={
            "model": str(model_dir),
            "data": source,
            "split": split,
            "rows scored": len(frame),
            **{f"left out: {k}": v for k, v in scored["left_out"].items()},
            **(
                {
                    "neutral band": f"top probability < {0.5 + neutral_band:.2f}"
                    + (f" (chosen on {band_rows} other rows)" if band_rows else "")
                }
                if neutral_band is not None
                else {}
            ),
            "temperature": "none" if predictor.temperature is None else round(predictor.temperature, 4),
        },
        length_unit=unit,
        uncalibrated_proba=raw_proba if predictor.temperature is not None else None,
        temperature=predictor.temperature if raw_proba is not None else None,
        **extras,
    )
    metrics["scored"] = scored
    return metrics, report_dir


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
    """Run a behaviour file (``text, expected[, capability]``) or a built-in suite (``en``) through a
    model: pass/fail per sentence and the pass rate per capability, plus a report (``report.html``
    lists every sentence, failures first; ``metrics.json`` holds them)."""
    behaviour_file = behaviour_source(behaviour_file)  # a path, or a shipped suite's name (en)
    frame = read_behaviour_file(behaviour_file)
    predictor = Predictor.load(model_dir)
    proba = predictor.predict_proba(frame["text"].tolist(), progress=progress)
    cases = check_behaviour(frame, proba, predictor.labels)
    name = Path(behaviour_file).stem
    report_dir = Path(report_dir) if report_dir else Path(model_dir) / "evaluations" / f"behaviour-{slug(name)}"
    languages = {detect_language(t) for t in frame["text"]}
    metrics = write_report(
        report_dir,
        texts=frame["text"].tolist(),
        y_true=LabelSet(tuple(predictor.labels)).encode(frame["expected"].tolist()),
        proba=proba,
        labels=predictor.labels,
        title=f"{Path(model_dir).name}: behaviour tests {name}",
        context={"model": str(model_dir), "behaviour file": str(behaviour_file), "sentences": len(frame)},
        length_unit="chars" if languages == {"zh"} else "words",
        behaviour=[c.to_dict() for c in cases],
    )
    metrics["behaviour_capabilities"] = capability_summary([c.to_dict() for c in cases])
    return BehaviourResult(cases, metrics, report_dir)
