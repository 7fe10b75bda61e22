"""The runs command group: recorded train, evaluate and compare runs."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from sentiq.cli.common import cell, friendly_errors, out


@friendly_errors
def runs_list(
    runs_dir: Optional[Path] = typer.Option(None, help="Runs root (default: $SENTIQ_RUNS_DIR, else runs/)."),
    limit: int = typer.Option(20, min=1, help="Show the newest N runs."),
) -> None:
    """Recorded runs, newest first: command, name, status, duration and headline metrics."""
    from sentiq.tracking import load_runs, runs_root
    from sentiq.tracking.runs import duration

    root = runs_dir or runs_root()
    records = load_runs(root)
    table = Table(title=f"runs in {root} ({len(records)})")
    for column in ("run", "command", "name", "status", "started", "took", "accuracy", "macro-F1", "model"):
        table.add_column(column, justify="right" if column in ("took", "accuracy", "macro-F1") else "left")
    for r in records[:limit]:
        metrics = r.get("metrics") or {}
        status = r.get("status", "?")
        table.add_row(r.get("id", "?"), r.get("command", "?"), r.get("name", ""),
                      status if status == "finished" else f"[red]{status}[/]", r.get("started", ""),
                      duration(r.get("duration_s")), cell(metrics.get("accuracy")), cell(metrics.get("macro_f1")),
                      r.get("model_path") or "-")
    out.print(table)


@friendly_errors
def runs_compare(
    a: str = typer.Argument(..., help="Run id, unique id prefix or run folder."),
    b: str = typer.Argument(..., help="Run id, unique id prefix or run folder."),
    runs_dir: Optional[Path] = typer.Option(None, help="Runs root (default: $SENTIQ_RUNS_DIR, else runs/)."),
    only_diff: bool = typer.Option(False, "--only-diff", help="Show only params and metrics that differ."),
) -> None:
    """Params and metrics of two runs side by side; differences highlighted."""
    from sentiq.tracking import compare_runs, find_run

    left, right = find_run(a, runs_dir), find_run(b, runs_dir)
    table = Table(title=f"{left['id']} vs {right['id']}")
    for column in ("", "key", left["id"], right["id"]):
        table.add_column(column, overflow="fold")
    rows = compare_runs(left, right)
    for section, key, va, vb, differs in rows:
        if only_diff and not differs:
            continue
        shown = (cell(va), cell(vb)) if section == "metrics" else ("-" if va is None else str(va), "-" if vb is None else str(vb))
        table.add_row(section, key, *shown, style="bold yellow" if differs else None)
    out.print(table)
    changed = sum(1 for row in rows if row[4])
    out.print(f"{changed} of {len(rows)} params and metrics differ")
