"""One self-contained HTML evaluation report plus ``metrics.json``, written atomically."""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
from pathlib import Path

import numpy as np

from sentiq.atomic import atomic_directory, atomic_write_text
from sentiq.errors import ConfigError, DataError, Errors
from sentiq.evaluation import plots
from sentiq.evaluation.behaviour import capability_summary as behaviour_capabilities
from sentiq.evaluation.buckets import length_buckets, text_lengths
from sentiq.evaluation.calibration import calibration_summary
from sentiq.evaluation.html import render_html
from sentiq.evaluation.metrics import check_inputs, compute_metrics
from sentiq.evaluation.slices import slice_masks, slice_metrics

__all__ = ["length_buckets", "most_confident_errors", "write_report"]

logger = logging.getLogger(__name__)

REPORT_FILES = frozenset({"metrics.json", "report.html"})


def most_confident_errors(texts, y_true, proba, labels, k: int = 20) -> list[dict]:
    """The ``k`` wrong predictions with the highest max probability, most confident first.

    Each entry is ``{"index", "text", "true", "predicted", "confidence"}`` with label names.
    """
    labels = [str(label) for label in labels]
    y, p = check_inputs(y_true, proba, n_labels=len(labels))
    texts = list(texts)
    if len(texts) != len(y):
        raise DataError(Errors.E236, n_texts=len(texts), n_labels=len(y))
    pred = p.argmax(axis=1)
    conf = p.max(axis=1)
    wrong = np.flatnonzero(pred != y)
    order = wrong[np.argsort(-conf[wrong], kind="stable")][: max(int(k), 0)]
    return [
        {
            "index": int(i),
            "text": str(texts[i]),
            "true": labels[y[i]],
            "predicted": labels[pred[i]],
            "confidence": float(conf[i]),
        }
        for i in order
    ]


def jsonable(value):
    """Plain JSON types only: numpy scalars unwrapped, NaN/inf -> None, other objects -> str."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, np.ndarray)):
        return [jsonable(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def _check_replaceable(out_dir: Path) -> None:
    """Refuse to replace a directory that holds more than a previous report."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise ConfigError(Errors.E130, out_dir=out_dir)
    foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in REPORT_FILES)
    if foreign:
        raise ConfigError(Errors.E131, out_dir=out_dir, foreign=", ".join(foreign[:5]))


def write_report(
    out_dir,
    *,
    texts,
    y_true,
    proba,
    labels,
    history=None,
    title: str = "sentiq evaluation",
    context: dict | None = None,
    length_unit: str = "words",
    uncalibrated_proba=None,
    temperature: float | None = None,
    slices: list[dict] | None = None,
    fairness: dict | None = None,
    important_words: dict | None = None,
    behaviour: list[dict] | None = None,
) -> dict:
    """Write ``metrics.json`` and a self-contained ``report.html`` into ``out_dir``.

    ``proba`` are the probabilities the model gives (calibrated when it has a temperature);
    with ``uncalibrated_proba`` and ``temperature`` the report compares calibration before and
    after temperature scaling. ``slices`` (rows of :func:`~sentiq.evaluation.slices.slice_metrics`)
    default to the built-in slices of ``texts``; ``fairness`` (a
    :func:`~sentiq.evaluation.fairness.template_fairness_check` result) and ``important_words`` (from
    :func:`sentiq.explanations.important_words`) add their sections when given.

    The directory is built under a temporary sibling name and renamed into place, so
    a failure leaves the previous ``out_dir`` (or none) and no partial report. An
    existing ``out_dir`` is replaced only if it holds nothing but a previous report.
    ``behaviour`` (``BehaviourCase.to_dict()`` rows) adds a pass/fail section.
    Returns the :func:`compute_metrics` dict.
    """
    out_dir = Path(out_dir)
    labels = [str(label) for label in labels]
    metrics = compute_metrics(y_true, proba, labels)
    texts = list(texts)
    if len(texts) != metrics["n"]:
        raise DataError(Errors.E237, n_texts=len(texts), n_labels=metrics["n"])
    lengths = text_lengths(texts, length_unit)
    _check_replaceable(out_dir)
    y, p = check_inputs(y_true, proba, n_labels=len(labels))
    buckets = length_buckets(lengths, y, p.argmax(axis=1))
    errors = most_confident_errors(texts, y, p, labels)
    if slices is None:
        slices = slice_metrics(slice_masks(texts, length_unit=length_unit), y, p, labels)
    calibration = None
    if uncalibrated_proba is not None and temperature is not None:
        calibration = calibration_summary(y, uncalibrated_proba, temperature)
    context = jsonable(dict(context or {}))
    generated = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()

    with atomic_directory(out_dir) as tmp:
        figures = {
            "confusion_matrix": plots.plot_confusion_matrix(metrics["confusion_matrix"], labels),
            "training_curves": plots.plot_training_curves(history),
            "confidence_histogram": plots.plot_confidence_histogram(y, p),
            "reliability_diagram": plots.plot_reliability_diagram(y, p),
            "reliability_before": (
                plots.plot_reliability_diagram(y, check_inputs(y, uncalibrated_proba)[1]) if calibration else None
            ),
            "accuracy_by_length": plots.plot_accuracy_by_length(y, p, lengths, unit=length_unit),
        }
        images = {name: plots.png_base64(fig) for name, fig in figures.items() if fig is not None}
        payload = {
            **metrics,
            "length_unit": length_unit,
            "length_buckets": buckets,
            "most_confident_errors": errors,
            "calibration": calibration,
            "slices": slices,
            "fairness": fairness,
            "important_words": important_words,
            "context": context,
            "title": title,
            "generated_at": generated,
        }
        if behaviour is not None:
            payload["behaviour"] = {
                "passed": sum(c["passed"] for c in behaviour),
                "total": len(behaviour),
                "capabilities": behaviour_capabilities(behaviour),
                "cases": behaviour,
            }
        atomic_write_text(
            tmp / "metrics.json", json.dumps(jsonable(payload), indent=2, ensure_ascii=False, allow_nan=False)
        )
        html = render_html(
            title=title,
            context=context,
            metrics=metrics,
            labels=labels,
            images=images,
            buckets=buckets,
            errors=errors,
            length_unit=length_unit,
            generated=generated,
            calibration=calibration,
            slices=slices,
            fairness=fairness,
            important_words=important_words,
            behaviour=behaviour,
        )
        atomic_write_text(tmp / "report.html", html)
    logger.info(
        "wrote evaluation report to %s (accuracy %.4f, macro-F1 %.4f)",
        out_dir,
        metrics["accuracy"],
        metrics["macro_f1"],
    )
    return metrics
