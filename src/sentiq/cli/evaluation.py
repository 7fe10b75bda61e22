"""Commands that judge a model: evaluate (a split or a behaviour file), calibrate, fairness."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from sentiq.cli.common import (
    DATA_FLAGS,
    err,
    friendly_errors,
    metrics_table,
    out,
    parse_label_map,
    progress_bars,
    speaks_flags,
)
from sentiq.errors import Errors, UsageError


def _scored_line(metrics: dict) -> str:
    scored = metrics.get("scored") or {}
    left = scored.get("left_out") or {}
    whole = "the whole file" if not scored.get("band_chosen_on_rows") else "the rest of the file"
    text = (
        f"scored: {scored.get('rows')} rows ({whole if scored.get('split') == 'all' else scored.get('split') + ' split'}"
        f" of {scored.get('source')})"
    )
    if "neutral_band" in scored:
        text += f"; neutral when the top probability is below {0.5 + scored['neutral_band']:.2f}" + (
            f", band chosen on {scored['band_chosen_on_rows']} other rows of the file"
            if scored.get("band_chosen_on_rows")
            else ""
        )
    if left:
        text += "; left out: " + ", ".join(f"{n} ({why})" for why, n in left.items())
    if scored.get("label_map"):
        text += "; labels read with the model's training map " + ",".join(
            f"{k}={v}" for k, v in scored["label_map"].items()
        )
    return text


def _neutral_band(value: Optional[str]):
    if value is None or value == "auto":
        return value
    try:
        band = float(value)
    except ValueError:
        band = -1.0
    if not 0 <= band < 0.5:
        raise UsageError(Errors.E105)
    return band


@friendly_errors
@speaks_flags(DATA_FLAGS)
def evaluate(
    model_dir: Path = typer.Argument(..., help="A sentiq model directory or a built-in (builtin:e5-sentiment-binary)."),
    data: Optional[str] = typer.Option(None, help="Dataset name or file (default: the training data)."),
    split: Optional[str] = typer.Option(
        None,
        help="train, validation, test or all (default: test for the training "
        "data, all for another file: a file of yours is scored whole).",
    ),
    report: Optional[Path] = typer.Option(None, help="Report directory (default: MODEL_DIR/evaluations/...)."),
    text_column: Optional[str] = typer.Option(None, help="Text column of a data file: a name or a 0-based position."),
    label_column: Optional[str] = typer.Option(None, help="Label column of a data file: a name or a 0-based position."),
    label_map: Optional[str] = typer.Option(
        None, help="Raw label to name, e.g. 0=negative,4=positive,2=skip (skip: leave those rows out, counted)."
    ),
    header: Optional[bool] = typer.Option(
        None, "--header/--no-header", help="Whether the CSV's first row is a header (default: detected)."
    ),
    neutral_band: Optional[str] = typer.Option(
        None,
        help="Score a two-class model on data with a neutral class: "
        "neutral when the top probability is below 0.5+BAND; auto chooses the "
        "band on a held-out 20% of the file (those rows are not scored).",
    ),
    fairness: Optional[bool] = typer.Option(
        None,
        "--fairness/--no-fairness",
        help="Run the template fairness check (default: the model's "
        "evaluation.fairness on its training data; off for other data).",
    ),
    important_words: Optional[bool] = typer.Option(
        None,
        "--important-words/--no-important-words",
        help="Find each class's most important words (default: the model's "
        "config on its training data; off for other data).",
    ),
    behaviour: Optional[Path] = typer.Option(
        None,
        help="Behaviour test file (CSV text,expected[,capability]) or a "
        "built-in suite (en): pass/fail per sentence and per capability "
        "instead of a dataset split; exit 1 when any fails.",
    ),
) -> None:
    """Score a model on a dataset split (or a behaviour test file); write report.html and metrics.json
    (with calibration, slices, fairness and important words)."""
    from sentiq.models.builtin import resolve_model_dir
    from sentiq.workflows import evaluate as run_evaluate

    model_dir = resolve_model_dir(model_dir)  # builtin:NAME -> its folder in the cache

    if behaviour is not None:
        if data is not None:
            raise UsageError(Errors.E106)
        _evaluate_behaviour(model_dir, behaviour, report)
        return

    with progress_bars() as progress:
        metrics, report_dir = run_evaluate(
            model_dir,
            data=data,
            split=split,
            report_dir=report,
            text_column=text_column,
            label_column=label_column,
            label_map=parse_label_map(label_map),
            header=header,
            neutral_band=_neutral_band(neutral_band),
            fairness=fairness,
            important_words=important_words,
            progress=progress,
        )
    scored = metrics["scored"]
    where = "whole file" if scored["split"] == "all" else f"{scored['split']} split"
    if scored.get("band_chosen_on_rows"):
        where += f" less {scored['band_chosen_on_rows']} band rows"
    out.print(metrics_table(metrics, f"{model_dir.name} on {data or 'training data'} ({where}, {scored['rows']} rows)"))
    out.print(_scored_line(metrics), highlight=False)
    out.print(f"report: {report_dir / 'report.html'}")


def _evaluate_behaviour(model_dir: Path, behaviour: Path, report: Optional[Path]) -> None:
    from sentiq.workflows import evaluate_behaviour

    result = evaluate_behaviour(model_dir, behaviour, report_dir=report)
    table = Table(title=f"{model_dir.name}: behaviour tests {behaviour.name}")
    for column in ("result", "text", "expected", "predicted", "confidence"):
        table.add_column(column, justify="right" if column == "confidence" else "left")
    for case in result.cases:
        mark = "[green]pass[/]" if case.passed else "[bold red]FAIL[/]"
        table.add_row(mark, escape(case.text), case.expected, case.predicted, f"{case.confidence:.3f}")
    out.print(table)
    capabilities = result.metrics.get("behaviour_capabilities") or {}
    if set(capabilities) - {""}:
        summary = Table(title="pass rate per capability")
        for column in ("capability", "passed", "pass rate"):
            summary.add_column(column, justify="left" if column == "capability" else "right")
        for name, row in capabilities.items():
            summary.add_row(name, f"{row['passed']}/{row['total']}", f"{100 * row['pass_rate']:.1f}%")
        out.print(summary)
    passed = len(result.cases) - len(result.failures)
    out.print(
        f"{passed}/{len(result.cases)} passed", style="green" if not result.failures else "bold red", highlight=False
    )
    out.print(f"report: {result.report_dir / 'report.html'}")
    if result.failures:  # like a test runner: a failing sentence fails the command
        for case in result.failures:
            err.print(
                f"FAIL {case.text!r}: expected {case.expected}, got {case.predicted} ({case.confidence:.3f})",
                style="red",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
        raise typer.Exit(1)


@friendly_errors
def calibrate(
    model_dir: Path = typer.Argument(..., help="A sentiq model directory (its manifest is updated)."),
    data: Optional[str] = typer.Option(None, help="Dataset name or file (default: the training data)."),
    split: str = typer.Option("validation", help="Split to fit on: validation (default), train, test or all."),
) -> None:
    """Fit temperature scaling for an existing model on a held-out split; record it in sentiq.json."""
    from sentiq.workflows import calibrate as run_calibrate

    with progress_bars() as progress:
        result = run_calibrate(model_dir, data=data, split=split, progress=progress)
    table = Table(title=f"{model_dir.name}: temperature scaling on {result['split']} ({result['n']} texts)")
    for column in ("", "before", "after"):
        table.add_column(column, justify="right")
    for key in ("ece", "log_loss", "mean_confidence"):
        table.add_row(key, f"{result['before'][key]:.4f}", f"{result['after'][key]:.4f}")
    out.print(table)
    t = result["temperature"]
    out.print("temperature: none (no validation error to fit on)" if t is None else f"temperature: {t:.4f}")


@friendly_errors
def fairness(
    model_dir: Path = typer.Argument(..., help="A sentiq model directory."),
    templates: Optional[Path] = typer.Option(None, help="Your own template JSON (default: shipped en/zh set)."),
    as_json: bool = typer.Option(False, "--json", help="Print the full result as JSON."),
) -> None:
    """Template fairness check: the same sentences with different names or groups; prints the spread."""
    from sentiq.workflows import fairness_check

    result = fairness_check(model_dir, templates=templates)
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
        return
    for item in result["sets"]:
        table = Table(
            title=f"{item['name']}: spread {item['spread']:.4f} "
            f"({item['templates_with_label_flips']}/{len(item['templates'])} templates flip the label)"
        )
        table.add_column("group")
        table.add_column(f"mean {result['score']}", justify="right")
        for group, mean in sorted(item["group_means"].items(), key=lambda kv: kv[1]):
            table.add_row(group, f"{mean:.4f}")
        out.print(table)
    out.print(f"largest spread: {result['spread']:.4f}")
