"""Experiment tracking: a run folder per train/evaluate/compare run, optionally mirrored to MLflow.

``runs`` needs nothing beyond the standard library and PyYAML; ``mlflow_backend`` imports
mlflow lazily, only for ``tracking: mlflow``.
"""

from sentiq.tracking.runs import RUNS_ENV, Run, compare_runs, find_run, load_runs, runs_root, tracked_run

__all__ = ["RUNS_ENV", "Run", "compare_runs", "find_run", "load_runs", "runs_root", "tracked_run"]
