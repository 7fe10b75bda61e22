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

import logging
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from sentiq.errors import DataError, shorten

log = logging.getLogger(__name__)

TABLE_SUFFIXES = {".csv", ".tsv", ".jsonl", ".json", ".parquet"}
TEXT_SUFFIXES = {".txt", ""}


def shown_columns(columns, *, limit: int = 20) -> list[str]:
    """Column names as an error shows them: each cut to 60 characters, at most ``limit`` of them (a file
    without line breaks is one 100 MB header)."""
    names = [shorten(c, 60) for c in list(columns)[:limit]]
    return names + ([f"... {len(columns) - limit} more"] if len(columns) > limit else [])


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
        raise DataError(f"{path} has no column {shorten(text_column)!r}; columns are {shown_columns(frame.columns)}"
                        + (f" {column_hint}" if column_hint else ""))
    texts = frame[text_column].map(lambda t: "" if t is None or (isinstance(t, float) and pd.isna(t)) else str(t))
    frame = frame.assign(**{text_column: texts})
    return frame if keep_empty_rows else frame[texts.str.strip() != ""]


# The CLI's per-text limit in characters (`sentiq predict --max-chars`). A transformer reads 512 tokens
# (or its windows); 100,000 characters is about 20,000 words. Unbounded, a 10 MB line took 1.84 GB and
# a 100 MB line aborted the process (exit 134) with no message.
MAX_TEXT_CHARS = 100_000


def check_text_lengths(texts: Sequence[str], *, max_chars: int, truncate: bool = False,
                       where: Callable[[int], str] = lambda i: f"text #{i + 1}") -> list[str]:
    """``texts`` when none is over ``max_chars``; with ``truncate`` long ones are cut (with a log line);
    otherwise a DataError naming the first one (``where(i)`` says where text ``i`` came from)."""
    out = list(texts)
    for i, text in enumerate(out):
        if len(text) > max_chars:
            if not truncate:
                raise DataError(f"{where(i)}: the text has {len(text):,} characters, over the limit of {max_chars:,} "
                                "(--max-chars); raise the limit or pass --truncate to cut long texts")
            log.warning("%s: text cut from %d to %d characters (--truncate)", where(i), len(text), max_chars)
            out[i] = text[:max_chars]
    return out


def read_texts(path: str | Path, *, text_column: str = "text", encoding: str | None = None,
               keep_empty_rows: bool = False, column_hint: str = "", encoding_hint: str = "",
               max_chars: int | None = None, truncate: bool = False) -> list[str]:
    """Texts from a .txt file (one per line) or a table file's ``text_column`` (see the module doc).

    A text over ``max_chars`` characters is an error naming its line (row), or is cut with ``truncate``;
    a file without any text is an error naming the file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"input file {path} does not exist")
    if path.suffix.lower() in TEXT_SUFFIXES:
        try:
            lines = path.read_text(encoding=encoding or "utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise DataError(f"{path} is not valid {encoding or 'UTF-8'} text (byte {exc.start})"
                            + (f"; {encoding_hint}" if encoding_hint else "")) from None
        numbered = [(n, line) for n, line in enumerate(lines, 1) if line.strip()]
        texts = [line for _, line in numbered]
        where = lambda i: f"{path} line {numbered[i][0]}"  # noqa: E731
    else:
        frame = read_text_table(path, text_column=text_column, encoding=encoding, keep_empty_rows=keep_empty_rows,
                                column_hint=column_hint)
        texts = frame[text_column].tolist()
        where = lambda i: f"{path} row {i + 1}"  # noqa: E731
    if not any(t.strip() for t in texts):
        raise DataError(f"{path} holds no texts (an empty file, or only blank lines or a header)")
    if max_chars is not None:
        texts = check_text_lengths(texts, max_chars=max_chars, truncate=truncate, where=where)
    return texts
