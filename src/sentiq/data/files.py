"""Reading user files: any table (:func:`read_table`) and the one reader of "a file of texts"
(:func:`read_texts`: predict --input, monitor --current, pre-training corpora).

* ``.txt`` (or no suffix): one text per line in ``encoding`` (default UTF-8); blank lines
  are always dropped.
* ``.csv/.tsv/.jsonl/.json/.parquet``: the ``text_column`` of the table (read by
  :func:`read_table`); a missing cell reads as an empty text.
  ``keep_empty_rows=True`` keeps empty texts so outputs stay row-aligned with the table
  (``predict``); otherwise they are dropped (``monitor``, pre-training).

Callers differ only in the hint their messages end with (the flag or setting to change),
passed as ``column_hint`` / ``encoding_hint``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sentiq.errors import DataError

TABLE_SUFFIXES = {".csv", ".tsv", ".jsonl", ".json", ".parquet"}
TEXT_SUFFIXES = {".txt", ""}


def read_table(path: Path, *, encoding: str | None = None, **options) -> pd.DataFrame:
    """A .csv/.tsv (all cells as strings)/.jsonl/.json/.parquet file as a frame; bad files raise DataError."""
    if not path.is_file():
        raise DataError(f"data file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DataError(f"cannot read {path}: expected one of {sorted(TABLE_SUFFIXES)}")
    enc = encoding or options.pop("encoding", None) or "utf-8"
    options.pop("encoding", None)
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix in {".jsonl", ".json"}:
            with path.open(encoding=enc, errors="strict") as handle:
                return pd.read_json(handle, lines=suffix == ".jsonl" or None)
        sep = "\t" if suffix == ".tsv" else ","
        return pd.read_csv(path, sep=sep, encoding=enc, encoding_errors="strict",
                           dtype=str, keep_default_na=False, **options)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path} is not valid {enc} text (byte {exc.start}); set data.encoding, e.g. latin-1"
        ) from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None


def read_text_table(path: str | Path, *, text_column: str = "text", encoding: str | None = None,
                    keep_empty_rows: bool = False, column_hint: str = "") -> pd.DataFrame:
    """The rows of a table file with ``text_column`` as strings (missing cells: ""), other columns as read."""
    path = Path(path)
    frame = read_table(path, encoding=encoding)
    if text_column not in frame.columns:
        raise DataError(f"{path} has no column {text_column!r}; columns are {list(map(str, frame.columns))}"
                        + (f" {column_hint}" if column_hint else ""))
    texts = frame[text_column].map(lambda t: "" if t is None or (isinstance(t, float) and pd.isna(t)) else str(t))
    frame = frame.assign(**{text_column: texts})
    return frame if keep_empty_rows else frame[texts.str.strip() != ""]


def read_texts(path: str | Path, *, text_column: str = "text", encoding: str | None = None,
               keep_empty_rows: bool = False, column_hint: str = "", encoding_hint: str = "") -> list[str]:
    """Texts from a .txt file (one per line) or a table file's ``text_column`` (see the module doc)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"input file {path} does not exist")
    if path.suffix.lower() in TEXT_SUFFIXES:
        try:
            lines = path.read_text(encoding=encoding or "utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise DataError(f"{path} is not valid {encoding or 'UTF-8'} text (byte {exc.start})"
                            + (f"; {encoding_hint}" if encoding_hint else "")) from None
        return [line for line in lines if line.strip()]
    frame = read_text_table(path, text_column=text_column, encoding=encoding, keep_empty_rows=keep_empty_rows,
                            column_hint=column_hint)
    return frame[text_column].tolist()
