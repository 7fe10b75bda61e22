"""Log a run folder to MLflow (``tracking: mlflow``); mlflow is imported only here.

The default store is a local file store, ``file:<runs root>/mlruns``: mlflow-skinny has no
SQLAlchemy, so its own default (``sqlite:///mlflow.db``) would not open. MLflow 3 keeps the
file store in maintenance mode behind ``MLFLOW_ALLOW_FILE_STORE``; sentiq sets that flag for
file URIs only, unless the user set it. Any other URI (a server, a database) is used as given.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import time
from pathlib import Path

from sentiq.config import TrackingConfig
from sentiq.errors import ConfigError, Errors

_PARAM_CHARS = 500  # MLflow caps a param value (6000 in MLflow 2.x+, 500 in older servers)
_BATCH = 100  # params per log_batch call (MLflow's limit)


def require_mlflow() -> None:
    if importlib.util.find_spec("mlflow") is None:
        raise ConfigError(Errors.E145)


def tracking_uri(tracking: TrackingConfig) -> str:
    from sentiq.tracking.runs import runs_root

    return (
        tracking.mlflow_uri
        or os.environ.get("MLFLOW_TRACKING_URI")
        or (runs_root(tracking) / "mlruns").resolve().as_uri()
    )


def _key(name: str) -> str:
    """MLflow keys allow letters, digits, _ - . / space; anything else (e.g. label names in Chinese) becomes _."""
    return re.sub(r"[^A-Za-z0-9_\-. /]", "_", name)[:250]


def client_for(uri: str):
    require_mlflow()
    if uri.startswith("file:") or "://" not in uri:
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def log_run(run_dir: Path, tracking: TrackingConfig, *, status: str = "finished") -> dict:
    """Create one MLflow run from a run folder: params, metrics, tags and the folder's files as artifacts."""
    from mlflow.entities import Metric, Param, RunTag

    record = json.loads((Path(run_dir) / "run.json").read_text(encoding="utf-8"))
    uri = tracking_uri(tracking)
    client = client_for(uri)
    experiment = client.get_experiment_by_name(tracking.experiment)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(tracking.experiment)
    git = (record.get("environment") or {}).get("git") or {}
    tags = {
        "sentiq.command": record["command"],
        "sentiq.run_id": record["id"],
        "sentiq.model_path": record.get("model_path") or "",
        "sentiq.report_path": record.get("report_path") or "",
    }
    if git.get("commit"):
        tags["mlflow.source.git.commit"] = git["commit"]
    run = client.create_run(experiment_id, run_name=record["name"], tags=tags)
    run_id = run.info.run_id
    now = int(time.time() * 1000)
    params = [Param(_key(k), str(v)[:_PARAM_CHARS]) for k, v in record["params"].items()]
    metrics = [Metric(_key(k), float(v), now, 0) for k, v in record["metrics"].items()]
    for start in range(0, max(len(params), len(metrics), 1), _BATCH):
        client.log_batch(
            run_id,
            metrics=metrics[start : start + _BATCH],
            params=params[start : start + _BATCH],
            tags=[RunTag("sentiq.status", status)] if start == 0 else [],
        )
    client.log_artifacts(run_id, str(run_dir))
    client.set_terminated(run_id, status="FINISHED" if status == "finished" else "FAILED")
    return {"tracking_uri": uri, "experiment": tracking.experiment, "run_id": run_id}
