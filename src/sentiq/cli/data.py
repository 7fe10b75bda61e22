"""The data command group: look at datasets before training on them."""

from __future__ import annotations

import json
import sys
from typing import Optional

import typer
from rich.table import Table

from sentiq.cli.common import DATA_FLAGS, friendly_errors, out, parse_label_map, speaks_flags


@friendly_errors
@speaks_flags(DATA_FLAGS)
def data_inspect(
    source: str = typer.Argument(
        ..., help="Built-in name (imdb, sentiment140, chnsenticorp, waimai, weibo_senti_100k) or file."
    ),
    text_column: Optional[str] = typer.Option(None, help="Text column of a data file: a name or a 0-based position."),
    label_column: Optional[str] = typer.Option(None, help="Label column of a data file: a name or a 0-based position."),
    label_map: Optional[str] = typer.Option(None, help="Raw label to name, e.g. 0=negative,4=positive,2=skip."),
    header: Optional[bool] = typer.Option(
        None, "--header/--no-header", help="Whether the CSV's first row is a header (default: detected)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Counts per class and split, dropped rows, duplicates and train/test overlap."""
    from sentiq.workflows import inspect_data

    report = inspect_data(
        source, text_column=text_column, label_column=label_column, label_map=parse_label_map(label_map), header=header
    )
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"{report.source} ({report.language})")
    table.add_column("split")
    for label in report.labels:
        table.add_column(label, justify="right")
    table.add_column("duplicates", justify="right")
    table.add_column("overlap with train", justify="right")
    for split, counts in report.counts.items():
        overlap = report.overlap.get(f"train/{split}", "")
        table.add_row(
            split,
            *[str(counts.get(lab, 0)) for lab in report.labels],
            str(report.duplicates.get(split, 0)),
            str(overlap),
        )
    out.print(table)
    skipped = "".join(f", {n} labelled {value} (skip)" for value, n in report.skipped.items())
    out.print(
        f"dropped: {report.dropped_empty} empty texts, {report.dropped_missing_label} rows without a label{skipped}"
        + ("; the file has no header row (columns by 0-based position)" if report.headerless else "")
    )
    for warning in report.warnings:
        out.print(f"warning {warning}", style="yellow", highlight=False, markup=False, soft_wrap=True)
