"""What drift checks compare: one side (reference or current) reduced to texts and fields.

A side comes from a built-in dataset, a data or text file, a model directory (its training
data, predicted by that model) or the service's request log (JSON lines, one object per
predicted text). A log carries lengths, languages, labels and scores even when raw texts
are not logged, so checks that need texts run only where texts are present.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from sentiq.data import BUILTINS, evaluation_frame, load_data
from sentiq.data.files import TABLE_SUFFIXES, TEXT_SUFFIXES, read_text_table, read_texts
from sentiq.errors import ConfigError, DataError, Errors, SentiqError
from sentiq.models import Manifest
from sentiq.preprocess.language import detect_language

log = logging.getLogger(__name__)

# The request log's fields (written by the service): time, model, request_id, length (chars),
# language, label, score, latency_ms, and text only when raw-text logging is on.
LOG_FIELDS = frozenset({"request_id", "length", "language", "label", "score"})


@dataclass
class Sample:
    """One side of a drift comparison; arrays are aligned row by row."""

    source: str
    kind: str  # dataset, model, texts, request log
    lengths: np.ndarray  # characters per text
    languages: list[str]
    texts: list[str] | None = None
    labels: list[str] | None = None
    scores: np.ndarray | None = None  # confidence of the predicted label
    label_basis: str | None = None  # "predicted" or "true"
    skipped_lines: int = 0
    total_rows: int = 0  # rows before sampling

    def __len__(self) -> int:
        return len(self.lengths)

    def summary(self) -> dict:
        return {
            "source": self.source,
            "kind": self.kind,
            "rows": len(self),
            "rows_before_sampling": self.total_rows,
            "texts": self.texts is not None,
            "labels": self.label_basis,
            "skipped_lines": self.skipped_lines,
        }


def _pick(n: int, max_rows: int | None, seed: int) -> np.ndarray:
    """A seeded random subset, kept in order (data files are often sorted by label)."""
    if max_rows is None or n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_rows, replace=False))


def from_texts(
    texts: list[str],
    *,
    source: str,
    kind: str,
    labels: list[str] | None = None,
    max_rows: int | None = None,
    seed: int = 0,
) -> Sample:
    total = len(texts)
    keep = _pick(total, max_rows, seed)
    texts = [texts[i] for i in keep]
    return Sample(
        source,
        kind,
        np.array([len(t) for t in texts], dtype=float),
        [detect_language(t) for t in texts],
        texts=texts,
        labels=[labels[i] for i in keep] if labels is not None else None,
        label_basis="true" if labels is not None else None,
        total_rows=total,
    )


def is_request_log(path: Path) -> bool:
    if path.suffix.lower() not in {".jsonl", ".json", ".log"}:
        return False
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                try:
                    first = json.loads(line)
                except json.JSONDecodeError:
                    return path.suffix.lower() == ".log"
                return isinstance(first, dict) and LOG_FIELDS <= first.keys()
    return False


def request_log_parts(source: str) -> list[Path]:
    """The files of a request log written by several service workers, one per worker: ``requests.jsonl``
    stands for itself and its ``requests.<pid>.jsonl`` parts, ``requests.{pid}.jsonl`` or a ``*`` pattern
    for the files it matches. Sorted by name; empty when ``source`` names no such log."""
    path = Path(source)
    if "{pid}" in path.name or "*" in path.name:
        pattern = path.name.replace("{pid}", "*")
        candidates = sorted(path.parent.glob(pattern))
    else:
        parts = (
            [
                p
                for p in sorted(path.parent.glob(f"{path.stem}.*{path.suffix}"))
                if p.name[len(path.stem) + 1 : len(p.name) - len(path.suffix)].isdigit()
            ]
            if path.suffix
            else []
        )
        if not parts:
            return []
        candidates = ([path] if path.is_file() else []) + parts
    return [p for p in candidates if p.is_file() and is_request_log(p)]


def read_request_log(
    path: Path | list[Path], *, max_rows: int | None = None, seed: int = 0, source: str | None = None
) -> Sample:
    """Parse the service's JSON-lines log (one file, or the per-worker files of one log read as one); lines
    that are not complete records are counted and skipped (a log cut off mid-write ends with a partial line)."""
    paths = [path] if isinstance(path, Path) else list(path)
    records, skipped, unscored = [], 0, 0
    for part in paths:
        try:
            with part.open(encoding="utf-8") as handle:
                for line in handle:
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                        if row.get("label", "") is None:  # a text the service did not score (its note says why)
                            unscored += 1
                            continue
                        records.append(
                            (
                                int(row["length"]),
                                str(row["language"]),
                                str(row["label"]),
                                float(row["score"]),
                                row.get("text"),
                            )
                        )
                    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                        skipped += 1
        except UnicodeDecodeError as exc:
            raise DataError(Errors.E249, part=part, byte=exc.start) from None
    source = source or str(paths[0])
    if skipped:
        log.warning("skipped %d malformed lines of %s", skipped, source)
    if unscored:
        log.info("%s: %d texts were not scored by the service (label null); left out", source, unscored)
    if not records:
        raise DataError(Errors.E250, source=source, log_fields=sorted(LOG_FIELDS))
    if len(paths) > 1:
        log.info("request log %s: %d records from %d files", source, len(records), len(paths))
    keep = _pick(len(records), max_rows, seed)
    rows = [records[i] for i in keep]
    texts = [r[4] for r in rows if isinstance(r[4], str) and r[4].strip()]
    return Sample(
        source,
        "request log",
        np.array([r[0] for r in rows], dtype=float),
        [r[1] for r in rows],
        texts=texts or None,
        labels=[r[2] for r in rows],
        scores=np.array([r[3] for r in rows]),
        label_basis="predicted",
        skipped_lines=skipped,
        total_rows=len(records),
    )


def _read_text_file(path: Path, text_column: str, label_column: str) -> tuple[list[str], list[str] | None]:
    if path.suffix.lower() in TEXT_SUFFIXES:
        return read_texts(path), None
    frame = read_text_table(path, text_column=text_column, column_hint="(pass --text-column)")
    labels = frame[label_column].astype(str).tolist() if label_column in frame.columns else None
    return frame[text_column].tolist(), labels


def _model_training_texts(model_dir: Path) -> tuple[list[str], list[str]]:
    manifest = Manifest.load(model_dir)
    try:
        frame, _ = evaluation_frame(manifest, None, "train")
    except ConfigError:
        raise DataError(Errors.E251, model_dir=model_dir) from None
    return frame["text"].tolist(), frame["label"].tolist()


def load_sample(
    source: str, *, max_rows: int | None = 2000, seed: int = 0, text_column: str = "text", label_column: str = "label"
) -> Sample:
    """Read one side: a model directory, a request log, a text/data file or a built-in dataset name."""
    path = Path(source)
    parts = request_log_parts(source)
    if parts:  # a log of several service workers, read as one
        return read_request_log(parts, max_rows=max_rows, seed=seed, source=source)
    if path.is_dir():
        if not (path / "sentiq.json").is_file():
            raise DataError(Errors.E252, path=path)
        texts, labels = _model_training_texts(path)
        return from_texts(texts, source=source, kind="model", labels=labels, max_rows=max_rows, seed=seed)
    if path.is_file():
        if is_request_log(path):
            return read_request_log(path, max_rows=max_rows, seed=seed)
        if path.suffix.lower() not in TABLE_SUFFIXES | TEXT_SUFFIXES:
            raise DataError(Errors.E253, path=path, suffixes=sorted(TABLE_SUFFIXES))
        texts, labels = _read_text_file(path, text_column, label_column)
        if not texts:
            raise DataError(Errors.E254, path=path)
        return from_texts(texts, source=source, kind="texts", labels=labels, max_rows=max_rows, seed=seed)
    if source.lower() in BUILTINS:
        frame = load_data(source).frames["train"]
        return from_texts(
            frame["text"].tolist(),
            source=source,
            kind="dataset",
            labels=frame["label"].tolist(),
            max_rows=max_rows,
            seed=seed,
        )
    raise DataError(Errors.E255, source=source, builtins=", ".join(BUILTINS))


def add_predictions(
    sample: Sample, predict_proba: Callable, labels: list[str], progress: Callable | None = None
) -> Sample:
    """Label and score the sample's texts with a model (replacing true labels: the model's view
    of the data is what live predictions are compared with)."""
    if not sample.texts or sample.label_basis == "predicted":  # a log keeps the predictions it recorded
        return sample
    try:
        proba = np.asarray(predict_proba(sample.texts, progress=progress))
    except SentiqError as exc:
        raise DataError(Errors.E256, source=sample.source, message=exc.message) from None
    sample.labels = [labels[i] for i in proba.argmax(axis=1)]
    sample.scores = proba.max(axis=1)
    sample.label_basis = "predicted"
    return sample
