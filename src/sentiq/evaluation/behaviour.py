"""Behavioural test sets: hand-written sentences with the label a model must give them.

A file is a CSV with the columns ``text`` and ``expected`` (a label name), e.g. the 26
sentences the Weibo write-up checked its model with (``data/behaviour/weibo_seed.csv``).
Unlike a metric, every sentence is a test: the result lists which pass and which fail.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sentiq.errors import DataError


@dataclass(frozen=True)
class BehaviourCase:
    text: str
    expected: str
    predicted: str
    confidence: float

    @property
    def passed(self) -> bool:
        return self.predicted == self.expected

    def to_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def read_behaviour_file(path: str | Path) -> pd.DataFrame:
    """The ``text, expected`` rows of a behaviour file, validated."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"behaviour file {path} does not exist")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"behaviour file {path} cannot be read as UTF-8 CSV: {str(exc).splitlines()[0]}") from None
    missing = {"text", "expected"} - set(frame.columns)
    if missing:
        raise DataError(f"behaviour file {path} needs the columns text,expected; missing {sorted(missing)}")
    frame = frame[["text", "expected"]].apply(lambda col: col.str.strip())
    empty = frame.index[(frame["text"] == "") | (frame["expected"] == "")].tolist()
    if empty:
        raise DataError(f"behaviour file {path}: row(s) {[i + 2 for i in empty]} have an empty text or expected label")
    if frame.empty:
        raise DataError(f"behaviour file {path} has no rows")
    return frame


def check_behaviour(frame: pd.DataFrame, proba: np.ndarray, labels: list[str]) -> list[BehaviourCase]:
    """One case per row: the predicted label against the expected one."""
    unknown = sorted(set(frame["expected"]) - set(labels))
    if unknown:
        raise DataError(f"the behaviour file expects labels {unknown} that the model does not have ({labels})")
    best = proba.argmax(axis=1)
    return [BehaviourCase(text, expected, labels[int(i)], float(row[i]))
            for text, expected, i, row in zip(frame["text"], frame["expected"], best, proba)]
