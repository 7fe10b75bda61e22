"""Read texts to score from files of any size, in fixed-size chunks, in constant memory.

Inputs: one file or a folder of part files (read in name order), all .txt (one text per
line; a blank line is an empty text), .csv/.tsv, .jsonl or .parquet. Every chunk holds the next
``chunk_rows`` input *records* (bad ones included), so chunk boundaries depend only on the
input and ``chunk_rows``: a resumed job meets the same chunks as the one it continues.

CSV goes through the standard :mod:`csv` reader and JSONL through :mod:`json` line by line
rather than pyarrow's block readers, because those cannot say on which line a malformed
record sits; Parquet is read per record batch with pyarrow. A bad record (wrong field
count, invalid JSON, missing or empty text, undecodable bytes) raises :class:`DataError`
naming file and line, or, with ``on_bad_rows="skip"``, is left out and reported in
:attr:`Chunk.skipped`. An input without a single record (an empty file, a header-only CSV)
is refused when opened; a .txt of blank lines holds records (empty texts, answered by the
caller's empty-text policy).
"""

from __future__ import annotations

import codecs
import csv
import json
import logging
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from sentiq.errors import DataError, Errors

log = logging.getLogger(__name__)

FORMATS = {".txt": "txt", ".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}
_SKIP_HINT = "; pass --skip-bad-rows (on_bad_rows='skip') to skip and count such rows"
csv.field_size_limit(1 << 26)  # long reviews are fine; a runaway quote still ends at 64 MiB


@dataclass
class Chunk:
    """``rows_in`` input records, of which the good ones are ``texts`` (+ ``columns`` kept alongside)."""

    index: int
    texts: list[str]
    columns: dict[str, list]
    rows_in: int
    skipped: list[str] = field(default_factory=list)  # "file line N: reason", one per record left out
    positions: list[str] = field(default_factory=list)  # "file line N" of each text, for messages about it


@dataclass(frozen=True)
class Source:
    """What to read: the files (in order), their format and how to find the text."""

    files: tuple[Path, ...]
    format: str
    text_column: str = "text"
    keep: tuple[str, ...] = ()
    column_names: tuple[str, ...] | None = None  # a headerless CSV's column names
    encoding: str = "utf-8"
    keep_empty: bool = False  # empty texts (and .txt blank lines) are records to answer, not bad rows
    max_chars: int | None = None  # longest text: a longer one is a bad row (or is cut with ``truncate``)
    truncate: bool = False

    def fingerprint(self) -> dict:
        """What identifies this input for a resumed job: paths, sizes, modification times, options."""
        return {
            "files": [[str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns] for p in self.files],
            "format": self.format,
            "text_column": self.text_column,
            "keep": list(self.keep),
            "column_names": list(self.column_names) if self.column_names else None,
            "encoding": self.encoding,
            "keep_empty": self.keep_empty,
            "max_chars": self.max_chars,
            "truncate": self.truncate,
        }


def part_files(folder: Path) -> list[Path]:
    """The part files of an input folder, in name order (hidden files and ``_SUCCESS`` markers ignored)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "_")))


def open_source(
    path: str | Path,
    *,
    text_column: str = "text",
    keep: Sequence[str] = (),
    column_names: Sequence[str] | None = None,
    encoding: str = "utf-8",
    keep_empty: bool = False,
    max_chars: int | None = None,
    truncate: bool = False,
) -> Source:
    """A file, or a folder of part files of one format (hidden files and ``_SUCCESS`` markers ignored)."""
    path = Path(path)
    if path.is_dir():
        files = part_files(path)
        if not files:
            raise DataError(Errors.E267, path=path)
    elif path.is_file():
        files = [path]
    else:
        raise DataError(Errors.E268, path=path)
    suffixes = {p.suffix.lower() or ".txt" for p in files}
    unknown = sorted(suffixes - set(FORMATS))
    if unknown:
        raise DataError(Errors.E269, unknown=unknown[0], path=path, known=sorted(FORMATS))
    formats = {FORMATS[s] for s in suffixes}
    if len(formats) > 1:
        raise DataError(Errors.E270, path=path, formats=sorted(formats))
    fmt = formats.pop()
    text_column, keep, column_names = _resolve_positions(
        files[0], fmt, text_column, tuple(keep), column_names, encoding
    )
    if column_names and text_column not in column_names:
        raise DataError(Errors.E271, column_names=",".join(column_names), text_column=text_column)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DataError(Errors.E272, encoding=encoding) from None
    if max_chars is not None and max_chars < 1:
        raise DataError(Errors.E282, max_chars=max_chars)
    source = Source(
        tuple(files),
        fmt,
        text_column,
        tuple(keep),
        tuple(column_names) if column_names else None,
        encoding,
        keep_empty,
        max_chars,
        truncate,
    )
    with closing(_records(source)) as records:
        if next(records, None) is None:  # a blank .txt line is a record (an empty text); a CSV header is not
            raise DataError(Errors.E281, path=path)
    return source


def _resolve_positions(
    path: Path, fmt: str, text_column: str, keep: tuple[str, ...], column_names: Sequence[str] | None, encoding: str
):
    """Columns given as 0-based positions ("5": the sixth) turned into names, as the in-memory readers
    (:func:`sentiq.data.files.resolve_column`) take them: a name wins over a position; a CSV whose first
    row looks like data (:func:`~sentiq.data.files.first_row_is_data`) is headerless, its columns "0", "1", ..."""
    wanted = (text_column, *keep)
    if fmt == "txt" or not any(c.isdigit() for c in wanted):
        return text_column, keep, column_names
    names = list(column_names) if column_names else None
    if names is None and fmt == "csv":
        names, headerless = _csv_head_names(path, encoding)
        column_names = names if headerless else None
    elif names is None:
        names = _first_record_names(path, fmt, encoding)
    resolved = [names[int(c)] if c.isdigit() and c not in names and int(c) < len(names) else c for c in wanted]
    return resolved[0], tuple(resolved[1:]), column_names


def _csv_head_names(path: Path, encoding: str) -> tuple[list[str], bool]:
    """The first CSV record's fields as names, or "0", "1", ... when it looks like data (headerless)."""
    import itertools

    import pandas as pd

    from sentiq.data.files import first_row_is_data

    lines = (line for _, line in _lines(path, encoding))
    reader = csv.reader(lines, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
    try:
        rows = [r for r in itertools.islice(reader, 200) if r]
    except csv.Error as exc:
        raise DataError(Errors.E280, path=path, line=reader.line_num, detail=exc) from None
    if not rows:
        return [], False
    if first_row_is_data(rows[0], pd.DataFrame(rows[1:])):
        log.info("%s has no header row (its first row looks like data); columns are numbered from 0", path)
        return [str(i) for i in range(len(rows[0]))], True
    return rows[0], False


def _first_record_names(path: Path, fmt: str, encoding: str) -> list[str]:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return pq.read_schema(path).names
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise DataError(Errors.E263, path=path, detail=exc) from None
    for _, line in _lines(path, encoding):
        try:
            record = json.loads(line) if line.strip() else None
        except json.JSONDecodeError:
            return []  # the reader names the bad line
        if isinstance(record, dict):
            return list(record)
    return []


def input_columns(path: str | Path, *, encoding: str = "utf-8") -> list[str]:
    """The column names of a table input (its first file for a folder): the CSV header, "0", "1", ... for a
    headerless CSV, a JSONL's first record's keys, a Parquet schema; [] for text files."""
    path = Path(path)
    if path.is_dir():
        files = part_files(path)
        if not files:
            return []
        path = files[0]
    fmt = FORMATS.get(path.suffix.lower() or ".txt")
    if fmt in (None, "txt") or not path.is_file():
        return []
    return _csv_head_names(path, encoding)[0] if fmt == "csv" else _first_record_names(path, fmt, encoding)


def estimate_rows(source: Source) -> int:
    """Rows to expect: exact for Parquet (file metadata), the line count for text formats (for ETAs)."""
    if source.format == "parquet":
        import pyarrow.parquet as pq

        return sum(pq.ParquetFile(p).metadata.num_rows for p in source.files)
    lines = 0
    for path in source.files:
        with path.open("rb") as handle:
            while block := handle.read(1 << 20):
                lines += block.count(b"\n")
    headers = len(source.files) if source.format == "csv" and not source.column_names else 0
    return max(lines - headers, 0)


def iter_chunks(
    source: Source, *, chunk_rows: int = 10_000, on_bad_rows: str = "error", start_chunk: int = 0
) -> Iterator[Chunk]:
    """Chunks of ``chunk_rows`` records from ``start_chunk`` on; earlier records are read past, not kept."""
    if on_bad_rows not in {"error", "skip"}:
        raise ValueError(f"on_bad_rows must be 'error' or 'skip', not {on_bad_rows!r}")
    if chunk_rows < 1:
        raise DataError(Errors.E273, chunk_rows=chunk_rows)
    first_record = start_chunk * chunk_rows
    texts, columns, skipped, rows_in, index, seen = [], {k: [] for k in source.keep}, [], 0, start_chunk, 0
    positions: list[str] = []
    for where, record in _records(source):
        seen += 1
        if seen <= first_record:
            continue
        rows_in += 1
        problem = record if isinstance(record, str) else text_problem(record, source.text_column, source.keep_empty)
        if not problem and source.max_chars is not None and len(record[source.text_column]) > source.max_chars:
            problem = _over_limit(where, record, source)
        if problem:
            if on_bad_rows == "error":
                raise DataError(Errors.E274, where=where, problem=problem, hint=_SKIP_HINT)
            skipped.append(f"{where}: {problem}")
        else:
            texts.append(record[source.text_column])
            positions.append(where)
            for k in source.keep:
                columns[k].append(record.get(k))
        if rows_in == chunk_rows:
            yield Chunk(index, texts, columns, rows_in, skipped, positions)
            texts, columns, skipped, rows_in, index = [], {k: [] for k in source.keep}, [], 0, index + 1
            positions = []
    if rows_in:
        yield Chunk(index, texts, columns, rows_in, skipped, positions)


def _over_limit(where: str, record: dict, source: Source) -> str | None:
    """A text over ``source.max_chars``: cut in place with ``truncate`` (None), else the problem to report."""
    text = record[source.text_column]
    if source.truncate:
        log.warning("%s: text cut from %d to %d characters (--truncate)", where, len(text), source.max_chars)
        record[source.text_column] = text[: source.max_chars]
        return None
    return (
        f"the text has {len(text):,} characters, over the limit of {source.max_chars:,} (--max-chars); "
        "raise the limit or pass --truncate to cut long texts"
    )


def text_problem(record: dict, text_column: str, keep_empty: bool = False) -> str | None:
    text = record.get(text_column)
    if text is None:
        return f"no {text_column!r} value"
    if not isinstance(text, str):
        return f"{text_column!r} is a {type(text).__name__}, not a string"
    if not text.strip() and not keep_empty:
        return f"{text_column!r} is empty"
    return None


def _records(source: Source) -> Iterator[tuple[str, dict | str]]:
    """(where, record) per input record; a record that cannot be parsed comes as (where, reason)."""
    reader = {"txt": _txt_records, "csv": _csv_records, "jsonl": _jsonl_records, "parquet": _parquet_records}
    for path in source.files:
        yield from reader[source.format](path, source)


def _lines(path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    """(line number, line) in ``encoding``, naming the line that holds undecodable bytes."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                yield number, decoder.decode(raw)
            except UnicodeDecodeError as exc:
                raise DataError(
                    Errors.E275, path=path, number=number, encoding=encoding.upper(), byte=exc.start
                ) from None


def _txt_records(path: Path, source: Source) -> Iterator[tuple[str, dict | str]]:
    for number, line in _lines(path, source.encoding):
        text = line.rstrip("\r\n")
        yield f"{path} line {number}", {source.text_column: text}


def _csv_records(path: Path, source: Source) -> Iterator[tuple[str, dict | str]]:
    lines = (line for _, line in _lines(path, source.encoding))
    reader = csv.reader(lines, delimiter="\t" if path.suffix.lower() == ".tsv" else ",", strict=True)
    header = list(source.column_names) if source.column_names else None
    while True:
        start = reader.line_num + 1  # a record may span lines (quoted newlines): name its first
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield f"{path} line {start}", f"not valid CSV ({exc})"
            continue
        if header is None:
            header = fields
            missing = [c for c in (source.text_column, *source.keep) if c not in header]
            if missing:
                raise DataError(Errors.E276, path=path, missing=missing[0], header=header)
            continue
        if not fields:
            continue  # an empty line
        if len(fields) != len(header):
            yield f"{path} line {start}", f"expected {len(header)} fields, got {len(fields)}"
            continue
        yield f"{path} line {start}", dict(zip(header, fields))


def _jsonl_records(path: Path, source: Source) -> Iterator[tuple[str, dict | str]]:
    for number, line in _lines(path, source.encoding):
        if not line.strip():
            continue
        where = f"{path} line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield where, f"not valid JSON ({exc.msg} at column {exc.colno})"
            continue
        yield (where, record) if isinstance(record, dict) else (where, "not a JSON object")


def _parquet_records(path: Path, source: Source) -> Iterator[tuple[str, dict | str]]:
    import pyarrow.parquet as pq

    try:
        handle = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise DataError(Errors.E263, path=path, detail=exc) from None
    names = handle.schema_arrow.names
    missing = [c for c in (source.text_column, *source.keep) if c not in names]
    if missing:
        raise DataError(Errors.E277, path=path, missing=missing[0], names=names)
    row = 0
    for batch in handle.iter_batches(batch_size=8192, columns=list(dict.fromkeys([source.text_column, *source.keep]))):
        for record in batch.to_pylist():
            row += 1
            yield f"{path} row {row}", record
