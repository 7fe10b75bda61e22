"""Commands that use a model on texts: predict, explain."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from sentiq.cli.common import err, friendly_errors, out, rows_progress
from sentiq.errors import Errors, UsageError


@friendly_errors
def predict(
    model: Optional[str] = typer.Argument(
        None,
        metavar="[MODEL]",
        help="A sentiq model directory or a built-in "
        "(builtin:e5-sentiment, builtin:e5-sentiment-binary); when the first "
        "argument is neither, every argument is a text for the built-in model.",
    ),
    texts: Optional[list[str]] = typer.Argument(None, help="Texts to classify."),
    input: Optional[Path] = typer.Option(
        None,
        "--input",
        "-i",
        help="File or folder of part files: .txt lines, .csv/.tsv, .jsonl or .parquet; streamed in chunks, any size.",
    ),
    output: Optional[Path] = typer.Option(
        None,
        "--output",
        "-o",
        help="Write here instead of stdout: Parquet for .parquet, JSON lines otherwise. Written whole or not at all.",
    ),
    text_column: Optional[str] = typer.Option(
        None,
        help="Text column of a table input, by name or 0-based position (default: text, or the model's "
        "training text column when the input has that one and no text column).",
    ),
    keep: list[str] = typer.Option([], "--keep", help="Input column to copy into the output, e.g. an id (repeatable)."),
    columns: Optional[str] = typer.Option(None, help="Column names of a headerless CSV, comma-separated."),
    encoding: str = typer.Option("utf-8", help="Encoding of text inputs (Sentiment140: latin-1)."),
    chunk_rows: int = typer.Option(10_000, min=1, help="Rows per chunk (memory and resume granularity)."),
    skip_bad_rows: bool = typer.Option(False, help="Skip malformed or empty rows and count them, instead of stopping."),
    resume: bool = typer.Option(False, help="Continue an interrupted --output job from its last finished chunk."),
    engine: str = typer.Option("local", help="local (this process) or ray (Ray Data actor pool)."),
    ray_address: Optional[str] = typer.Option(None, help="Ray cluster to join (default: start a local Ray)."),
    concurrency: int = typer.Option(1, min=1, help="Ray: model actors (one model each)."),
    batch_size: int = typer.Option(256, min=1, help="Ray: rows per batch sent to an actor."),
    num_gpus: Optional[float] = typer.Option(None, help="Ray: GPUs per actor (default: 1 where the cluster has GPUs)."),
    on_empty: str = typer.Option(
        "null",
        help="Texts given as arguments that are empty, or that the model's preprocessing "
        "empties (a bare URL): null (a result with label null and a note), skip (no output "
        "line) or error (exit 1, naming the file and line; --skip-bad-rows then skips and "
        "counts them). The same with --engine ray.",
    ),
    max_chars: int = typer.Option(
        100_000,
        min=1,
        help="Longest text in characters; a longer one is an error "
        "naming its line (a bad row: skipped with --skip-bad-rows) or is cut with --truncate.",
    ),
    truncate: bool = typer.Option(False, help="Cut texts over --max-chars instead of refusing them."),
) -> None:
    """Print one JSON line per text: {"text", "label", "score", "scores"} (+ "language", "model" for routed models;
    "note" when a text got no label).

    `sentiq predict "I love it"` uses the built-in model (no training needed)."""
    from sentiq.inference import Predictor
    from sentiq.inference.predictor import check_on_empty
    from sentiq.workflows import predict_records

    check_on_empty(on_empty)
    model, texts = _model_and_texts(model, list(texts or []))
    if bool(texts) == bool(input):
        raise UsageError(Errors.E155)
    if texts:
        from sentiq.data.files import check_text_lengths

        texts = check_text_lengths(texts, max_chars=max_chars, truncate=truncate)
        records, unscored = predict_records(Predictor.load(model), texts, on_empty=on_empty)
        for record in records:
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        if unscored:
            what = "left out" if on_empty == "skip" else "given label null"
            err.print(
                f"note {len(unscored)} of {len(texts)} texts {what}: {', '.join(unscored[:10])}",
                style="yellow",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
        return
    options = {
        "on_empty": on_empty,
        "text_column": text_column or _default_text_column(model, input, encoding),
        "keep": keep,
        "encoding": encoding,
        "on_bad_rows": "skip" if skip_bad_rows else "error",
        "column_names": [c.strip() for c in columns.split(",")] if columns else None,
        "max_chars": max_chars,
        "truncate": truncate,
    }
    if engine not in {"local", "ray"}:
        raise UsageError(Errors.E156, engine=engine)
    if output is None:
        if engine == "ray" or resume:
            raise UsageError(Errors.E157)
        _predict_to_stdout(model, input, chunk_rows=chunk_rows, **options)
        return
    with rows_progress() as progress:
        if engine == "ray":
            if resume:
                raise UsageError(Errors.E158)
            from sentiq.inference.raydata import score_file_ray

            if truncate:
                raise UsageError(Errors.E165)
            for key in ("max_chars", "truncate"):  # TODO: --max-chars in the Ray readers
                options.pop(key)
            result = score_file_ray(
                model,
                input,
                output,
                address=ray_address,
                concurrency=concurrency,
                batch_size=batch_size,
                num_gpus=num_gpus,
                progress=progress,
                **options,
            )
        else:
            from sentiq.inference.batch import score_file

            result = score_file(
                model, input, output, chunk_rows=chunk_rows, resume=resume, progress=progress, **options
            )
    table = Table(title=f"scored {input}")
    for column in ("rows read", "rows written", "skipped", "seconds", "rows/s", "output"):
        table.add_column(column)
    rate = result.rows_out / max(result.seconds, 1e-9)
    table.add_row(
        f"{result.rows_in:,}",
        f"{result.rows_out:,}",
        f"{result.skipped:,}",
        f"{result.seconds:.1f}",
        f"{rate:,.0f}",
        str(result.output),
    )
    err.print(table)
    for example in result.skipped_examples:
        err.print(f"skipped {example}", style="yellow", highlight=False, markup=False, soft_wrap=True)


def _predict_to_stdout(
    model: Optional[str], input: Path, *, chunk_rows: int, on_bad_rows: str, on_empty: str, **source
) -> None:
    from sentiq.data.stream import open_source
    from sentiq.inference import Predictor
    from sentiq.inference.batch import iter_scored, jsonl_lines

    opened = open_source(input, keep_empty=on_empty != "error", **source)  # an input without records fails first
    predictor = Predictor.load(model)
    rows = unlabelled = 0
    for chunk, table in iter_scored(
        predictor, opened, chunk_rows=chunk_rows, on_bad_rows=on_bad_rows, on_empty=on_empty
    ):
        rows += chunk.rows_in
        unlabelled += table.column("label").null_count if on_empty == "null" else len(chunk.texts) - table.num_rows
        for line in jsonl_lines(table):
            sys.stdout.write(line + "\n")
    if unlabelled:
        what = "left out" if on_empty == "skip" else "given label null"
        err.print(
            f"note {unlabelled} of {rows} texts {what} (empty, emptied by preprocessing or an unsupported "
            "language; each line's note says which)",
            style="yellow",
            highlight=False,
            markup=False,
        )


# One ASCII word that could name a folder (runs/imdb, my-model, builtin:x) is always the model argument.
_PATH_LIKE = re.compile(r"[\w.~/\\:+-]+", re.ASCII)


def _default_text_column(model: str | None, input: Path, encoding: str) -> str:
    """``text``, or the model's training text column when the input has that column and no ``text`` one (a
    ChnSentiCorp model scores another ``label,review`` file with no flag)."""
    from sentiq.data import training_columns
    from sentiq.data.stream import input_columns
    from sentiq.models import Manifest
    from sentiq.models.builtin import resolve_model_dir

    trained = training_columns((Manifest.load(resolve_model_dir(model)).config or {}).get("data") or {})[0]
    if trained and trained != "text":
        names = input_columns(input, encoding=encoding)
        if "text" not in names and trained in names:
            return trained
    return "text"


def _model_and_texts(model: Optional[str], texts: list[str]) -> tuple[Optional[str], list[str]]:
    """`predict MODEL TEXT...` or `predict TEXT...` (the built-in model): a first argument that exists,
    names a built-in or looks like a path is the model; anything else (a sentence, Chinese text,
    emoji) is the first text."""
    from sentiq.models.builtin import DEFAULT, PREFIX

    if model is None or Path(model).exists() or _PATH_LIKE.fullmatch(model):
        return model, texts
    err.print(
        f"using the built-in model {PREFIX}{DEFAULT} (the first argument is not a model directory)",
        style="dim",
        highlight=False,
        markup=False,
    )
    return None, [model, *texts]


def _coloured(explanation):
    """The text with each word's background coloured by its weight (green for, red against)."""
    from rich.text import Text

    text = Text(explanation.text)
    peak = max((abs(w.weight) for w in explanation.words), default=0.0) or 1.0
    for w in explanation.words:
        strength = abs(w.weight) / peak
        if strength < 0.05:
            continue
        level = int(60 + 150 * strength)
        colour = f"rgb({255 - level},{255},{255 - level})" if w.weight > 0 else f"rgb(255,{255 - level},{255 - level})"
        text.stylize(f"black on {colour}", w.start, w.end)
    return text


