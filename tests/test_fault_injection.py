"""The fault-injection script at small size (issue 15): killed training runs resume into working models,
a killed serving worker is replaced, a burst of requests gets no 5xx other than 503."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "fault_injection.py"


@pytest.mark.slow
def test_fault_injection_small(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--kills",
            "2",
            "--epochs",
            "2",
            "--requests",
            "20",
            "--burst",
            "32",
            "--work",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert all(r["final_model_predicts"] for r in summary["training"])
    assert summary["run_records"].get("interrupted", 0) >= sum(r["killed"] for r in summary["training"])
    assert summary["serving"]["answers_after_kill"] and summary["serving"]["burst"]["failed_5xx_other"] == 0
