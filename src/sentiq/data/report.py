"""What a user should know about their data before training on it."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

from sentiq.data.sources import LoadedData
from sentiq.data.splits import Splits

log = logging.getLogger(__name__)


@dataclass
class DataReport:
    source: str
    language: str
    labels: list[str]
    counts: dict[str, dict[str, int]]  # split -> label -> rows
    dropped_empty: int = 0
    dropped_missing_label: int = 0
    duplicates: dict[str, int] = field(default_factory=dict)  # split -> rows repeating an earlier text
    overlap: dict[str, int] = field(default_factory=dict)  # "train/test" -> distinct texts in both
    warnings: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # raw label mapped to "skip" -> rows left out
    headerless: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def _counts(frames: dict) -> dict[str, dict[str, int]]:
    return {
        split: {str(k): int(v) for k, v in frame["label"].value_counts().sort_index().items()}
        for split, frame in frames.items()
    }


def build_report(loaded: LoadedData, splits: Splits | None = None) -> DataReport:
    """Counts per class, dropped rows, exact duplicates and train/eval overlap."""
    frames = dict(splits.items()) if splits is not None else loaded.frames
    labels = sorted({label for frame in frames.values() for label in frame["label"].unique()})
    report = DataReport(
        source=loaded.source,
        language=loaded.language,
        labels=labels,
        counts=_counts(frames),
        dropped_empty=loaded.dropped_empty,
        dropped_missing_label=loaded.dropped_missing_label,
        skipped=dict(loaded.skipped),
        headerless=loaded.headerless,
    )
    for split, frame in frames.items():
        report.duplicates[split] = int(frame["text"].duplicated().sum())
    train_texts = set(frames["train"]["text"])
    for split, frame in frames.items():
        if split != "train":
            report.overlap[f"train/{split}"] = len(train_texts & set(frame["text"]))
    return add_warnings(report)


def add_warnings(report: DataReport) -> DataReport:
    """The report's warnings (overlapping splits, imbalance), from its counts and overlaps."""
    for pair, n in report.overlap.items():
        if n:
            report.warnings.append(
                f"{n} texts appear in both {pair.replace('/', ' and ')}: scores there are optimistic"
            )
    for split, counts in report.counts.items():
        if counts and min(counts.values()) / max(counts.values()) < 0.2:
            report.warnings.append(f"{split} is imbalanced {counts}: consider training.class_weights=balanced")
    for warning in report.warnings:  # returned to the caller, who shows them (the CLI once, not twice)
        log.info(warning)
    return report
