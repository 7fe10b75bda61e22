"""Batch scoring on Ray Data: the same :class:`Predictor`, one model per actor of an actor pool.

:func:`predict_dataset` takes and returns a ``ray.data.Dataset`` (lazy, streaming), so it
fits a user's own Ray pipeline; :func:`score_file_ray` is what ``sentiq predict --engine
ray`` runs: read the input with Ray's readers, score it, and stream the rows back to this
process into one output file (temporary name, then rename). Rows keep their input order.
On a cluster (``address``) every node must see the model directory at the same path
(shared storage), as Ray ships the class to the actors, not the model files.

A Ray job is not resumable chunk by chunk like :func:`sentiq.inference.batch.score_file`:
Ray retries failed tasks and actors itself; a job whose driver dies reruns whole.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Sequence

import pyarrow as pa

from sentiq.data.stream import Source, estimate_rows, open_source, text_problem
from sentiq.errors import DataError, Errors, SentiqError, UsageError
from sentiq.inference.batch import ProgressFn, ScoreResult, jsonl_lines, output_format, predictions_table

log = logging.getLogger(__name__)


class PredictorActor:
    """Ray Data's callable class: loads the model once per actor, scores pyarrow batches."""

    def __init__(
        self,
        model_dir: str,
        *,
        text_column: str = "text",
        keep: Sequence[str] = (),
        on_bad_rows: str = "error",
        on_empty: str = "null",
        threads: int = 1,
        batch_size: int = 64,
    ):
        if threads > 0:  # Ray gives each actor num_cpus cores; torch would size its pool by the machine
            os.environ["SENTIQ_NUM_THREADS"] = str(threads)
            try:
                import torch

                torch.set_num_threads(threads)
            except ImportError:
                pass
        from sentiq.inference import Predictor

        self.predictor = Predictor.load(model_dir, batch_size=batch_size)
        self.text_column, self.keep = text_column, list(keep)
        self.on_bad_rows, self.on_empty = on_bad_rows, on_empty

    def __call__(self, batch: pa.Table) -> pa.Table:
        texts = batch.column(self.text_column).to_pylist()
        # The streaming reader's rule: a missing text is a bad row, an empty one too only with on_empty=error.
        problems = [text_problem({self.text_column: t}, self.text_column, self.on_empty != "error") for t in texts]
        if any(problems):
            if self.on_bad_rows == "error":
                problem = next(p for p in problems if p)
                raise DataError(Errors.E246, problem=problem)
            good = [p is None for p in problems]
            batch = batch.filter(pa.array(good))
            texts = [t for t, ok in zip(texts, good) if ok]
        columns = {name: batch.column(name) for name in self.keep}
        return predictions_table(self.predictor, texts, columns, on_empty=self.on_empty)


def _default_gpus() -> float:
    import ray

    return 1.0 if ray.cluster_resources().get("GPU", 0) > 0 else 0.0


def predict_dataset(
    dataset,
    model_dir: str | Path,
    *,
    text_column: str = "text",
    keep: Sequence[str] = (),
    concurrency: int = 1,
    batch_size: int = 256,
    num_gpus: float | None = None,
    num_cpus: float = 1,
    on_bad_rows: str = "error",
    on_empty: str = "null",
):
    """``dataset`` (a Ray Dataset with ``text_column``) scored by ``concurrency`` actors, one model each.

    Returns a lazy Dataset of ``keep`` columns, ``text``, ``label``, ``score``, ``scores``
    (+ ``language`` for routed models), the values :class:`Predictor` gives. ``num_gpus`` per
    actor defaults to 1 when the cluster has GPUs, else 0. Empty texts follow ``on_empty`` as in
    :func:`sentiq.inference.batch.score_file`: a row with label null and a note (``null``), left out
    (``skip``), or a bad row (``error``); bad rows (and missing texts) raise, or with
    ``on_bad_rows="skip"`` are dropped.
    """
    gpus = _default_gpus() if num_gpus is None else num_gpus
    return dataset.map_batches(
        PredictorActor,
        batch_format="pyarrow",
        batch_size=batch_size,
        concurrency=concurrency,
        num_gpus=gpus,
        num_cpus=num_cpus,
        zero_copy_batch=True,
        fn_constructor_kwargs={
            "model_dir": str(Path(model_dir).resolve()),
            "text_column": text_column,
            "keep": list(keep),
            "on_bad_rows": on_bad_rows,
            "on_empty": on_empty,
            "threads": max(1, int(num_cpus)),
        },
    )


