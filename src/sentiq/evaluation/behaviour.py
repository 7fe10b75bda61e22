"""Behavioural test sets: hand-written sentences with the label a model must give them.

A file is a CSV with the columns ``text`` and ``expected`` (a label name) and, optionally,
``capability`` (the linguistic ability a sentence tests, CheckList-style: Ribeiro et al.
2020), e.g. the 26 sentences the Weibo write-up checked its model with
(``data/behaviour/weibo_seed.csv``). Unlike a metric, every sentence is a test: the result
lists which pass and which fail, and the pass rate per capability.

Built-in suites ship with sentiq and are named instead of a path (``--behaviour en``):
``en`` holds hand-written English sentences for negation, double negation, contrast,
intensifiers and downtoners, sarcasm, emoji and emoticons, typos and slang (expected labels
negative/positive). They were written before any model was scored on them and are never
used to choose or tune a model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sentiq.errors import DataError, Errors

SUITES_DIR = Path(__file__).parent / "behaviour_suites"


def builtin_suites() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("*.csv"))


def behaviour_source(name_or_path: str | Path) -> Path:
    """A behaviour file path, or the shipped suite a bare name (``en``) names."""
    path = Path(name_or_path)
    if not path.exists() and str(name_or_path) in builtin_suites():
        return SUITES_DIR / f"{name_or_path}.csv"
    return path


@dataclass(frozen=True)
class BehaviourCase:
    text: str
    expected: str
    predicted: str
    confidence: float
    capability: str = ""

    @property
    def passed(self) -> bool:
        return self.predicted == self.expected

    def to_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def read_behaviour_file(path: str | Path) -> pd.DataFrame:
    """The ``text, expected`` rows of a behaviour file, validated."""
    path = Path(path)
    if not path.is_file():
        raise DataError(Errors.E213, path=path, suites=", ".join(builtin_suites()))
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(Errors.E214, path=path, detail=str(exc).splitlines()[0]) from None
    missing = {"text", "expected"} - set(frame.columns)
    if missing:
        raise DataError(Errors.E215, path=path, missing=sorted(missing))
    if "capability" not in frame.columns:
        frame["capability"] = ""
    frame = frame[["text", "expected", "capability"]].apply(lambda col: col.str.strip())
    empty = frame.index[(frame["text"] == "") | (frame["expected"] == "")].tolist()
    if empty:
        raise DataError(Errors.E216, path=path, rows=[i + 2 for i in empty])
    if frame.empty:
        raise DataError(Errors.E217, path=path)
    return frame


def check_behaviour(frame: pd.DataFrame, proba: np.ndarray, labels: list[str]) -> list[BehaviourCase]:
    """One case per row: the predicted label against the expected one."""
    unknown = sorted(set(frame["expected"]) - set(labels))
    if unknown:
        raise DataError(Errors.E218, unknown=unknown, labels=labels)
    best = proba.argmax(axis=1)
    return [
        BehaviourCase(text, expected, labels[int(i)], float(row[i]), capability)
        for text, expected, i, row, capability in zip(
            frame["text"], frame["expected"], best, proba, frame["capability"]
        )
    ]


def capability_summary(cases: list[dict]) -> dict[str, dict]:
    """Per capability (in file order; ``""`` when the file has none) of ``BehaviourCase.to_dict()``
    rows: passed, total and pass rate."""
    summary: dict[str, dict] = {}
    for case in cases:
        row = summary.setdefault(case.get("capability", ""), {"passed": 0, "total": 0})
        row["passed"] += bool(case["passed"])
        row["total"] += 1
    for row in summary.values():
        row["pass_rate"] = row["passed"] / row["total"]
    return summary
