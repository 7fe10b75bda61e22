"""The runs command group: recorded train, evaluate and compare runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from sentiq.cli.common import cell, friendly_errors, out
from sentiq.errors import Errors, UsageError


@friendly_errors
def runs_list(
    runs_dir: Optional[Path] = typer.Option(None, help="Runs root (default: $SENTIQ_RUNS_DIR, else .sentiq/runs/)."),
    limit: int = typer.Option(20, min=1, help="Show the newest N runs."),
    status: Optional[str] = typer.Option(None, help="Only runs that finished or failed."),
    as_json: bool = typer.Option(False, "--json", help="Print the runs as JSON (one object per run)."),
) -> None:
    """Recorded runs, newest first: command, name, approach, data, status, duration and headline metrics."""
    from sentiq.tracking import load_runs, runs_root
    from sentiq.tracking.runs import duration, run_summary

    if status not in (None, "finished", "failed"):
        raise UsageError(Errors.E108, status=status)
    root = runs_dir or runs_root()
    records = [run_summary(r) for r in load_runs(root) if status is None or r.get("status") == status]
    if as_json:
        sys.stdout.write(json.dumps(records[:limit], indent=2, ensure_ascii=False, default=str) + "\n")
        return
    table = Table(title=f"runs in {root} ({len(records)})")
    for column in (
        "run",
        "command",
        "name",
        "approach",
        "data",
        "status",
        "started",
        "took",
        "accuracy",
        "macro-F1",
        "model",
    ):
        table.add_column(
            column, justify="right" if column in ("took", "accuracy", "macro-F1") else "left", overflow="fold"
        )
    for r in records[:limit]:
        state = r["status"] or "?"
        data = f"{Path(r['data']).name}" if r["data"] else "-"
        table.add_row(
            r["id"] or "?",
            r["command"] or "?",
            r["name"] or "",
            r["approach"] or "-",
            data + (f" ({r['split']})" if r["split"] else ""),
            state if state == "finished" else f"[red]{state}[/]",
            r["started"] or "",
            duration(r["duration_s"]),
            cell(r["accuracy"]),
            cell(r["macro_f1"]),
            r["model_path"] or "-",
        )
    out.print(table)


@friendly_errors
def runs_compare(
    a: str = typer.Argument(..., help="Run id, unique id prefix or run folder."),
    b: str = typer.Argument(..., help="Run id, unique id prefix or run folder."),
    runs_dir: Optional[Path] = typer.Option(None, help="Runs root (default: $SENTIQ_RUNS_DIR, else .sentiq/runs/)."),
    only_diff: bool = typer.Option(False, "--only-diff", help="Show only params and metrics that differ."),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON."),
) -> None:
    """Params and metrics of two runs side by side; differences highlighted."""
    from sentiq.tracking import compare_runs, find_run

    left, right = find_run(a, runs_dir), find_run(b, runs_dir)
    if as_json:
        rows = [
            {"section": sec, "key": key, left["id"]: va, right["id"]: vb, "differs": differs}
            for sec, key, va, vb, differs in compare_runs(left, right)
            if differs or not only_diff
        ]
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False, default=str) + "\n")
        return
    table = Table(title=f"{left['id']} vs {right['id']}")
    for column in ("", "key", left["id"], right["id"]):
        table.add_column(column, overflow="fold")
    rows = compare_runs(left, right)
    for section, key, va, vb, differs in rows:
        if only_diff and not differs:
            continue
        shown = (
            (cell(va), cell(vb))
            if section == "metrics"
            else ("-" if va is None else str(va), "-" if vb is None else str(vb))
        )
        table.add_row(section, key, *shown, style="bold yellow" if differs else None)
    out.print(table)
    changed = sum(1 for row in rows if row[4])
    out.print(f"{changed} of {len(rows)} params and metrics differ")
