"""`sentiq monitor`: compare live inputs and predictions with the training data."""

from __future__ import annotations

import datetime as _dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sentiq.monitoring.drift import (
    DRIFT,
    SKIPPED,
    WARN,
    Check,
    Thresholds,
    categorical_check,
    numeric_check,
    oov_check,
    skipped,
)
from sentiq.monitoring.samples import Sample, add_predictions, load_sample

log = logging.getLogger(__name__)

# Exit status of `sentiq monitor` when any check flags drift (0: none; 1: an error).
DRIFT_EXIT_CODE = 3


@dataclass
class DriftResult:
    reference: Sample
    current: Sample
    checks: list[Check]
    thresholds: Thresholds
    generated: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    model: str | None = None

    @property
    def drift(self) -> bool:
        return any(c.status == DRIFT for c in self.checks)

    @property
    def status(self) -> str:
        states = {c.status for c in self.checks}
        return DRIFT if DRIFT in states else WARN if WARN in states else "ok"

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return {
            "status": self.status,
            "drift": self.drift,
            "generated": self.generated,
            "model": self.model,
            "reference": self.reference.summary(),
            "current": self.current.summary(),
            "thresholds": asdict(self.thresholds),
            "checks": [c.to_dict() for c in self.checks],
        }


def _predictor_for(model: str | None, reference: str):
    from sentiq.inference import Predictor

    if model is None and Path(reference, "sentiq.json").is_file():
        model = reference  # a model directory as reference predicts its own training texts
    return (Predictor.load(model), model) if model else (None, None)


def _label_check(ref: Sample, cur: Sample, thresholds: Thresholds) -> Check:
    name = "predicted-label mix"
    if ref.labels is None or cur.labels is None:
        return skipped(name, "chi-square", "needs labels or predictions on both sides (pass --model)")
    check = categorical_check(name, ref.labels, cur.labels, thresholds)
    check.note = (
        f"{ref.label_basis} labels on both sides"
        if ref.label_basis == cur.label_basis
        else f"reference: {ref.label_basis} labels, current: {cur.label_basis} labels"
    )
    return check


def run_checks(
    ref: Sample,
    cur: Sample,
    thresholds: Thresholds,
    *,
    embeddings: bool = True,
    encoder: str = "minilm",
    embedding_texts: int = 500,
    seed: int = 42,
    progress: Callable | None = None,
) -> list[Check]:
    checks = [
        numeric_check("text length (chars)", ref.lengths, cur.lengths, thresholds),
        categorical_check("language mix", ref.languages, cur.languages, thresholds),
        _label_check(ref, cur, thresholds),
    ]
    if ref.scores is not None and cur.scores is not None:
        checks.append(numeric_check("confidence", ref.scores, cur.scores, thresholds))
    else:
        checks.append(skipped("confidence", "KS", "needs predictions on both sides (pass --model)"))
    if not (ref.texts and cur.texts):
        reason = "needs texts on both sides (turn on raw-text logging in the service)"
        checks += [skipped("out-of-vocabulary rate", "KS", reason)]
        if embeddings:
            checks.append(skipped("embeddings", "classifier AUC", reason))
        return checks
    checks.append(oov_check(ref.texts, cur.texts, thresholds, seed=seed))
    if embeddings:
        from sentiq.monitoring.embedding_drift import embedding_check

        checks.append(
            embedding_check(
                ref.texts,
                cur.texts,
                thresholds,
                encoder=encoder,
                max_texts=embedding_texts,
                seed=seed,
                progress=progress,
            )
        )
    return checks


def monitor(
    reference: str,
    current: str,
    *,
    model: str | None = None,
    output_dir: str | Path | None = None,
    max_texts: int = 2000,
    embeddings: bool = True,
    encoder: str = "minilm",
    embedding_texts: int = 500,
    thresholds: Thresholds | None = None,
    seed: int = 42,
    text_column: str = "text",
    label_column: str = "label",
    progress: Callable | None = None,
) -> DriftResult:
    """Compare ``current`` (texts file, data file or request log) with ``reference`` (dataset name, data
    file, model directory or an earlier log); write ``drift.json`` and ``drift.html`` to ``output_dir``."""
    thresholds = thresholds or Thresholds()
    ref = load_sample(reference, max_rows=max_texts, seed=seed, text_column=text_column, label_column=label_column)
    cur = load_sample(current, max_rows=max_texts, seed=seed + 1, text_column=text_column, label_column=label_column)
    predictor, model = _predictor_for(model, reference)
    if predictor is not None:
        for side in (ref, cur):
            add_predictions(side, predictor.predict_proba, predictor.labels, progress)
    checks = run_checks(
        ref,
        cur,
        thresholds,
        embeddings=embeddings,
        encoder=encoder,
        embedding_texts=embedding_texts,
        seed=seed,
        progress=progress,
    )
    result = DriftResult(ref, cur, checks, thresholds, model=model)
    for check in checks:
        if check.status not in (SKIPPED, "ok"):
            log.warning("%s: %s (p=%.3g)", check.name, check.status, check.p_value)
    if output_dir is not None:
        from sentiq.monitoring.report import write_drift_report

        write_drift_report(Path(output_dir), result)
    return result
