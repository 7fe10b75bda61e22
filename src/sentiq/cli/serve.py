"""The serve command: the REST service over a model directory."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from sentiq.cli.common import friendly_errors


@friendly_errors
def serve(
    model_dir: Path = typer.Argument(..., help="A sentiq model directory or a built-in (builtin:e5-sentiment)."),
    host: Optional[str] = typer.Option(None, help="Interface to listen on (env SENTIQ_HOST; default 127.0.0.1)."),
    port: Optional[int] = typer.Option(None, help="TCP port (env SENTIQ_PORT; default 8000)."),
    workers: Optional[int] = typer.Option(
        None, help="Worker processes, each loading the model (env SENTIQ_WORKERS; default 1)."
    ),
    batching: Optional[bool] = typer.Option(
        None,
        "--batching/--no-batching",
        help="Gather concurrent requests into one model call (env SENTIQ_BATCHING; default auto: on with a GPU, off on a CPU).",
    ),
    request_log: Optional[Path] = typer.Option(None, help="JSON-lines request log file (env SENTIQ_REQUEST_LOG)."),
) -> None:
    """Serve a model over HTTP: POST /v1/predict, /health, /ready, /metrics, a try-it page at /, docs at /docs.

    Every other setting is an environment variable (SENTIQ_API_KEY, SENTIQ_MAX_TEXTS, ...; see docs/serving.md).
    """
    from sentiq.models.builtin import resolve_model_dir
    from sentiq.workflows import serve as run_serve

    run_serve(
        resolve_model_dir(model_dir), host=host, port=port, workers=workers, batching=batching, request_log=request_log
    )
