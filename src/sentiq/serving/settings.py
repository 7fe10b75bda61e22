"""Service settings: one pydantic model, filled from ``SENTIQ_*`` environment variables.

Every field can be set as ``SENTIQ_<FIELD>`` (``SENTIQ_MAX_TEXTS=16``,
``SENTIQ_API_KEY=...``). ``sentiq serve`` turns its options into the same variables so
that every uvicorn worker process builds the same settings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from sentiq.errors import ConfigError, Errors

ENV_PREFIX = "SENTIQ_"


class ServeSettings(BaseModel):
    """Everything the REST service needs; each field is ``SENTIQ_<NAME>`` in the environment."""

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())

    model_dir: Path = Field(..., description="The sentiq model directory to serve (any approach, or ONNX).")
    host: str = Field("127.0.0.1", description="Interface to listen on (0.0.0.0 for all).")
    port: int = Field(8000, ge=0, le=65535, description="TCP port to listen on.")
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes; each loads the model once.")
    batching: bool | Literal["auto"] = Field(
        "auto",
        description="Gather concurrent requests into one model call (dynamic micro-batching): true, false or "
        "auto (on when the model runs on a GPU, off on a CPU, where a batched forward costs as "
        "much per text as single ones and a lone request would only wait; docs/benchmarks.md).",
    )
    max_batch_size: int = Field(32, ge=1, le=4096, description="Most texts in one gathered model call.")
    max_wait_ms: float = Field(5.0, ge=0, le=1000, description="Longest a request waits for others to join its batch.")
    max_texts: int = Field(64, ge=1, le=10_000, description="Most texts in one request (more: 422).")
    max_chars: int = Field(20_000, ge=1, le=1_000_000, description="Most characters in one text (more: 422).")
    max_explain_texts: int = Field(
        8,
        ge=0,
        le=10_000,
        description="Most texts in one request with explain=true (more: 422); explanations cost far more than predictions (integrated gradients for transformers). 0 turns explanations off.",
    )
    explain_max_tokens: int = Field(
        64,
        ge=1,
        le=4096,
        description="Explanation budget per text: the most tokens integrated gradients explain and the most words occlusion removes one by one (later words weigh 0).",
    )
    explain_steps: int = Field(
        16,
        ge=2,
        le=300,
        description="Integrated-gradients steps per explained text (cost: about this many forward and backward passes).",
    )
    explain_timeout_s: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="Longest a request's explanations may take, queueing included (more: 503 with Retry-After).",
    )
    max_explain_queue: int = Field(
        2,
        ge=1,
        le=1000,
        description="Most requests with explain=true running or waiting at once (more: 429 with Retry-After).",
    )
    max_queue_texts: int = Field(
        256,
        ge=1,
        le=1_000_000,
        description="Most texts waiting for the model (more: 429 with Retry-After, so overload sheds requests instead of growing latency).",
    )
    header_timeout_s: float = Field(
        10.0,
        gt=0,
        le=600,
        description="Longest a client may take to send a request's headers, on a new or kept-alive connection (then 408 and the connection is closed).",
    )
    keep_alive_s: float = Field(
        5.0, gt=0, le=600, description="Idle keep-alive connections are closed after this many seconds."
    )
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest request body in bytes (more: 413).")
    api_key: SecretStr | None = Field(
        None, description="When set, /v1/predict and /metrics need this value in the X-API-Key header (else 401)."
    )
    request_log: Path | None = Field(
        None,
        description="JSON-lines request log file (rotated); '{pid}' in the name becomes the worker's process id, and with several workers it is put before the suffix when the name lacks it (requests.jsonl: requests.<pid>.jsonl, one file per worker; `sentiq monitor --current requests.jsonl` reads them all). Off when unset.",
    )
    request_log_text: bool = Field(
        False, description="Also write the raw text of each request into the request log (privacy: off by default)."
    )
    request_log_max_bytes: int = Field(
        50_000_000, ge=1024, description="Rotate the request log when it reaches this size."
    )
    request_log_backups: int = Field(5, ge=0, description="Rotated request log files kept.")
    access_log: bool = Field(True, description="uvicorn's per-request access log on stderr.")
    model_name: str | None = Field(
        None,
        description="Model name/version reported in responses and logs (default: the run name and its creation time from sentiq.json).",
    )

    @model_validator(mode="before")
    @classmethod
    def _one_request_log_per_worker(cls, values):
        # Workers must not share one file: each rotates its own, and two rotating one file lose records.
        if (
            isinstance(values, dict)
            and values.get("request_log")
            and str(values.get("workers", 1)).strip() not in ("", "1")
        ):
            path = Path(values["request_log"])
            if "{pid}" not in path.name:
                values = {**values, "request_log": path.with_name(f"{path.stem}.{{pid}}{path.suffix}")}
        return values

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> "ServeSettings":
        """Settings from ``SENTIQ_*`` variables; keyword overrides win. Bad values raise E100."""
        environ = os.environ if environ is None else environ
        values: dict = {}
        for name in cls.model_fields:
            raw = environ.get(ENV_PREFIX + name.upper())
            if raw is not None and raw != "":
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{ENV_PREFIX}{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
            )
            raise ConfigError(Errors.E144, problems=problems) from None

    def to_env(self) -> dict[str, str]:
        """The ``SENTIQ_*`` variables that rebuild these settings in another process."""
        env = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[ENV_PREFIX + name.upper()] = str(value).lower() if isinstance(value, bool) else str(value)
        return env
