"""The REST service: ``create_app(settings)`` (FastAPI), micro-batching, metrics, request log.

Needs the ``serve`` extra (fastapi, uvicorn, prometheus-client).
"""

from sentiq.serving.settings import ServeSettings

__all__ = ["ServeSettings", "create_app", "run"]


def __getattr__(name: str):
    if name in ("create_app", "run"):
        from sentiq.serving import app

        return getattr(app, name)
    raise AttributeError(f"module 'sentiq.serving' has no attribute {name!r}")
