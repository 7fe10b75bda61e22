"""Reading user files: any table (:func:`read_table`) and the one reader of "a file of texts"
(:func:`read_texts`: predict --input, monitor --current, pre-training corpora).

* ``.txt`` (or no suffix): one text per line in ``encoding`` (default UTF-8); blank lines
  are kept with ``keep_empty_rows`` (predict: one result per line), else dropped.
* A CSV/TSV without a header row is detected (:func:`first_row_is_data`; ``header`` overrides);
  its columns are 0-based positions "0", "1", ...
* ``.csv/.tsv/.jsonl/.json/.parquet``: the ``text_column`` of the table (read by
  :func:`read_table`); a missing cell reads as an empty text.
  ``keep_empty_rows=True`` keeps empty texts so outputs stay row-aligned with the table
  (``predict``); otherwise they are dropped (``monitor``, pre-training).

Callers differ only in the hint their messages end with (the flag or setting to change),
passed as ``column_hint`` / ``encoding_hint``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from sentiq.errors import DataError, Errors, shorten

log = logging.getLogger(__name__)

TABLE_SUFFIXES = {".csv", ".tsv", ".jsonl", ".json", ".parquet"}
TEXT_SUFFIXES = {".txt", ""}
HEADERLESS = "headerless"  # frame.attrs key: the file had no header row; columns are named "0", "1", ...
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_SNIFF_ROWS = 200


def first_row_is_data(first: list[str], rest: pd.DataFrame) -> bool:
    """Whether the first row of a table file is a data row rather than a header.

    A header cell is a name: never a bare number, and never a value that its column holds
    again further down (a label column's "positive" row, a repeated "NO_QUERY"). Either
    sign in any cell means the file has no header. (``csv.Sniffer.has_header`` votes on
    type and length differences between the first row and the rest of a 1 kB sample; this
    rule looks at the first 200 rows and needs one clear sign.)
    """
    cells = [str(cell).strip() for cell in first]
    if any(value and _NUMBER.fullmatch(value) for value in cells):
        return True
    width = min(len(cells), rest.shape[1])
    if rest.empty or not width:
        return False
    # whole-array comparison: a one-line CSV of 200,000 cells took minutes column by column
    below = np.char.strip(rest.iloc[:, :width].astype(str).to_numpy(dtype=str))
    row = np.array(cells[:width], dtype=str)
    return bool(((below == row).any(axis=0) & (row != "")).any())


def _read_csv(path: Path, *, sep: str, enc: str, header: bool | None, **options) -> pd.DataFrame:
    """A CSV/TSV as strings. ``header=None`` detects a missing header row (:func:`first_row_is_data`);
    a headerless file's columns are named by position, "0", "1", ... (0-based, like pandas)."""
    read = dict(sep=sep, encoding=enc, encoding_errors="strict", dtype=str, keep_default_na=False, **options)
    if "names" in options or "header" in options:  # a built-in that knows its layout
        return pd.read_csv(path, **read)
    if header is None:
        head = pd.read_csv(path, header=None, nrows=_SNIFF_ROWS, **read)
        header = head.empty or not first_row_is_data(head.iloc[0].tolist(), head.iloc[1:])
        if not header:
            log.info("%s has no header row (its first row looks like data); columns are numbered from 0", path)
    if header:
        return pd.read_csv(path, **read)
    frame = pd.read_csv(path, header=None, **read)
    frame.columns = [str(i) for i in range(frame.shape[1])]
    frame.attrs[HEADERLESS] = True
    return frame


def shown_columns(columns, *, limit: int = 20) -> list[str]:
    """Column names as an error shows them: each cut to 60 characters, at most ``limit`` of them (a file
    without line breaks is one 100 MB header)."""
    names = [shorten(c, 60) for c in list(columns)[:limit]]
    return names + ([f"... {len(columns) - limit} more"] if len(columns) > limit else [])


def resolve_column(raw: pd.DataFrame, column: str) -> str | None:
    """A column by name, else by 0-based position ("5" is the sixth column, as in pandas' ``usecols``)."""
    names = list(map(str, raw.columns))
    if column in names:
        return raw.columns[names.index(column)]
    if column.isdigit() and int(column) < len(names):
        return raw.columns[int(column)]
    return None


def columns_hint(raw: pd.DataFrame) -> str:
    """What the columns of ``raw`` are, for an error message (by position when the file has no header)."""
    if raw.attrs.get(HEADERLESS):
        first = raw.iloc[0].tolist() if len(raw) else []
        shown = ", ".join(f"{i}={str(v)[:40]!r}" for i, v in enumerate(first[:20])) + (
            f", ... {len(first) - 20} more" if len(first) > 20 else ""
        )
        return (
            f"it has no header row (its first row looks like data), so columns go by 0-based position: {shown}; "
            "give them as data.text_column / data.label_column, or set data.header=true if the first row is a header"
        )
    return f"columns are {shown_columns(raw.columns)} (set data.text_column / data.label_column; a number is a 0-based position)"


def read_table(path: Path, *, encoding: str | None = None, header: bool | None = None, **options) -> pd.DataFrame:
    """A .csv/.tsv (all cells as strings)/.jsonl/.json/.parquet file as a frame; bad files raise DataError."""
    if not path.is_file():
        raise DataError(Errors.E260, path=path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DataError(Errors.E261, path=path, suffixes=sorted(TABLE_SUFFIXES))
    enc = encoding or options.pop("encoding", None) or "utf-8"
    options.pop("encoding", None)
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix in {".jsonl", ".json"}:
            with path.open(encoding=enc, errors="strict") as handle:
                return pd.read_json(handle, lines=suffix == ".jsonl" or None)
        return _read_csv(path, sep="\t" if suffix == ".tsv" else ",", enc=enc, header=header, **options)
    except UnicodeDecodeError as exc:
        raise DataError(Errors.E262, path=path, enc=enc, byte=exc.start) from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(Errors.E263, path=path, detail=exc) from None


def read_text_table(
    path: str | Path,
    *,
    text_column: str = "text",
    encoding: str | None = None,
    keep_empty_rows: bool = False,
    column_hint: str = "",
    header: bool | None = None,
) -> pd.DataFrame:
    """The rows of a table file with ``text_column`` (a name or a 0-based position) as strings (missing
    cells: ""), other columns as read."""
    path = Path(path)
    frame = read_table(path, encoding=encoding, header=header)
    found = resolve_column(frame, str(text_column))
    if found is None:
        hint = columns_hint(frame) if frame.attrs.get(HEADERLESS) else f"columns are {shown_columns(frame.columns)}"
        raise DataError(
            Errors.E264,
            path=path,
            column=shorten(str(text_column)),
            hint=hint,
            column_hint=f" {column_hint}" if column_hint else "",
        )
    texts = frame[found].map(lambda t: "" if t is None or (isinstance(t, float) and pd.isna(t)) else str(t))
    frame = frame.assign(**{str(text_column): texts})
    return frame if keep_empty_rows else frame[texts.str.strip() != ""]


# The CLI's per-text limit in characters (`sentiq predict --max-chars`). A transformer reads 512 tokens
# (or its windows); 100,000 characters is about 20,000 words. Unbounded, a 10 MB line took 1.84 GB and
# a 100 MB line aborted the process (exit 134) with no message.
MAX_TEXT_CHARS = 100_000


def check_text_lengths(
    texts: Sequence[str],
    *,
    max_chars: int,
    truncate: bool = False,
    where: Callable[[int], str] = lambda i: f"text {i + 1}",
) -> list[str]:
    """``texts`` when none is over ``max_chars``; with ``truncate`` long ones are cut (with a log line);
    otherwise a DataError naming the first one (``where(i)`` says where text ``i`` came from)."""
    out = list(texts)
    for i, text in enumerate(out):
        if len(text) > max_chars:
            if not truncate:
                raise DataError(Errors.E284, where=where(i), chars=len(text), max_chars=max_chars)
            log.warning("%s: text cut from %d to %d characters (--truncate)", where(i), len(text), max_chars)
            out[i] = text[:max_chars]
    return out


def read_texts(
    path: str | Path,
    *,
    text_column: str = "text",
    encoding: str | None = None,
    keep_empty_rows: bool = False,
    column_hint: str = "",
    encoding_hint: str = "",
    header: bool | None = None,
    max_chars: int | None = None,
    truncate: bool = False,
) -> list[str]:
    """Texts from a .txt file (one per line) or a table file's ``text_column`` (see the module doc).

    A text over ``max_chars`` characters is an error naming its line (row), or is cut with ``truncate``;
    a file without any text (no line or row at all; without ``keep_empty_rows`` also one of blank lines
    only) is an error naming the file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(Errors.E265, path=path)
    if path.suffix.lower() in TEXT_SUFFIXES:
        try:
            lines = path.read_text(encoding=encoding or "utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise DataError(
                Errors.E266,
                path=path,
                encoding=encoding or "UTF-8",
                byte=exc.start,
                hint=f"; {encoding_hint}" if encoding_hint else "",
            ) from None
        numbered = [(n, line) for n, line in enumerate(lines, 1) if keep_empty_rows or line.strip()]
        texts = [line for _, line in numbered]
        where = lambda i: f"{path} line {numbered[i][0]}"  # noqa: E731
    else:
        frame = read_text_table(
            path,
            text_column=text_column,
            encoding=encoding,
            keep_empty_rows=keep_empty_rows,
            column_hint=column_hint,
            header=header,
        )
        texts = frame[str(text_column)].tolist()
        rows = list(frame.index)
        where = lambda i: f"{path} row {rows[i] + 1}"  # noqa: E731
    if not texts:
        raise DataError(Errors.E281, path=path)
    if max_chars is not None:
        texts = check_text_lengths(texts, max_chars=max_chars, truncate=truncate, where=where)
    return texts


def text_positions(path: str | Path | None, n: int) -> list[str]:
    """How a user finds row ``i`` of :func:`read_texts` with ``keep_empty_rows``: "line 3" (.txt, .jsonl),
    "row 3" (tables, header not counted), "text 3" (command-line arguments); all 1-based."""
    suffix = Path(path).suffix.lower() if path is not None else None
    word = "text" if path is None else "line" if suffix in {".txt", "", ".jsonl"} else "row"
    return [f"{word} {i + 1}" for i in range(n)]
