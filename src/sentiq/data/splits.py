"""Shuffled, stratified, seeded splits; an official test split is kept as it is."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from sentiq.errors import DataError, Errors, SingleClassError

log = logging.getLogger(__name__)


@dataclass
class Splits:
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame

    def items(self):
        return (("train", self.train), ("validation", self.validation), ("test", self.test))


def _stratify_labels(labels: np.ndarray) -> np.ndarray | None:
    # scikit-learn needs two members per class to stratify; tiny sets fall back to plain shuffling.
    _, counts = np.unique(labels, return_counts=True)
    if counts.min() < 2:
        log.warning("a class has fewer than 2 examples; splitting without stratification")
        return None
    return labels


def stratified_positions(labels: np.ndarray, size: float | int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the rows kept and of the ``size`` (fraction or count) split off, stratified by ``labels``,
    shuffled with ``seed``: what :func:`stratified_split` takes from a frame, for data that stay on disk."""
    labels = np.asarray(labels)
    return train_test_split(
        np.arange(len(labels)), test_size=size, random_state=seed, shuffle=True, stratify=_stratify_labels(labels)
    )


def stratified_split(frame: pd.DataFrame, size: float | int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split off ``size`` (fraction or count) of ``frame``, stratified by label, shuffled with ``seed``."""
    rest, held = stratified_positions(frame["label"].to_numpy(), size, seed)
    return _take(frame, rest), _take(frame, held)


def _take(frame: pd.DataFrame, positions: np.ndarray) -> pd.DataFrame:
    return frame.iloc[positions].reset_index(drop=True)


def _subsample_positions(labels: np.ndarray, positions: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    if n is None or len(positions) <= n:
        return positions
    _, held = stratified_positions(labels[positions], n, seed)
    return positions[held]


def subsample(frame: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    """A stratified subsample of ``n`` rows (the frame itself when it is not larger)."""
    if n is None or len(frame) <= n:
        return frame
    return _take(frame, _subsample_positions(frame["label"].to_numpy(), np.arange(len(frame)), n, seed))


def split_positions(
    labels: np.ndarray,
    *,
    test_labels: np.ndarray | None = None,
    validation_size: float,
    test_size: float,
    seed: int,
    max_train_samples: int | None = None,
    max_eval_samples: int | None = None,
) -> dict[str, np.ndarray]:
    """Positions of the train, validation and test rows: into ``labels`` (the source), test into
    ``test_labels`` when the source has an official test split. The one place splits are decided, for
    frames (:func:`make_splits`) and for data that stay on disk (:mod:`sentiq.data.arrow`)."""
    labels = np.asarray(labels)
    if test_labels is not None:
        rest, test, test_of = np.arange(len(labels)), np.arange(len(test_labels)), np.asarray(test_labels)
    else:
        rest, test = stratified_positions(labels, test_size, seed)
        test_of = labels
    if validation_size:
        kept, held = stratified_positions(labels[rest], validation_size, seed)
        train, validation = rest[kept], rest[held]
    else:  # train on every non-test row: no early stopping, no calibration (the caller warns)
        train = rest[pd.Series(np.arange(len(rest))).sample(frac=1.0, random_state=seed).to_numpy()]
        validation = rest[:0]
    return {
        "train": _subsample_positions(labels, train, max_train_samples, seed),
        "validation": _subsample_positions(labels, validation, max_eval_samples, seed),
        "test": _subsample_positions(test_of, test, max_eval_samples, seed),
    }


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
    source = frames["train"]
    check_classes(source, "the data")
    check_enough_rows(source, "the data", sizes=([] if "test" in frames else [test_size]) + [validation_size])
    official = frames.get("test")
    positions = split_positions(
        source["label"].to_numpy(),
        test_labels=None if official is None else official["label"].to_numpy(),
        validation_size=validation_size,
        test_size=test_size,
        seed=seed,
        max_train_samples=max_train_samples,
        max_eval_samples=max_eval_samples,
    )
    train = _take(source, positions["train"])
    check_classes(train, "the training split")
    test = _take(source if official is None else official, positions["test"])
    return Splits(train, _take(source, positions["validation"]), test)


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
        raise DataError(
            Errors.E288,
            what=what,
            n=n,
            needed=needed,
            classes=classes,
            held_out=" then ".join(f"{s:g}" for s in sizes if s) or "nothing",
        )


def check_classes(frame: pd.DataFrame, what: str, *, require_two: bool = True) -> None:
    if frame.empty:
        raise DataError(Errors.E289, what=what)
    if not require_two:
        return
    labels = sorted(frame["label"].unique())
    if len(labels) < 2:
        found = labels[0] if labels else "nothing"
        raise SingleClassError(Errors.E202, what=what, found=found, n_rows=len(frame))
