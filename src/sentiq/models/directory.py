"""The one writer of model directories (train, distill, route, export).

A model directory holds the model's own files, ``sentiq.json`` (the manifest: everything
loading needs) and ``README.md`` (a model card with Hugging Face front matter), plus
whatever the command adds (a report, the config, a summary). It appears at its path only
when everything succeeded (written in a temporary sibling, then renamed); long runs keep
their checkpoints in ``<output>.partial`` (:func:`work_dir_for`) so a crash can resume.
Every directory is sealed (:func:`sentiq.models.integrity.seal`: file sizes and checksums,
and the model's smoke-text probabilities) so that loading can verify it (E310).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

from sentiq.atomic import atomic_directory, atomic_write_text
from sentiq.errors import ConfigError, Errors
from sentiq.models.base import SentimentModel
from sentiq.models.card import write_model_card
from sentiq.models.integrity import seal
from sentiq.models.manifest import Manifest

# The metrics a manifest (and its model card) carries from the test report.
HEADLINE_METRICS = ("accuracy", "macro_f1", "weighted_f1", "roc_auc", "log_loss", "ece")


def work_dir_for(output_dir: str | Path) -> Path:
    """Checkpoints live beside the output until the run completes (so a crash can resume)."""
    output_dir = Path(output_dir)
    return output_dir.with_name(output_dir.name + ".partial")


def check_output(output_dir: str | Path, *, overwrite: bool) -> Path:
    """``output_dir`` as a Path; a ConfigError before any work when it exists and ``overwrite`` is off."""
    output_dir = Path(output_dir)
    if output_dir.exists() and not overwrite:
        raise ConfigError(Errors.E140, output_dir=output_dir)
    return output_dir


def manifest_for(model: SentimentModel, **fields: Any) -> Manifest:
    """A manifest for ``model``: its approach and labels, the fields its loader needs, then ``fields``."""
    return Manifest(**{"approach": model.approach, "labels": list(model.labels), **model.manifest_fields(), **fields})


def headline(metrics: dict) -> dict:
    return {name: metrics[name] for name in HEADLINE_METRICS if name in metrics}


def write_model_directory(
    output_dir: str | Path,
    *,
    manifest: Manifest,
    save: Callable[[Path], None],
    overwrite: bool = False,
    report: Callable[[Path], dict] | None = None,
    files: dict[str, str] | None = None,
    after: Callable[[Path], None] | None = None,
    keep_work_dir: bool = False,
    model: SentimentModel | Callable[[], SentimentModel] | None = None,
) -> Manifest:
    """Write a complete model directory at ``output_dir`` atomically; returns the manifest written.

    ``save(tmp)`` writes the model's files; the manifest is saved next so that ``report(tmp)``
    may load the directory; ``report`` writes the report (or checks the directory) and returns
    metrics, whose headline (:data:`HEADLINE_METRICS`) joins ``manifest.metrics``. ``files`` are
    written as given (name -> text), then the manifest and the model card; ``after(tmp)`` runs
    last, on the finished directory (timing it, say). The work dir (``<output>.partial``) is
    removed unless ``keep_work_dir``.

    Before the model card the directory is sealed: its files' sizes and checksums go into the
    manifest, with the smoke-text probabilities of ``model`` (the model written, or a callable
    returning it once ``report`` ran, e.g. the export loaded back); without ``model`` only files.
    """
    output_dir = check_output(output_dir, overwrite=overwrite)
    with atomic_directory(output_dir, overwrite=overwrite) as tmp:
        save(tmp)
        manifest.save(tmp)
        if report is not None:
            manifest.metrics = {**manifest.metrics, **headline(report(tmp))}
        for name, text in (files or {}).items():
            atomic_write_text(tmp / name, text)
        seal(tmp, manifest, model() if callable(model) and not isinstance(model, SentimentModel) else model)
        write_model_card(tmp, manifest)
        if after is not None:
            after(tmp)
    if not keep_work_dir:
        shutil.rmtree(work_dir_for(output_dir), ignore_errors=True)
    return manifest
