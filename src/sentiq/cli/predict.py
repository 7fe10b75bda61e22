"""Commands that use a model on texts: predict, explain."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from sentiq.cli.common import err, friendly_errors, out, progress_bars
from sentiq.errors import SentiqError


@friendly_errors
def predict(
    model_dir: Path = typer.Argument(..., help="A sentiq model directory."),
    texts: Optional[list[str]] = typer.Argument(None, help="Texts to classify."),
    input: Optional[Path] = typer.Option(None, "--input", "-i", help="File of texts (.txt lines, .csv/.jsonl/.parquet)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write JSON lines here instead of stdout."),
    text_column: str = typer.Option("text", help="Text column of a table input."),
    max_chars: int = typer.Option(100_000, min=1, help="Longest text in characters; a longer one is an error "
                                  "naming its line (or is cut with --truncate)."),
    truncate: bool = typer.Option(False, help="Cut texts over --max-chars instead of refusing them."),
) -> None:
    """Print one JSON line per text: {"text", "label", "score", "scores"} (+ "language" for routed models)."""
    from sentiq.data import read_texts
    from sentiq.data.files import check_text_lengths
    from sentiq.inference import Predictor
    from sentiq.workflows import predict_to_file

    if bool(texts) == bool(input):
        raise SentiqError("give texts as arguments or --input FILE (one of the two)")
    if texts:
        items = check_text_lengths(texts, max_chars=max_chars, truncate=truncate)
    else:
        items = read_texts(input, text_column=text_column, keep_empty_rows=True, max_chars=max_chars, truncate=truncate)
    predictor = Predictor.load(model_dir)
    if output:
        with progress_bars() as progress:
            n = predict_to_file(predictor, items, output, progress=progress)
        err.print(f"wrote {n} predictions to {output}")
        return
    for text, pred in zip(items, predictor.predict(items)):
        sys.stdout.write(json.dumps({"text": text, **pred.to_dict()}, ensure_ascii=False) + "\n")


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
    out.print(f"[bold]{explanation.label}[/] ({explanation.score:.3f}) by {explanation.method}; "
              "[green]green[/] supports it, [red]red[/] speaks against it", highlight=False)
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
