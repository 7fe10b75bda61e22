"""Data loading, splitting and reporting; pandas only, no torch."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from sentiq.config import DataConfig
from sentiq.data.files import read_table, read_text_table, read_texts, text_positions
from sentiq.data.fingerprint import locate_training_data
from sentiq.data.report import DataReport, build_report
from sentiq.data.sources import BUILTINS, LoadedData, UnlabeledTexts, data_dir, load_data, load_unlabeled
from sentiq.data.splits import Splits, make_splits, stratified_split, subsample
from sentiq.errors import ConfigError, Errors, UnknownLabelError

__all__ = [
    "BUILTINS",
    "DataReport",
    "LoadedData",
    "Splits",
    "build_report",
    "data_dir",
    "load_data",
    "load_unlabeled",
    "UnlabeledTexts",
    "make_splits",
    "stratified_split",
    "subsample",
    "load_from",
    "load_splits",
    "split_from",
    "evaluation_frame",
    "evaluation_data",
    "default_split",
    "is_training_data",
    "read_table",
    "read_text_table",
    "read_texts",
    "text_positions",
    "training_columns",
]

log = logging.getLogger(__name__)


def load_from(d, *, keep_columns=(), fallback_columns=(None, None)) -> LoadedData:
    """Load what a data config (``SentiqConfig.data``) points at (plus ``keep_columns`` where present)."""
    return load_data(
        d.source,
        test_source=d.test_source,
        text_column=d.text_column,
        label_column=d.label_column,
        label_map=d.label_map,
        encoding=d.encoding,
        header=d.header,
        allow_hub=d.allow_hub,
        keep_columns=tuple(keep_columns),
        fallback_columns=fallback_columns,
    )


def split_from(loaded: LoadedData, d, seed: int) -> Splits:
    """Split loaded data the way a data config says, with ``seed``."""
    return make_splits(
        loaded.frames,
        validation_size=d.validation_size,
        test_size=d.test_size,
        seed=seed,
        max_train_samples=d.max_train_samples,
        max_eval_samples=d.max_eval_samples,
    )


def load_splits(config) -> tuple[LoadedData, Splits]:
    """Load ``config.data`` and split it with ``config.seed`` (config: a SentiqConfig); with ``data.domains``
    every domain is split on its own and training is balanced by domain (:mod:`sentiq.data.domains`)."""
    if config.data.domains:
        from sentiq.data.domains import load_domain_splits

        return load_domain_splits(config.data, config.seed, keep_columns=config.evaluation.slice_columns)
    loaded = load_from(config.data, keep_columns=config.evaluation.slice_columns)
    return loaded, split_from(loaded, config.data, config.seed)


def is_training_data(manifest, data: str | None) -> bool:
    """Whether ``data`` (None: the training data) is the source the model was trained on: as recorded, or
    the same file by its recorded absolute path (sentiq.data.fingerprint)."""
    if data is None or data == manifest.config.get("data", {}).get("source"):
        return True
    recorded = (getattr(manifest, "data_files", None) or {}).get("source")
    return bool(recorded) and Path(data).expanduser().resolve() == Path(recorded["path"])


def default_split(manifest, data: str | None) -> str:
    """``test`` (the very test split of training) for the training data; ``all`` for any other data."""
    return "test" if is_training_data(manifest, data) else "all"


def evaluation_data(manifest, data: str | None, split: str, *, keep_columns=(), **columns):
    """The rows to evaluate on and the :class:`LoadedData` they come from: the training data's split when
    ``data`` is omitted or the same source, re-split with the training seed so ``test`` is the very test
    split of training; a split of another file is cut with the same seed and sizes.

    ``manifest`` is a model's :class:`~sentiq.models.Manifest` (only its recorded ``config`` is read)."""
    trained = manifest.config.get("data", {})
    seed = manifest.config.get("seed", 42)
    given = {k: v for k, v in columns.items() if v is not None}
    own_data = is_training_data(manifest, data) and bool(trained)
    if own_data:
        # from any folder, and only if unchanged (sentiq.data.fingerprint)
        trained = locate_training_data(trained, getattr(manifest, "data_files", None) or {})
        base = DataConfig.model_validate({**trained, **given})
    else:
        if data is None:
            raise ConfigError(Errors.E117)
        base = DataConfig(source=data, **given)
    if own_data and base.domains:  # a general model: its very splits, domain by domain
        return _domain_split(base, seed, split, keep_columns)
    columns = training_columns(trained)
    # The training data is read with its own config (its map included); another file may borrow the map.
    borrow = not own_data and "label_map" not in given
    loaded = _load_with_recorded_map(base, trained, keep_columns, columns) if borrow else None
    loaded = loaded or load_from(base, keep_columns=keep_columns, fallback_columns=columns)
    if split == "all":
        return pd.concat(list(loaded.frames.values()), ignore_index=True), loaded
    _check_split(base, split)
    return dict(split_from(loaded, base, seed).items())[split], loaded


def _check_split(base, split: str) -> None:
    if split not in {"train", "validation", "test"}:
        raise ConfigError(Errors.E118, split=split)
    if base.validation_size == 0 and split == "validation":
        raise ConfigError(Errors.E119)


def _domain_split(base, seed: int, split: str, keep_columns):
    from sentiq.data.domains import load_domain_splits

    loaded, splits = load_domain_splits(base, seed, keep_columns=keep_columns)
    if split == "all":
        return loaded.frames["train"], loaded
    _check_split(base, split)
    return dict(splits.items())[split], loaded


def training_columns(trained: dict) -> tuple[str | None, str | None]:
    """The text and label columns a model was trained with (its data config's, or its built-in dataset's)."""
    spec = BUILTINS.get(str(trained.get("source", "")).lower())
    return (
        trained.get("text_column") or getattr(spec, "text_column", None),
        trained.get("label_column") or getattr(spec, "label_column", None),
    )


def _load_with_recorded_map(base, trained: dict, keep_columns, columns) -> LoadedData | None:
    """Another file scored without a label map is read with the map the model was trained with (its
    config's, or its built-in dataset's), when every raw label of the file is in it: a ChnSentiCorp
    model scores a 0/1 file without ``--label-map``. None when there is no such map or it does not fit."""
    recorded = trained.get("label_map") or getattr(
        BUILTINS.get(str(trained.get("source", "")).lower()), "label_map", None
    )
    if not recorded or base.label_map:
        return None
    try:
        loaded = load_from(
            base.model_copy(update={"label_map": dict(recorded)}), keep_columns=keep_columns, fallback_columns=columns
        )
    except UnknownLabelError:
        return None
    log.info("read %s with the model's training label map %s", base.source, dict(recorded))
    loaded.recorded_label_map = dict(recorded)
    return loaded


def evaluation_frame(manifest, data: str | None, split: str, *, keep_columns=(), **columns) -> tuple[pd.DataFrame, str]:
    """:func:`evaluation_data`'s rows and their language."""
    frame, loaded = evaluation_data(manifest, data, split, keep_columns=keep_columns, **columns)
    return frame, loaded.language
