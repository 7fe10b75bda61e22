"""``evaluate``: a model directory scored on a dataset split or a behaviour file, with its report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sentiq.config import EvaluationConfig, TrackingConfig
from sentiq.data import evaluation_frame
from sentiq.errors import DataError
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
    predictor = Predictor.load(model_dir)
    if tracking is None:
        tracking = recorded_tracking(predictor.manifest)
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


def _evaluate(predictor, model_dir, *, data, split, report_dir, text_column, label_column, label_map,
              fairness, important_words, progress) -> tuple[dict, Path]:
    settings = EvaluationConfig.model_validate(predictor.manifest.config.get("evaluation", {}))
    frame, language = evaluation_frame(predictor.manifest, data, split, text_column=text_column,
                                       label_column=label_column, label_map=label_map,
                                       keep_columns=settings.slice_columns)
    if frame.empty:
        raise DataError(f"the {split} split is empty")
    labels = LabelSet(tuple(predictor.labels))
    y_true = labels.encode(frame["label"].tolist())
    with feature_cache():
        raw_proba = predictor.predict_proba(frame["text"].tolist(), calibrated=False, progress=progress)
    proba = apply_temperature(raw_proba, predictor.temperature)
    unit = "chars" if language == "zh" else "words"
    extras = trust_sections(predictor, frame, y_true, proba, settings, length_unit=unit, fairness=fairness,
                            important=important_words, progress=progress)
    source = data or predictor.manifest.config.get("data", {}).get("source", "data")
    report_dir = Path(report_dir) if report_dir else Path(model_dir) / "evaluations" / f"{slug(source)}-{split}"
    metrics = write_report(
        report_dir, texts=frame["text"].tolist(), y_true=y_true, proba=proba, labels=list(labels),
        title=f"{Path(model_dir).name} on {source} ({split})",
        context={"model": str(model_dir), "data": source, "split": split, "rows": len(frame),
                 "temperature": "none" if predictor.temperature is None else round(predictor.temperature, 4)},
        length_unit=unit, uncalibrated_proba=raw_proba if predictor.temperature is not None else None,
        temperature=predictor.temperature, **extras,
    )
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
        report_dir, texts=frame["text"].tolist(), y_true=LabelSet(tuple(predictor.labels)).encode(frame["expected"].tolist()),
        proba=proba, labels=predictor.labels, title=f"{Path(model_dir).name}: behaviour tests {name}",
        context={"model": str(model_dir), "behaviour file": str(behaviour_file), "sentences": len(frame)},
        length_unit="chars" if languages == {"zh"} else "words", behaviour=[c.to_dict() for c in cases],
    )
    metrics["behaviour_capabilities"] = capability_summary([c.to_dict() for c in cases])
    return BehaviourResult(cases, metrics, report_dir)
