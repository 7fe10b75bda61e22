"""Data loading, splitting and reporting; pandas only, no torch."""

from sentiq.data.report import DataReport, build_report
from sentiq.data.sources import BUILTINS, LoadedData, UnlabeledTexts, data_dir, load_data, load_unlabeled
from sentiq.data.splits import Splits, make_splits, stratified_split, subsample

__all__ = ["BUILTINS", "DataReport", "LoadedData", "Splits", "build_report", "data_dir", "load_data", "load_unlabeled", "UnlabeledTexts",
           "make_splits", "stratified_split", "subsample", "load_from", "load_splits", "split_from"]


def load_from(d, *, keep_columns=()) -> LoadedData:
    """Load what a data config (``SentiqConfig.data``) points at (plus ``keep_columns`` where present)."""
    return load_data(d.source, test_source=d.test_source, text_column=d.text_column, label_column=d.label_column,
                     label_map=d.label_map, encoding=d.encoding, header=d.header, allow_hub=d.allow_hub, keep_columns=tuple(keep_columns))


def split_from(loaded: LoadedData, d, seed: int) -> Splits:
    """Split loaded data the way a data config says, with ``seed``."""
    return make_splits(loaded.frames, validation_size=d.validation_size, test_size=d.test_size, seed=seed,
                       max_train_samples=d.max_train_samples, max_eval_samples=d.max_eval_samples)


def load_splits(config) -> tuple[LoadedData, Splits]:
    """Load ``config.data`` and split it with ``config.seed`` (config: a SentiqConfig)."""
    loaded = load_from(config.data, keep_columns=config.evaluation.slice_columns)
    return loaded, split_from(loaded, config.data, config.seed)
