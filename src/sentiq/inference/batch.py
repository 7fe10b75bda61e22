"""Score a file or folder of any size in chunks, resumably, into one Parquet or JSONL file.

The job writes each finished chunk as a numbered part file (temporary name, then rename)
into ``OUT.partial/`` and then records it in that folder's ``manifest.json``, also
atomically; a chunk counts as done only once the manifest lists it. An interrupted job
(error, Ctrl-C, ``kill -9``) therefore leaves only whole chunks behind, and ``resume=True``
continues after the last recorded one, so every input record yields exactly one output
row. When the last chunk is recorded the parts are merged into a temporary file that is
renamed to ``OUT``: ``OUT`` never exists half-written. The manifest also records the input
(paths, sizes, modification times), the model and the chunk size; resuming against
anything else is refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sentiq.atomic import atomic_write_text
from sentiq.data.stream import Chunk, Source, estimate_rows, iter_chunks, open_source
from sentiq.errors import ConfigError, DataError, Errors

log = logging.getLogger(__name__)
ProgressFn = Callable[[str, int, int], None]
MANIFEST = "manifest.json"
_VERSION = 1


@dataclass
class ScoreResult:
    output: Path
    rows_in: int  # input records read (this run and the runs it resumed)
    rows_out: int  # rows written (rows_in minus skipped)
    skipped: int
    seconds: float  # this run only
    resumed_chunks: int = 0
    skipped_examples: list[str] = field(default_factory=list)  # the first few "file line N: reason"


def predictions_table(
    predictor,
    texts: Sequence[str],
    columns: dict[str, Sequence] | None = None,
    *,
    on_empty: str = "null",
    positions: Sequence[str] | None = None,
) -> pa.Table:
    """One row per text: kept ``columns``, ``text``, ``label``, ``score``, ``scores`` (a struct of
    label -> probability), ``language`` and ``model`` for routed models, ``note`` (why a text got no
    label: empty, emptied by preprocessing, unsupported language) and ``warning`` (a scored text in another
    language than the model's); the values of ``Predictor.predict``.
    ``on_empty="skip"`` leaves the unlabelled texts out; ``positions`` ("file line N") name texts in log lines."""
    texts = list(texts)
    labels = predictor.labels
    predictions = predictor.predict(texts, on_empty="null", positions=positions) if texts else []
    data = {name: list(values) for name, values in (columns or {}).items()}
    data["text"] = texts
    if on_empty == "skip":
        kept = [i for i, p in enumerate(predictions) if p.label is not None]
        data = {name: [values[i] for i in kept] for name, values in data.items()}
        predictions = [predictions[i] for i in kept]
    table = {name: pa.array(values) for name, values in data.items()}
    table["text"] = pa.array(data["text"], type=pa.string())
    table["label"] = pa.array([p.label for p in predictions], type=pa.string())
    table["score"] = pa.array([p.score for p in predictions], type=pa.float64())
    missing = np.array([p.scores is None for p in predictions], dtype=bool)
    table["scores"] = pa.StructArray.from_arrays(
        [
            pa.array([None if p.scores is None else p.scores[name] for p in predictions], type=pa.float64())
            for name in labels
        ],
        names=labels,
        mask=pa.array(missing) if missing.any() else None,
    )
    if predictor.model.capabilities.languages:  # routed models say which language and member answered
        table["language"] = pa.array([p.language for p in predictions], type=pa.string())
        table["model"] = pa.array([p.model for p in predictions], type=pa.string())
    table["note"] = pa.array([p.note for p in predictions], type=pa.string())
    table["warning"] = pa.array([p.warning for p in predictions], type=pa.string())
    return pa.table(table)


_OPTIONAL = ("language", "model", "note", "warning")  # left out of a JSON line when null, as Prediction.to_dict does


def jsonl_lines(table: pa.Table) -> Iterator[str]:
    """The table's rows as JSON lines, in the shape ``sentiq predict`` has always printed."""
    for row in table.to_pylist():
        yield json.dumps({k: v for k, v in row.items() if v is not None or k not in _OPTIONAL}, ensure_ascii=False)


def output_format(path: str | Path) -> str:
    """Parquet for ``.parquet``; JSON lines for anything else (``.jsonl`` and the historical default)."""
    return "parquet" if Path(path).suffix.lower() == ".parquet" else "jsonl"


def partial_dir(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(output.name + ".partial")


def iter_scored(
    predictor,
    source: Source,
    *,
    chunk_rows: int = 10_000,
    on_bad_rows: str = "error",
    on_empty: str = "null",
    start_chunk: int = 0,
) -> Iterator[tuple[Chunk, pa.Table]]:
    """(chunk, its predictions table) for each chunk of ``source``, in input order."""
    for chunk in iter_chunks(source, chunk_rows=chunk_rows, on_bad_rows=on_bad_rows, start_chunk=start_chunk):
        for problem in chunk.skipped:
            log.warning("skipped %s", problem)
        yield (
            chunk,
            predictions_table(predictor, chunk.texts, chunk.columns, on_empty=on_empty, positions=chunk.positions),
        )


def score_file(
    model,
    input: str | Path,
    output: str | Path,
    *,
    text_column: str = "text",
    keep: Sequence[str] = (),
    column_names: Sequence[str] | None = None,
    encoding: str = "utf-8",
    chunk_rows: int = 10_000,
    on_bad_rows: str = "error",
    on_empty: str = "null",
    resume: bool = False,
    progress: ProgressFn | None = None,
    max_chars: int | None = None,
    truncate: bool = False,
) -> ScoreResult:
    """Score every record of ``input`` (a file or folder of parts) into ``output`` (.parquet or JSONL).

    ``model`` is a model directory or a loaded :class:`~sentiq.inference.Predictor`.
    ``progress("score", rows_done, rows_expected)`` follows the job (rows_expected is exact
    for Parquet, the line count otherwise). A bad record raises :class:`DataError` naming
    file and line, or with ``on_bad_rows="skip"`` is skipped and counted. An empty text gets a
    row with label null and a note (``on_empty="null"``), is left out (``"skip"``) or is a bad
    record (``"error"``). Completed chunks
    stay in ``output + ".partial"`` after an interruption; ``resume=True`` continues them.
    """
    from sentiq.inference import Predictor

    started = time.perf_counter()
    source = open_source(
        input,
        text_column=text_column,
        keep=keep,
        column_names=column_names,
        encoding=encoding,
        keep_empty=on_empty != "error",
        max_chars=max_chars,
        truncate=truncate,
    )
    predictor = model if isinstance(model, Predictor) else Predictor.load(model)
    output = Path(output)
    fmt = output_format(output)
    work = partial_dir(output)
    identity = {
        "version": _VERSION,
        "input": source.fingerprint(),
        "model": _model_identity(predictor),
        "chunk_rows": chunk_rows,
        "format": fmt,
    }
    done = _prepare(work, identity, resume=resume)
    resumed = len(done)
    expected = estimate_rows(source)
    rows_done = sum(c["rows_in"] for c in done)
    if progress:
        progress("score", rows_done, max(expected, rows_done))
    for chunk, table in iter_scored(
        predictor, source, chunk_rows=chunk_rows, on_bad_rows=on_bad_rows, on_empty=on_empty, start_chunk=len(done)
    ):
        _write_part(work, chunk.index, table, fmt)
        done.append(
            {
                "index": chunk.index,
                "rows_in": chunk.rows_in,
                "rows_out": table.num_rows,
                "skipped": chunk.skipped[:20],
                "n_skipped": len(chunk.skipped),
            }
        )
        _save_manifest(work, identity, done)
        rows_done += chunk.rows_in
        if progress:
            progress("score", rows_done, max(expected, rows_done))
    _merge(work, [c["index"] for c in done], output, fmt, predictor)
    shutil.rmtree(work, ignore_errors=True)
    skipped = sum(c["n_skipped"] for c in done)
    if progress:
        progress("score", rows_done, rows_done)
    return ScoreResult(
        output,
        rows_done,
        sum(c["rows_out"] for c in done),
        skipped,
        time.perf_counter() - started,
        resumed_chunks=resumed,
        skipped_examples=[s for c in done for s in c["skipped"]][:10],
    )


def _model_identity(predictor) -> dict:
    """The model as a resumed job must find it again: its manifest's digest (path-independent)."""
    text = json.dumps(asdict(predictor.manifest), sort_keys=True, default=str)
    return {
        "approach": predictor.manifest.approach,
        "labels": predictor.labels,
        "manifest_sha256": hashlib.sha256(text.encode()).hexdigest(),
    }


def _prepare(work: Path, identity: dict, *, resume: bool) -> list[dict]:
    """The chunks an earlier run finished (resume) or none (a fresh ``work`` folder)."""
    manifest = work / MANIFEST
    if work.exists() and not resume:
        raise ConfigError(Errors.E137, work=work)
    if not work.exists() or not manifest.is_file():
        if resume and not work.exists():
            log.info("nothing to resume in %s: starting afresh", work)
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        _save_manifest(work, identity, [])
        return []
    try:
        state = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(Errors.E241, manifest=manifest, detail=exc, work=work) from None
    changed = [key for key in ("version", "input", "model", "chunk_rows", "format") if state.get(key) != identity[key]]
    if changed:
        raise ConfigError(Errors.E138, work=work, changed=", ".join(changed))
    done = state["chunks"]
    if [c["index"] for c in done] != list(range(len(done))):
        raise DataError(Errors.E242, manifest=manifest, work=work)
    for part in work.glob("part-*"):  # written, but the run died before recording it: redone
        if int(part.name.split("-")[1].split(".")[0]) >= len(done):
            part.unlink()
    missing = [c["index"] for c in done if not _part_path(work, c["index"], identity["format"]).is_file()]
    if missing:
        raise DataError(Errors.E243, work=work, missing=missing[0])
    log.info("resuming %s after %d finished chunks", work, len(done))
    return done


def _save_manifest(work: Path, identity: dict, done: list[dict]) -> None:
    atomic_write_text(work / MANIFEST, json.dumps({**identity, "chunks": done}, indent=1))


def _part_path(work: Path, index: int, fmt: str) -> Path:
    return work / f"part-{index:06d}.{fmt}"


def _write_part(work: Path, index: int, table: pa.Table, fmt: str) -> None:
    path = _part_path(work, index, fmt)
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    try:
        if fmt == "parquet":
            pq.write_table(table, tmp)
        else:
            with tmp.open("w", encoding="utf-8") as handle:
                for line in jsonl_lines(table):
                    handle.write(line + "\n")
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _merge(work: Path, indexes: list[int], output: Path, fmt: str, predictor) -> None:
    """Concatenate the parts into a temporary sibling of ``output``, then rename it into place."""
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp-{secrets.token_hex(4)}.partial")
    parts = [_part_path(work, i, fmt) for i in indexes]
    try:
        if fmt == "parquet":
            schemas = [pq.read_schema(p) for p in parts] or [predictions_table(predictor, []).schema]
            schema = pa.unify_schemas(schemas, promote_options="permissive")
            with pq.ParquetWriter(tmp, schema) as writer:
                for part in parts:
                    writer.write_table(pq.read_table(part).cast(schema))
        else:
            with tmp.open("wb") as out:
                for part in parts:
                    with part.open("rb") as handle:
                        shutil.copyfileobj(handle, out, 1 << 20)
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
