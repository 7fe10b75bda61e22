"""Run folders: every train, evaluate and compare run leaves one under the runs root.

``<runs root>/<UTC time>-<command>-<name>-<4 hex>/`` holds ``run.json`` (command, name,
status, times, flattened params, metrics, model and report paths, environment),
``config.yaml``, ``metrics.json`` and ``environment.json``. Recording is a side channel:
a failure to write it is logged and never fails the run it describes.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
import os
import re
import secrets
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

from sentiq.atomic import atomic_directory, atomic_write_text
from sentiq.config import TrackingConfig
from sentiq.errors import ConfigError, Errors, shorten

log = logging.getLogger(__name__)

RUNS_ENV = "SENTIQ_RUNS_DIR"
RUN_FILE = "run.json"
MAX_ERROR_CHARS = 2000
MAX_PARAM_CHARS = 500


DEFAULT_RUNS_DIR = Path(".sentiq") / "runs"  # apart from ./runs/, where the README's examples put models


def runs_root(tracking: TrackingConfig | None = None) -> Path:
    configured = tracking.runs_dir if tracking is not None else None
    return Path(configured or os.environ.get(RUNS_ENV) or DEFAULT_RUNS_DIR)


def flatten(mapping: dict, prefix: str = "") -> dict[str, Any]:
    """Nested dicts to dotted keys; lists and None kept as JSON text (how params are compared and logged)."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, (list, tuple, dict)) or value is None:
            flat[name] = json.dumps(value, ensure_ascii=False)
        else:
            flat[name] = value
    return flat


def numeric_metrics(metrics: dict) -> dict[str, float]:
    """The finite numbers among (nested) metrics, with dotted keys; matrices and texts are left out."""
    out = {}
    for key, value in flatten(metrics).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if math.isfinite(value):
            out[key] = float(value)
    return out


@dataclass
class Run:
    """A run being recorded; the workflow fills in metrics and paths before it ends."""

    command: str
    name: str
    params: dict[str, Any]
    config: dict | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    model_path: str | None = None
    report_path: str | None = None
    path: Path | None = None  # the run folder, once written

    def log_metrics(self, metrics: dict) -> None:
        self.metrics.update(numeric_metrics(metrics))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:40] or "run"


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def _process_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (Linux), so a reused pid is not taken for the run's process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]  # field 22, counted after the command name


