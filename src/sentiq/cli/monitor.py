"""The monitor command: drift between training data and live inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from sentiq.cli.common import friendly_errors, out, progress_bars


def _drift_table(result) -> Table:
    colours = {"ok": "green", "warn": "yellow", "drift": "bold red", "skipped": "dim"}
    table = Table(title=f"drift: {result.current.source} vs {result.reference.source}")
    for column in ("check", "status", "test", "statistic", "p-value", "PSI / AUC"):
        table.add_column(column, justify="left" if column in ("check", "status", "test") else "right")
    for c in result.checks:
        effect = c.auc if c.auc is not None else c.psi
        table.add_row(
            c.name,
            f"[{colours.get(c.status, 'white')}]{c.status}[/]",
            c.test,
            "" if c.statistic is None else f"{c.statistic:.4f}",
            "" if c.p_value is None else f"{c.p_value:.3g}",
            "" if effect is None else f"{effect:.4f}",
        )
    return table


@friendly_errors
def monitor(
    reference: str = typer.Option(
        ...,
        "--reference",
        "-r",
        help="Training data: a built-in dataset, a data file, "
        "a model directory (its training data, predicted by it) or an earlier request log.",
    ),
    current: str = typer.Option(
        ...,
        "--current",
        "-c",
        help="Live data: the service's request log (JSON lines; "
        "the per-worker files of serve --workers N are read as one: requests.jsonl) "
        "or a .txt/.csv/.jsonl/.parquet file of texts.",
    ),
    model: Optional[Path] = typer.Option(
        None,
        "--model",
        "-m",
        help="Model that predicts texts without predictions (default: the reference, when it is a model directory).",
    ),
    output: Path = typer.Option(
        Path("drift-report"), "--output", "-o", help="Directory for drift.json and drift.html."
    ),
    max_texts: int = typer.Option(2000, min=20, help="Rows sampled from each side (seeded)."),
    embeddings: bool = typer.Option(True, help="Run the embedding check (needs texts on both sides and torch)."),
    encoder: str = typer.Option("minilm", help="Sentence encoder of the embedding check."),
    embedding_texts: int = typer.Option(500, min=20, help="Texts per side for the embedding check."),
    text_column: str = typer.Option("text", help="Text column of a data file."),
    alpha: float = typer.Option(0.01, min=0.0, max=1.0, help="Significance level of the tests."),
    psi_threshold: float = typer.Option(0.2, min=0.0, help="PSI at or above which a significant shift is drift."),
    auc_threshold: float = typer.Option(0.6, min=0.5, max=1.0, help="Embedding-classifier AUC that counts as drift."),
    seed: int = typer.Option(42, help="Seed for sampling and cross-validation."),
) -> None:
    """Compare live inputs and predictions with the training data. Exit 0: no drift, 3: drift, 1: error."""
    from sentiq.monitoring import DRIFT_EXIT_CODE, Thresholds
    from sentiq.monitoring import monitor as run_monitor

    thresholds = Thresholds(
        alpha=alpha,
        psi_warn=min(0.1, psi_threshold),
        psi_drift=psi_threshold,
        auc_warn=min(0.55, auc_threshold),
        auc_drift=auc_threshold,
    )
    with progress_bars() as progress:
        result = run_monitor(
            reference,
            current,
            model=str(model) if model else None,
            output_dir=output,
            max_texts=max_texts,
            embeddings=embeddings,
            encoder=encoder,
            embedding_texts=embedding_texts,
            thresholds=thresholds,
            seed=seed,
            text_column=text_column,
            progress=progress,
        )
    out.print(_drift_table(result))
    out.print(f"overall: {result.status}\nreport: {output / 'drift.html'}")
    if result.drift:
        raise typer.Exit(DRIFT_EXIT_CODE)
