"""What every benchmark result records, in one place: the machine, library versions, thread
settings, git commit, the exact command and the time; ``write_result`` writes it all atomically.

The scripts in this folder import it as a sibling module (``import harness``): Python puts a
script's own folder first on ``sys.path``, so ``python benchmarks/NAME.py`` needs no path set-up.

    from harness import write_result
    write_result("drift", {"texts": 2000, "pairs": [...]})   # -> benchmarks/results/drift-20261204T181500Z.json
"""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = RESULTS.parents[1]
LIBRARIES = ("sentiq", "numpy", "torch", "transformers", "tokenizers", "onnxruntime", "scikit-learn", "ray")
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "SENTIQ_NUM_THREADS",
    "TOKENIZERS_PARALLELISM",
)


def cpu_model() -> str:
    """The CPU's marketing name (``/proc/cpuinfo``), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def ram_gib() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def load_average() -> list[float] | None:
    """1, 5 and 15-minute load averages (a busy machine skews wall times; record it before and after)."""
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def machine() -> dict:
    """CPU model, logical cores, cores this process may use, RAM, GPU (only when torch is already loaded)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info = {
        "cpu": cpu_model(),
        "arch": platform.machine(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "ram_gib": ram_gib(),
        "platform": platform.platform(),
        "load_average": load_average(),
    }
    torch = sys.modules.get("torch")  # never import torch here: some benchmarks measure a torch-free process
    if torch is not None:
        info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return info


def describe_machine() -> str:
    """One line for tables and per-side records: ``CPU model, N cores, X GiB``."""
    info = machine()
    gpu = f", {info['gpu']}" if info.get("gpu") else ""
    return f"{info['cpu']}, {info['usable_cores']} cores, {info['ram_gib']} GiB{gpu}"


def versions() -> dict:
    """Python and the installed versions of the libraries that decide speed and accuracy (None: not installed)."""
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def threads() -> dict:
    """Thread settings: the environment variables, and torch's intra/inter-op threads when torch is loaded."""
    settings = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    torch = sys.modules.get("torch")
    if torch is not None:
        settings["torch_threads"] = torch.get_num_threads()
        settings["torch_interop_threads"] = torch.get_num_interop_threads()
    return settings


def git_commit() -> dict:
    """The checkout's commit and whether it had uncommitted changes (None outside a git checkout)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def command() -> str:
    """The command line as typed from the repository root: ``python benchmarks/NAME.py --flag ...``."""
    argv = list(sys.argv)
    script = Path(argv[0]).resolve() if argv and argv[0] not in ("", "-c", "-m") else None
    if script is not None and script.is_relative_to(ROOT):
        argv[0] = str(script.relative_to(ROOT))
    return shlex.join(["python", *argv])


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def environment() -> dict:
    """Everything a result file records besides the figures."""
    return {
        "command": command(),
        "date": utc_now(),
        "machine": machine(),
        "versions": versions(),
        "threads": threads(),
        "git": git_commit(),
    }


def result_path(name: str) -> Path:
    return RESULTS / f"{name}-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}.json"


def write_result(name: str, payload: dict, *, path: Path | None = None) -> Path:
    """Write ``{"benchmark": name, **environment(), **payload}`` to ``path`` (default
    ``benchmarks/results/NAME-<UTC time>.json``) through a temporary file and a rename; returns the path."""
    import json

    from sentiq.atomic import atomic_write_text

    path = Path(path) if path is not None else result_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"benchmark": name, **environment(), **payload}
    atomic_write_text(path, json.dumps(record, indent=2, ensure_ascii=False, default=str) + "\n")
    return path
