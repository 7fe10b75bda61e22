"""What a run ran on: Python, packages, machine, git commit. Cheap: imports nothing heavy."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata

PACKAGES = (
    "sentiq",
    "torch",
    "transformers",
    "accelerate",
    "scikit-learn",
    "numpy",
    "pandas",
    "scipy",
    "onnxruntime",
    "mlflow-skinny",
    "mlflow",
)


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_state() -> dict | None:
    """Commit and dirty flag of the git checkout the run started in (None outside one)."""
    commit = _git("rev-parse", "HEAD")
    if not commit:
        return None
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "branch": _git("rev-parse", "--abbrev-ref", "HEAD"), "dirty": bool(status)}


def _memory_gib() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def _accelerator() -> str | None:
    torch = sys.modules.get("torch")  # only when the run already imported it
    if torch is None:
        return None
    try:
        if torch.cuda.is_available():
            return ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    except Exception:  # a broken CUDA setup must not break the record
        return None
    return "cpu"


def environment() -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpus": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "hostname": platform.node(),
        "accelerator": _accelerator(),
        "packages": package_versions(),
        "git": git_state(),
        "argv": sys.argv[:],
    }
