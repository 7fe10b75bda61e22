"""The template fairness check for a model directory, and the trust sections of a report (slices, fairness
check, important words), whose home is :mod:`sentiq.evaluation.trust` (``distill`` writes them too)."""

from __future__ import annotations

from pathlib import Path

from sentiq.evaluation.fairness import template_fairness_check
from sentiq.evaluation.trust import trust_sections
from sentiq.inference import Predictor


def fairness_check(model, *, templates: str | Path | dict | None = None, language: str | None = None) -> dict:
    """The template fairness check for a model directory or Predictor (see :mod:`sentiq.evaluation.fairness`)."""
    predictor = model if isinstance(model, Predictor) else Predictor.load(model)
    return template_fairness_check(
        predictor.predict_proba, predictor.labels, templates=templates, language=language or predictor.manifest.language
    )


__all__ = ["fairness_check", "trust_sections"]