@friendly_errors
def explain(
    model_dir: Path = typer.Argument(..., help="A sentiq model directory."),
    text: str = typer.Argument(..., help="The text to explain."),
    method: str = typer.Option("auto", help="auto, linear, lexicon, integrated-gradients or occlusion."),
    target: Optional[str] = typer.Option(None, help="Label to explain (default: the predicted one)."),
    top: int = typer.Option(10, help="Rows of the word table."),
    as_json: bool = typer.Option(False, "--json", help="Print the explanation as JSON."),
) -> None:
    """Which words made the model predict what it did: coloured text and a table of word weights."""
    from sentiq.explanations import explain as run_explain

    explanation = run_explain(model_dir, text, method=method, target=target)
    if as_json:
        sys.stdout.write(json.dumps(explanation.to_dict(), ensure_ascii=False) + "\n")
        return
    out.print(
        f"[bold]{explanation.label}[/] ({explanation.score:.3f}) by {explanation.method}; "
        "[green]green[/] supports it, [red]red[/] speaks against it",
        highlight=False,
    )
    out.print(_coloured(explanation))
    table = Table(title=f"words weighing for or against {explanation.label}")
    table.add_column("word")
    table.add_column("weight", justify="right")
    for word, weight in explanation.top(top):
        table.add_row(word, f"[{'green' if weight > 0 else 'red'}]{weight:+.4f}[/]")
    out.print(table)
    details = {k: v for k, v in explanation.details.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if details:
        out.print("  ".join(f"{k}={v:.4g}" for k, v in details.items()), style="dim", highlight=False)