def read_dataset(source: Source):
    """The input as a Ray Dataset with Ray's own readers (the files in order)."""
    import pyarrow.csv as pacsv
    import ray

    paths = [str(p) for p in source.files]
    # Reads reserve no CPU: with one actor per core (concurrency = num_cpus) a read task that
    # waits for a free core would never run, and the actors would wait on it forever.
    light = {"ray_remote_args": {"num_cpus": 0}}
    wanted = list(dict.fromkeys([source.text_column, *source.keep]))
    if source.format == "parquet":
        return ray.data.read_parquet(paths, columns=wanted, **light)
    if source.format == "jsonl":
        return ray.data.read_json(paths, lines=True, **light).select_columns(wanted)
    if source.format == "txt":
        # Blank lines are empty texts, as in the streaming reader: on_empty decides what they get.
        return ray.data.read_text(paths, encoding=source.encoding, drop_empty_lines=False, **light).rename_columns(
            {"text": source.text_column}
        )
    delimiter = "\t" if source.files[0].suffix.lower() == ".tsv" else ","
    return ray.data.read_csv(
        paths,
        read_options=pacsv.ReadOptions(
            column_names=list(source.column_names) if source.column_names else None, encoding=source.encoding
        ),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in wanted}, include_columns=wanted),
        **light,
    )


def init_ray(address: str | None = None, *, num_cpus: int | None = None) -> None:
    """Join ``address`` or start a local Ray (no dashboard); no-op when Ray is already up."""
    try:
        import ray
    except ImportError:
        raise UsageError(Errors.E139) from None
    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)


def score_file_ray(
    model_dir: str | Path,
    input: str | Path,
    output: str | Path,
    *,
    text_column: str = "text",
    keep: Sequence[str] = (),
    column_names: Sequence[str] | None = None,
    encoding: str = "utf-8",
    on_bad_rows: str = "error",
    on_empty: str = "null",
    address: str | None = None,
    concurrency: int = 1,
    batch_size: int = 256,
    num_gpus: float | None = None,
    progress: ProgressFn | None = None,
) -> ScoreResult:
    """:func:`predict_dataset` over a file or folder, written to one Parquet/JSONL ``output`` in input order."""
    import ray

    from sentiq.models import Manifest

    Manifest.load(model_dir)  # a wrong path fails here, not inside an actor
    source = open_source(input, text_column=text_column, keep=keep, column_names=column_names, encoding=encoding)
    started = time.perf_counter()
    # A local Ray gets one CPU slot more than the machine has cores: Ray Data's file-listing task asks for a
    # whole CPU, and with one actor per core (--concurrency 2 on 2 cores) it would never be scheduled and the
    # job would hang with the actors idle. Listing is light; the actors keep one core each.
    init_ray(address, num_cpus=None if address else (os.cpu_count() or 1) + 1)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.raise_original_map_exception = True  # a DataError from an actor reaches us as itself
    context.enable_progress_bars = False  # the caller's progress callback reports
    scored = predict_dataset(
        read_dataset(source),
        model_dir,
        text_column=source.text_column,
        keep=source.keep,
        concurrency=concurrency,
        batch_size=batch_size,
        num_gpus=num_gpus,
        on_bad_rows=on_bad_rows,
        on_empty=on_empty,
    )
    expected = estimate_rows(source)
    output = Path(output)
    tmp = output.with_name(f".{output.name}.tmp-{secrets.token_hex(4)}.partial")
    output.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        written = _write_stream(scored, tmp, output_format(output), expected, progress)
        os.replace(tmp, output)
    except SentiqError:
        tmp.unlink(missing_ok=True)
        raise
    except ray.exceptions.RayError as exc:
        tmp.unlink(missing_ok=True)
        known = _sentiq_cause(exc)
        if known is not None:
            raise known from None
        raise DataError(Errors.E247, input=input, detail=exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return ScoreResult(output, written, written, 0, time.perf_counter() - started)


def _sentiq_cause(exc: BaseException) -> SentiqError | None:
    """The SentiqError an actor raised, from the chain of Ray's wrappers around it."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, SentiqError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__ or getattr(exc, "cause", None)
    return None


def _write_stream(dataset, path: Path, fmt: str, expected: int, progress: ProgressFn | None) -> int:
    import pyarrow.parquet as pq

    written, writer = 0, None
    try:
        with path.open("w", encoding="utf-8") if fmt == "jsonl" else nullcontext() as handle:
            for batch in dataset.iter_batches(batch_format="pyarrow", batch_size=None):
                if fmt == "parquet":
                    writer = writer or pq.ParquetWriter(path, batch.schema)
                    writer.write_table(batch.cast(writer.schema))
                else:
                    handle.writelines(line + "\n" for line in jsonl_lines(batch))
                written += batch.num_rows
                if progress:
                    progress("score", written, max(expected, written))
        if fmt == "parquet" and writer is None:
            pq.write_table(pa.table({}), path)
    finally:
        if writer is not None:
            writer.close()
    return written
