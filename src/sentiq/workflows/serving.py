"""``serve``: the REST service over a model directory (settings not given come from SENTIQ_* variables)."""

from __future__ import annotations

from pathlib import Path

from sentiq.serving import ServeSettings


def serve(
    model_dir: str | Path,
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    batching: bool | None = None,
    request_log: str | Path | None = None,
) -> None:
    """Run the service until stopped; see :class:`~sentiq.serving.ServeSettings` for every setting."""
    from sentiq.serving import run  # lazy: the service stack (fastapi, uvicorn) loads only to serve

    run(
        ServeSettings.from_env(
            model_dir=model_dir, host=host, port=port, workers=workers, batching=batching, request_log=request_log
        )
    )
