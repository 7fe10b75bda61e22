"""``data inspect``: a dataset loaded and split the way training would, and its report."""

from __future__ import annotations

from sentiq.config import SentiqConfig, build_config
from sentiq.data import DataReport, build_report, load_splits


def inspect_data(source: str, *, config: SentiqConfig | None = None, **columns) -> DataReport:
    """Load and split a dataset the way training would, and report on it."""
    cfg = config or build_config({"data": {"source": source, **{k: v for k, v in columns.items() if v is not None}}})
    loaded, splits = load_splits(cfg)
    return build_report(loaded, splits)