def _process_alive(pid: int, start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return start is None or _process_start(pid) in (None, start)


def _record_dict(run: Run, run_id: str, *, status: str, started: _dt.datetime, error: str | None) -> dict:
    from sentiq.tracking.environment import environment

    finished = None if status == "running" else _now()
    return {
        "id": run_id,
        "command": run.command,
        "name": run.name,
        "status": status,
        "error": None if error is None else shorten(error, MAX_ERROR_CHARS),
        "started": started.isoformat(timespec="milliseconds"),
        "finished": finished.isoformat(timespec="milliseconds") if finished else None,
        "duration_s": round((finished - started).total_seconds(), 3) if finished else None,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "pid_start": _process_start(os.getpid()),
        "model_path": run.model_path,
        "report_path": run.report_path,
        "params": _capped(run.params),
        "metrics": run.metrics,
        "environment": environment(),
    }


def _capped(params: dict) -> dict:
    """Params as recorded: string values cut (a config may carry a whole text or a 100 MB path by mistake)."""
    return {k: shorten(v, MAX_PARAM_CHARS) if isinstance(v, str) else v for k, v in params.items()}


def _write_files(folder: Path, run: Run, record: dict) -> None:
    atomic_write_text(folder / "metrics.json", json.dumps(run.metrics, indent=2))
    atomic_write_text(folder / "environment.json", json.dumps(record["environment"], indent=2, default=str))
    atomic_write_text(
        folder / "config.yaml",
        yaml.safe_dump(run.config if run.config is not None else run.params, sort_keys=False, allow_unicode=True),
    )
    atomic_write_text(folder / RUN_FILE, json.dumps(record, indent=2, ensure_ascii=False, default=str))  # last


def _start_folder(run: Run, root: Path, *, started: _dt.datetime) -> Path:
    """The run folder with a ``running`` record: a run killed with kill -9 still leaves one (listed as interrupted)."""
    run_id = f"{started:%Y%m%d-%H%M%S}-{run.command}-{_slug(run.name)}-{secrets.token_hex(2)}"
    with atomic_directory(root / run_id, overwrite=False) as tmp:
        _write_files(tmp, run, _record_dict(run, run_id, status="running", started=started, error=None))
    return root / run_id


def _record(run: Run, tracking: TrackingConfig, *, status: str, started: _dt.datetime, error: str | None) -> None:
    try:
        if run.path is None:  # the running record could not be written at the start: try once more
            run.path = _start_folder(run, runs_root(tracking), started=started)
        _write_files(run.path, run, _record_dict(run, run.path.name, status=status, started=started, error=error))
    except Exception as exc:  # a full disk or a read-only runs root must not fail a finished training
        log.warning("could not record the %s run under %s: %s", run.command, runs_root(tracking), exc)
        return
    log.info("run recorded in %s", run.path)
    if tracking.backend == "mlflow":
        from sentiq.tracking.mlflow_backend import log_run

        try:
            info = log_run(run.path, tracking, status=status)
        except Exception as exc:
            log.warning("could not log the run to MLflow: %s", exc)
            info = {"error": str(exc)}
        record = json.loads((run.path / RUN_FILE).read_text(encoding="utf-8"))
        record["mlflow"] = info
        atomic_write_text(run.path / RUN_FILE, json.dumps(record, indent=2, ensure_ascii=False, default=str))


@contextmanager
def tracked_run(
    command: str, *, name: str, tracking: TrackingConfig | None, params: dict, config: dict | None = None
) -> Iterator[Run]:
    """Record the ``with`` block as a run: ``running`` from the start, then ``finished`` when it returns or
    ``failed`` (with the error) when it raises. A process killed outright leaves ``running``, which
    :func:`load_runs` reports as ``interrupted`` once its process is gone."""
    tracking = tracking or TrackingConfig()
    run = Run(command, name, flatten(params), config)
    if tracking.backend == "none":
        yield run
        return
    if tracking.backend == "mlflow":
        from sentiq.tracking.mlflow_backend import require_mlflow

        require_mlflow()  # fail before hours of training, not after
    started = _now()
    try:
        run.path = _start_folder(run, runs_root(tracking), started=started)
    except Exception as exc:  # recording is a side channel
        log.warning("could not start the %s run record under %s: %s", command, runs_root(tracking), exc)
    try:
        yield run
    except BaseException as exc:
        _record(run, tracking, status="failed", started=started, error=f"{type(exc).__name__}: {exc}")
        raise
    _record(run, tracking, status="finished", started=started, error=None)


def effective_status(record: dict) -> str:
    """``interrupted`` for a ``running`` record whose process (on this host) is gone; else the recorded status."""
    status = record.get("status", "?")
    if status != "running" or record.get("host") != socket.gethostname() or not record.get("pid"):
        return status
    return status if _process_alive(int(record["pid"]), record.get("pid_start")) else "interrupted"


def load_runs(root: str | Path | None = None) -> list[dict]:
    """Every readable run record under the root, newest first (unreadable folders are skipped)."""
    root = Path(root) if root is not None else runs_root()
    records = []
    for path in sorted(root.glob(f"*/{RUN_FILE}")) if root.is_dir() else []:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            log.warning("skipping unreadable run record %s: %s", path, exc)
            continue
        record["path"] = str(path.parent)
        record["status"] = effective_status(record)
        records.append(record)
    # Millisecond timestamps: a train and the evaluate right after it often start in the same second.
    return sorted(records, key=lambda r: (r.get("started", ""), r.get("id", "")), reverse=True)


def run_summary(record: dict) -> dict:
    """The fields ``sentiq runs list`` shows for a record: which approach, which data, how it ended."""
    params, metrics = record.get("params") or {}, record.get("metrics") or {}
    return {
        "id": record.get("id"),
        "command": record.get("command"),
        "name": record.get("name"),
        "approach": params.get("approach"),
        "data": params.get("data.source") or params.get("data"),
        "split": params.get("split"),
        "status": record.get("status"),
        "error": record.get("error"),
        "started": record.get("started"),
        "duration_s": record.get("duration_s"),
        "accuracy": metrics.get("accuracy"),
        "macro_f1": metrics.get("macro_f1"),
        "model_path": record.get("model_path"),
        "path": record.get("path"),
    }


def find_run(ref: str, root: str | Path | None = None) -> dict:
    """A run by folder path, full id or unique id prefix."""
    path = Path(ref)
    if (path / RUN_FILE).is_file():
        record = json.loads((path / RUN_FILE).read_text(encoding="utf-8"))
        return {**record, "path": str(path), "status": effective_status(record)}
    matches = [r for r in load_runs(root) if r.get("id", "").startswith(ref)]
    exact = [r for r in matches if r.get("id") == ref]
    if exact or len(matches) == 1:
        return (exact or matches)[0]
    where = Path(root) if root is not None else runs_root()
    if not matches:
        raise ConfigError(Errors.E162, ref=ref, where=where)
    raise ConfigError(Errors.E163, ref=ref, n_matches=len(matches), where=where)


def compare_runs(a: dict, b: dict) -> list[tuple[str, str, Any, Any, bool]]:
    """Rows ``(section, key, value in a, value in b, differs)`` over params then metrics."""
    rows = []
    for section in ("params", "metrics"):
        left, right = a.get(section) or {}, b.get(section) or {}
        for key in sorted(left.keys() | right.keys()):
            va, vb = left.get(key), right.get(key)
            rows.append((section, key, va, vb, va != vb))
    return rows


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return time.strftime("%H:%M:%S", time.gmtime(seconds)) if seconds >= 60 else f"{seconds:.1f}s"
