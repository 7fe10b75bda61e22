"""Training data that need not fit in memory: the training file is read by Hugging Face ``datasets`` into a
memory-mapped Arrow table on disk, cleaned and preprocessed in batches by worker processes (each step cached
on disk, keyed by its input and settings), and split by row positions, so that no text of the training split
is ever held in memory. The validation and test splits come back as frames (they are evaluated in memory).

Rows, labels, dropped rows and splits are exactly those of the in-memory path (:func:`sentiq.data.load_data`
and :func:`sentiq.data.make_splits`): the same cleaning rules, the same positions (:func:`split_positions`).
What grows with the corpus is a few bytes per row (row positions, label codes, text hashes for the report).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sentiq.config import DataConfig
from sentiq.data.files import HEADERLESS, TABLE_SUFFIXES, columns_hint, first_row_is_data, read_table, resolve_column
from sentiq.data.report import DataReport, add_warnings
from sentiq.data.sources import (
    BUILTINS,
    SKIP,
    _builtin_path,
    _normalise_raw_label,
    _sentiment140_layout,
    guess_language,
    to_labeled_frame,
)
from sentiq.data.splits import check_classes, split_positions
from sentiq.errors import DataError, Errors, UnknownLabelError

log = logging.getLogger(__name__)

AUTO_MIN_BYTES = 64 * 2**20  # data.out_of_core=auto: training files at least this large stay on disk
_KEEP, _EMPTY, _NO_LABEL, _SKIPPED, _UNKNOWN = range(5)  # row status after cleaning
_HEAD_ROWS = 200


def default_num_proc(num_proc: int | None) -> int:
    """``data.num_proc``, or every CPU (at most 8) when unset."""
    return num_proc or max(1, min(8, os.cpu_count() or 1))


def training_file(d: DataConfig) -> Path | None:
    """The training file a data config reads (a built-in's file on disk), or None when there is none."""
    spec = BUILTINS.get(d.source.lower())
    if spec is not None and not Path(d.source).exists():
        return _builtin_path(spec, "train")
    path = Path(d.source)
    return path if path.is_file() else None


def wants_out_of_core(d: DataConfig) -> bool:
    """``data.out_of_core`` resolved: ``auto`` means a training file of at least 64 MiB."""
    if d.out_of_core != "auto":
        return bool(d.out_of_core)
    path = training_file(d)
    return path is not None and path.stat().st_size >= AUTO_MIN_BYTES


@dataclass
class ArrowSplits:
    """``train``: a ``datasets.Dataset`` of ``text`` and ``label`` (names) on disk; validation and test frames."""

    train: object
    validation: pd.DataFrame
    test: pd.DataFrame
    labels: list[str]
    language: str
    default_preprocess: str
    report: DataReport


@dataclass
class _Source:
    path: Path
    text_column: str
    label_column: str
    label_map: dict[str, str] | None
    read: dict  # the builder's options (csv: sep, encoding, column names)
    head: pd.DataFrame
    language: str | None = None
    preprocess: str | None = None
    test_path: Path | None = None
    test_read: dict | None = None


def _head(path: Path, *, encoding: str, header: bool | None, options: dict) -> pd.DataFrame:
    """The first rows of a table file, read the way :func:`sentiq.data.read_table` reads the whole file."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return next(pq.ParquetFile(path).iter_batches(batch_size=_HEAD_ROWS)).to_pandas()
        if suffix == ".jsonl":
            with path.open(encoding=encoding, errors="strict") as handle:
                return pd.read_json(handle, lines=True, nrows=_HEAD_ROWS)
        if suffix == ".json":
            return read_table(path, encoding=encoding)
        return _csv_head(path, sep="\t" if suffix == ".tsv" else ",", encoding=encoding, header=header, options=options)
    except UnicodeDecodeError as exc:
        raise DataError(Errors.E262, path=path, enc=encoding, byte=exc.start) from None
    except (ValueError, OSError, StopIteration, pd.errors.ParserError) as exc:
        raise DataError(Errors.E263, path=path, detail=exc) from None


def _csv_head(path: Path, *, sep: str, encoding: str, header: bool | None, options: dict) -> pd.DataFrame:
    """The first rows as :func:`sentiq.data.files.read_table` reads a CSV: strings, the header row detected
    (:func:`first_row_is_data`), a headerless file's columns named "0", "1", ..."""
    read = dict(
        sep=sep,
        encoding=encoding,
        encoding_errors="strict",
        dtype=str,
        keep_default_na=False,
        nrows=_HEAD_ROWS + 1,
        **options,
    )
    if "names" in options:  # a built-in that knows its layout
        return pd.read_csv(path, **read).iloc[:_HEAD_ROWS]
    rows = pd.read_csv(path, header=None, **read)
    if header is None:
        header = rows.empty or not first_row_is_data(rows.iloc[0].tolist(), rows.iloc[1:])
    if header:
        head = rows.iloc[1:].reset_index(drop=True)
        head.columns = [str(c) for c in rows.iloc[0].tolist()]
        return head
    head = rows.iloc[:_HEAD_ROWS].copy()
    head.columns = [str(i) for i in range(head.shape[1])]
    head.attrs[HEADERLESS] = True
    return head


def _builder_options(path: Path, head: pd.DataFrame, *, encoding: str, options: dict) -> dict:
    """``load_dataset`` arguments reading ``path`` as :func:`read_table` does (CSV cells as strings, "" kept)."""
    from datasets import Features, Value

    suffix = path.suffix.lower()
    if suffix not in {".csv", ".tsv"}:
        return {"path": "parquet" if suffix == ".parquet" else "json"}
    names = [str(c) for c in head.columns]
    headerless = "names" in options or head.attrs.get(HEADERLESS)
    return {
        "path": "csv",
        "sep": "\t" if suffix == ".tsv" else ",",
        "encoding": encoding,
        "encoding_errors": "strict",
        "keep_default_na": False,
        "header": None if headerless else 0,
        "column_names": names,
        "features": Features({name: Value("string") for name in names}),
    }


def _resolve_source(d: DataConfig) -> _Source:
    spec = BUILTINS.get(d.source.lower())
    if spec is not None and not Path(d.source).exists():
        path = _builtin_path(spec, "train")
        if path is None:
            raise DataError(Errors.E279, name=spec.name)
        options = dict(spec.read_options)
        encoding = options.pop("encoding", None) or "utf-8"
        head = _head(path, encoding=encoding, header=None, options=options)
        test_path = _builtin_path(spec, "test") if "test" in spec.splits else None
        return _Source(
            path,
            d.text_column or spec.text_column,
            d.label_column or spec.label_column,
            d.label_map or spec.label_map,
            _builder_options(path, head, encoding=encoding, options=options),
            head,
            spec.language,
            spec.preprocess,
            test_path,
            dict(spec.read_options),
        )
    path = Path(d.source)
    if not path.is_file():
        raise DataError(Errors.E209, source=d.source, known=", ".join(BUILTINS))
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise DataError(Errors.E261, path=path, suffixes=sorted(TABLE_SUFFIXES))
    encoding = d.encoding or "utf-8"
    head = _head(path, encoding=encoding, header=d.header, options={})
    text_column, label_column, label_map = d.text_column, d.label_column, d.label_map
    if text_column is None and label_column is None and _sentiment140_layout(head):
        log.info("%s has Sentiment140's headerless layout: text column 5, label column 0", path)
        text_column, label_column = "5", "0"
        label_map = label_map or BUILTINS["sentiment140"].label_map
    return _Source(
        path,
        text_column or "text",
        label_column or "label",
        label_map,
        _builder_options(path, head, encoding=encoding, options={}),
        head,
    )


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def text_hashes(texts) -> np.ndarray:
    """A 64-bit hash per text: exact duplicates and overlaps counted without holding the texts."""
    return np.fromiter(
        (
            int.from_bytes(
                hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little", signed=True
            )
            for t in texts
        ),
        dtype=np.int64,
    )


def _clean_batch(
    batch: dict, *, text_column: str, label_column: str, label_map: dict | None, keep_columns: tuple[str, ...]
) -> dict:
    """``text``, ``label`` (name, or None for a row left out), its ``status`` and the raw label, as
    :func:`sentiq.data.sources.to_labeled_frame` decides them row by row."""
    texts = [_text(t) for t in batch[text_column]]
    raws = [_normalise_raw_label(v) for v in batch[label_column]]
    labels, status = [], []
    for text, raw in zip(texts, raws):
        name, state = None, _KEEP
        if not text.strip():
            state = _EMPTY
        elif raw is None:
            state = _NO_LABEL
        elif label_map is None:
            name = raw
        elif raw not in label_map:
            state = _UNKNOWN
        elif label_map[raw] == SKIP:
            state = _SKIPPED
        else:
            name = label_map[raw]
        labels.append(name)
        status.append(state)
    return {
        "text": texts,
        "label": labels,
        "raw": raws,
        "status": status,
        "hash": text_hashes(texts).tolist(),
        **{f"keep:{c}": batch[c] for c in keep_columns},
    }


def _load(source: _Source, *, num_proc: int, keep_columns: tuple[str, ...]):
    from datasets import load_dataset

    from sentiq.models.cache import cache_root

    options = dict(source.read)
    builder = options.pop("path")
    try:
        raw = load_dataset(
            builder, data_files=str(source.path), split="train", cache_dir=str(cache_root() / "datasets"), **options
        )
    except UnicodeDecodeError as exc:
        raise DataError(Errors.E262, path=source.path, enc=options.get("encoding"), byte=exc.start) from None
    except Exception as exc:  # the builders raise many kinds (pandas, pyarrow, their own)
        raise DataError(Errors.E263, path=source.path, detail=exc) from None
    head = source.head
    text_column = resolve_column(head, str(source.text_column))
    label_column = resolve_column(head, str(source.label_column))
    missing = [
        c for c, found in ((source.text_column, text_column), (source.label_column, label_column)) if found is None
    ]
    if missing:
        raise DataError(Errors.E204, where=source.path, missing=missing, hint=columns_hint(head))
    kept = tuple(c for c in keep_columns if c in raw.column_names and c not in ("text", "label"))
    log.info("cleaning %d rows of %s in %d processes", raw.num_rows, source.path, num_proc)
    return raw.map(
        partial(
            _clean_batch,
            text_column=str(text_column),
            label_column=str(label_column),
            label_map=source.label_map,
            keep_columns=kept,
        ),
        batched=True,
        batch_size=10_000,
        num_proc=num_proc if raw.num_rows > 10_000 else None,
        remove_columns=raw.column_names,
        desc="cleaning",
    ), kept


def _codes(column, names: list[str]) -> np.ndarray:
    """The position of each value in ``names`` (-1 for a missing one)."""
    return pc.index_in(column, value_set=pa.array(names, type=pa.string())).fill_null(-1).to_numpy()


def load_arrow_splits(
    d: DataConfig, seed: int, *, keep_columns: tuple[str, ...] = (), num_proc: int | None = None
) -> ArrowSplits:
    """Read, clean and split ``d`` with the training rows left on disk (see the module doc)."""
    source = _resolve_source(d)
    clean, kept_columns = _load(source, num_proc=default_num_proc(num_proc), keep_columns=tuple(keep_columns))
    table = clean.data.table
    status = table.column("status").to_numpy()
    raw = table.column("raw")
    if (status == _UNKNOWN).any():
        unknown = sorted(pc.unique(raw.filter(pa_mask(status == _UNKNOWN))).to_pylist())
        raise UnknownLabelError(
            Errors.E201, where=d.source, unknown=unknown[:10], label_map=source.label_map, skip=SKIP
        )
    skipped = {
        str(e["values"]): int(e["counts"]) for e in pc.value_counts(raw.filter(pa_mask(status == _SKIPPED))).to_pylist()
    }
    rows = np.flatnonzero(status == _KEEP)
    names = sorted(v for v in pc.unique(table.column("label")).to_pylist() if v is not None)
    # Codes in sorted-name order stratify exactly like the names themselves (same classes, same order).
    labels = np.asarray(names, dtype=object)[_codes(table.column("label"), names)[rows]] if names else np.array([])
    dropped_empty, dropped_label = int((status == _EMPTY).sum()), int((status == _NO_LABEL).sum())

    test_frame = None
    test_path = Path(d.test_source) if d.test_source else source.test_path
    if test_path is not None:
        read = {} if d.test_source else dict(source.test_read or {})
        test_raw = read_table(test_path, encoding=d.encoding, header=d.header, **read)
        test_frame, empty, no_label = to_labeled_frame(
            test_raw,
            text_column=source.text_column,
            label_column=source.label_column,
            label_map=source.label_map,
            where=str(test_path),
            keep_columns=tuple(keep_columns),
            skipped=skipped,
        )
        dropped_empty, dropped_label = dropped_empty + empty, dropped_label + no_label
    if dropped_empty or dropped_label:
        log.warning(
            "dropped %d empty texts and %d rows without a label from %s", dropped_empty, dropped_label, d.source
        )
    check_classes(pd.DataFrame({"label": labels}), "the data")
    positions = split_positions(
        labels,
        test_labels=None if test_frame is None else test_frame["label"].to_numpy(),
        validation_size=d.validation_size,
        test_size=d.test_size,
        seed=seed,
        max_train_samples=d.max_train_samples,
        max_eval_samples=d.max_eval_samples,
    )
    check_classes(pd.DataFrame({"label": labels[positions["train"]]}), "the training split")

    def frame(split: str) -> pd.DataFrame:
        picked = clean.select(rows[positions[split]]).select_columns(
            ["text", "label", *(f"keep:{c}" for c in kept_columns)]
        )
        return picked.to_pandas().rename(columns={f"keep:{c}": c for c in kept_columns})

    test = frame("test") if test_frame is None else test_frame.iloc[positions["test"]].reset_index(drop=True)
    hashes = table.column("hash").to_numpy()
    split_hashes = {
        "train": hashes[rows[positions["train"]]],
        "validation": hashes[rows[positions["validation"]]],
        "test": hashes[rows[positions["test"]]] if test_frame is None else text_hashes(test["text"]),
    }
    split_labels = {
        "train": labels[positions["train"]],
        "validation": labels[positions["validation"]],
        "test": test["label"].to_numpy(),
    }
    language = source.language or guess_language(pd.Series(list(clean.select(rows[:_HEAD_ROWS])["text"])))
    report = _report(
        d.source,
        language,
        split_labels,
        split_hashes,
        dropped_empty=dropped_empty,
        dropped_label=dropped_label,
        skipped=skipped,
        headerless=bool(source.head.attrs.get(HEADERLESS)),
    )
    train = clean.select(rows[positions["train"]]).select_columns(["text", "label"])
    log.info(
        "out-of-core training data: %d training rows on disk (%s), %d validation and %d test rows in memory",
        train.num_rows,
        source.path,
        len(positions["validation"]),
        len(test),
    )
    return ArrowSplits(
        train,
        frame("validation"),
        test,
        sorted(set(split_labels["train"])),
        language,
        source.preprocess or ("chinese" if language == "zh" else "none"),
        report,
    )


def pa_mask(mask: np.ndarray) -> pa.Array:
    return pa.array(mask, type=pa.bool_())


def _report(
    source: str,
    language: str,
    labels: dict[str, np.ndarray],
    hashes: dict[str, np.ndarray],
    *,
    dropped_empty: int,
    dropped_label: int,
    skipped: dict[str, int],
    headerless: bool,
) -> DataReport:
    """:func:`sentiq.data.build_report` from label arrays and text hashes."""
    counts = {
        split: {str(k): int(n) for k, n in zip(*np.unique(values.astype(str), return_counts=True))}
        for split, values in labels.items()
    }
    report = DataReport(
        source=source,
        language=language,
        labels=sorted({k for c in counts.values() for k in c}),
        counts=counts,
        dropped_empty=dropped_empty,
        dropped_missing_label=dropped_label,
        skipped=dict(skipped),
        headerless=headerless,
    )
    unique = {split: np.unique(values) for split, values in hashes.items()}
    report.duplicates = {split: int(len(hashes[split]) - len(unique[split])) for split in hashes}
    report.overlap = {
        f"train/{split}": int(len(np.intersect1d(unique["train"], unique[split])))
        for split in hashes
        if split != "train"
    }
    return add_warnings(report)


def preprocess_arrow(dataset, profile, *, num_proc: int | None = None):
    """``dataset`` with its ``text`` column put through a preprocessing profile, in worker processes,
    cached on disk beside the data (keyed by the input and the profile's spec)."""
    fingerprint = hashlib.sha256(f"{dataset._fingerprint}|{json.dumps(profile.spec(), sort_keys=True)}|v1".encode())
    workers = default_num_proc(num_proc)
    return dataset.map(
        partial(_apply_profile, profile=profile),
        batched=True,
        batch_size=10_000,
        num_proc=workers if dataset.num_rows > 10_000 else None,
        new_fingerprint=fingerprint.hexdigest()[:32],
        desc=f"preprocessing ({profile.name})",
    )


def _apply_profile(batch: dict, *, profile) -> dict:
    return {"text": profile.apply(batch["text"])}
