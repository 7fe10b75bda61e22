"""The trust sections of a report (slices, fairness, important words) for a predictor on a frame.

``predictor`` is anything with ``predict_proba(texts)``, ``labels`` and ``manifest.language``
(a :class:`~sentiq.inference.Predictor`); important words import :mod:`sentiq.explanations` lazily. It sits
here, below the workflows, because ``train`` and ``distill`` (in :mod:`sentiq.training`) and
``evaluate`` all write these sections.
"""

from __future__ import annotations

import logging
from typing import Callable

import pandas as pd

from sentiq.errors import ConfigError

log = logging.getLogger(__name__)


def trust_sections(
    predictor,
    frame: pd.DataFrame,
    y_true,
    proba,
    settings,
    *,
    length_unit: str = "words",
    fairness: bool | None = None,
    important: bool | None = None,
    labels: list[str] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict:
    """Slices, fairness check and important words for a report on ``frame`` (raw texts, in row order).

    ``settings`` is an :class:`~sentiq.config.EvaluationConfig`; ``fairness``/``important``
    override its switches. A part that cannot run here (no templates for the language) is
    left out with a log line, never failing the report.
    """
    from sentiq.evaluation.fairness import template_fairness_check
    from sentiq.evaluation.slices import slice_masks, slice_metrics

    texts = frame["text"].tolist()
    missing = [c for c in settings.slice_columns if c not in frame.columns]
    if missing:
        log.warning("slice columns %s are not in the data; those slices are left out", missing)
    masks = slice_masks(
        texts,
        length_unit=length_unit,
        regexes=settings.slices,
        columns={c: frame[c].tolist() for c in settings.slice_columns if c in frame.columns},
    )
    out: dict = {"slices": slice_metrics(masks, y_true, proba, labels or predictor.labels)}
    if settings.fairness if fairness is None else fairness:
        try:
            out["fairness"] = template_fairness_check(
                predictor.predict_proba,
                predictor.labels,
                templates=settings.fairness_templates,
                language=predictor.manifest.language,
            )
        except ConfigError as exc:
            log.info("fairness check skipped: %s", exc)
    n_words = settings.important_words if important is None else (settings.important_words or 40) * bool(important)
    if n_words:
        from sentiq.explanations import important_words

        out["important_words"] = important_words(predictor, texts, sample=n_words, progress=progress)
    return out
