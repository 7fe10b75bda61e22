"""Trainers by approach. A model type trains itself with ``fit`` unless it needs a loop
(fine-tuning), in which case its trainer lives here; callers only use :func:`fit_model`."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd

from sentiq.training.result import FitResult

__all__ = ["FitResult", "fit_model"]


def fit_model(
    model,
    train: pd.DataFrame,
    validation: pd.DataFrame,
    config,
    *,
    work_dir: Path,
    resume: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> FitResult:
    """Train ``model`` in place on preprocessed frames (``text``, ``label`` names)."""
    if model.approach == "finetune":
        from sentiq.training.finetune import fine_tune

        return fine_tune(model, train, validation, config.training, seed=config.seed, work_dir=work_dir,
                         resume=resume, progress=progress)
    return model.fit(train, validation) or FitResult()
