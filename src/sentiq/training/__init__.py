"""Trainers by approach. A model type trains itself with ``fit`` unless it needs a loop
(fine-tuning), in which case its trainer lives here; callers only use :func:`fit_model`."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd

from sentiq.training.result import FitResult

__all__ = ["FitResult", "distill", "fit_model", "pretrain"]


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
    """Train ``model`` in place on preprocessed frames (``text``, ``label`` names); fine-tuning also takes a
    ``datasets.Dataset`` for ``train`` (out-of-core data)."""
    if model.capabilities.train == "loop":
        from sentiq.training.finetune import fine_tune

        return fine_tune(
            model,
            train,
            validation,
            config.training,
            seed=config.training_seed,
            work_dir=work_dir,
            resume=resume,
            progress=progress,
            num_proc=config.data.num_proc,
        )
    return model.fit(train, validation) or FitResult()


def pretrain(config, output_dir, **kwargs):
    """Domain-adaptive pre-training; see :func:`sentiq.training.dapt.pretrain`."""
    from sentiq.training.dapt import pretrain as run

    return run(config, output_dir, **kwargs)


def distill(teacher_dir, output_dir, **kwargs):
    """Knowledge distillation into a smaller student; see :func:`sentiq.training.distillation.distill`."""
    from sentiq.training.distillation import distill as run

    return run(teacher_dir, output_dir, **kwargs)
