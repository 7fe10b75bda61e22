"""Shuffled, stratified, seeded splits; an official test split is kept as it is."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from sentiq.errors import DataError, SingleClassError

log = logging.getLogger(__name__)


@dataclass
class Splits:
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame

    def items(self):
        return (("train", self.train), ("validation", self.validation), ("test", self.test))


def _stratify_column(frame: pd.DataFrame) -> pd.Series | None:
    # scikit-learn needs two members per class to stratify; tiny sets fall back to plain shuffling.
    counts = frame["label"].value_counts()
    if counts.min() < 2:
        log.warning("a class has fewer than 2 examples; splitting without stratification")
        return None
    return frame["label"]


def stratified_split(frame: pd.DataFrame, size: float | int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split off ``size`` (fraction or count) of ``frame``, stratified by label, shuffled with ``seed``."""
    rest, held = train_test_split(frame, test_size=size, random_state=seed, shuffle=True,
                                  stratify=_stratify_column(frame))
    return rest.reset_index(drop=True), held.reset_index(drop=True)


def subsample(frame: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    """A stratified subsample of ``n`` rows (the frame itself when it is not larger)."""
    if n is None or len(frame) <= n:
        return frame
    _, sample = stratified_split(frame, n, seed)
    return sample


def make_splits(
    frames: dict[str, pd.DataFrame],
    *,
    validation_size: float,
    test_size: float,
    seed: int,
    max_train_samples: int | None = None,
    max_eval_samples: int | None = None,
) -> Splits:
    """Train/validation/test splits; refuses a training split with a single class."""
    train = frames["train"]
    check_classes(train, "the data")
    check_enough_rows(train, "the data", sizes=([] if "test" in frames else [test_size]) + [validation_size])
    if "test" in frames:
        test = frames["test"]
        check_classes(test, "the test data", require_two=False)
    else:
        train, test = stratified_split(train, test_size, seed)
    if validation_size:
        train, validation = stratified_split(train, validation_size, seed)
    else:  # train on every non-test row: no early stopping, no calibration (the caller warns)
        train, validation = train.sample(frac=1.0, random_state=seed).reset_index(drop=True), train.iloc[:0]
    train = subsample(train, max_train_samples, seed)
    validation = subsample(validation, max_eval_samples, seed)
    test = subsample(test, max_eval_samples, seed)
    check_classes(train, "the training split")
    return Splits(train, validation, test)


# Fewest labelled rows sentiq trains on: enough for a stratified validation (and test) split holding
# every class, and a training split left with two classes. Below it scikit-learn fails with a traceback.
MIN_TRAINING_ROWS = 10


def _rows_needed(classes: int, sizes: list[float]) -> int:
    """Fewest rows for which each stratified hold-out (scikit-learn takes ceil(size * n)) and what is left
    hold at least one row per class."""
    for n in range(MIN_TRAINING_ROWS, 100_000):
        rest, ok = n, True
        for size in sizes:
            if not size:  # no hold-out (data.validation_size: 0)
                continue
            held = int(np.ceil(size * rest)) if size < 1 else int(size)
            ok = ok and held >= classes and rest - held >= classes
            rest -= held
        if ok:
            return n
    return 100_000


def check_enough_rows(frame: pd.DataFrame, what: str, *, sizes: list[float]) -> None:
    n, classes = len(frame), frame["label"].nunique()
    needed = _rows_needed(classes, sizes)
    if n < needed:
        raise DataError(f"{what} holds {n} labelled rows; training needs at least {needed} here ({classes} classes, "
                        f"held out: {' then '.join(f'{s:g}' for s in sizes if s) or 'nothing'}, each hold-out holding every class). "
                        "Add rows, or give a separate data.test_source")


def check_classes(frame: pd.DataFrame, what: str, *, require_two: bool = True) -> None:
    if frame.empty:
        raise DataError(f"{what} holds no rows: the file is empty or holds only a header (rows with an empty "
                        "text or no label are dropped)")
    if not require_two:
        return
    labels = sorted(frame["label"].unique())
    if len(labels) < 2:
        found = labels[0] if labels else "nothing"
        raise SingleClassError(
            f"{what} holds a single class ({found!r}, {len(frame)} rows): a classifier needs at least two; "
            "check the label column and label map"
        )
