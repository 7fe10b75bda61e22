"""benchmarks/: every script imports, records its run through the shared harness, and needs no sys.path set-up."""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p for p in BENCHMARKS.glob("*.py") if p.stem != "harness" and not p.stem.startswith("_"))


def _load(path: Path, monkeypatch):
    """Import a script the way ``python benchmarks/NAME.py`` sees its siblings: its folder first on sys.path."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(f"benchmark_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # as an imported module is: dataclasses look it up
    spec.loader.exec_module(module)
    return module


def test_every_script_is_checked():
    assert len(SCRIPTS) >= 16 and {"paired_compare", "train_speed", "inference_speed"} <= {p.stem for p in SCRIPTS}


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.stem)
def test_script_uses_the_harness(path, monkeypatch):
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    from_harness = {
        a.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "harness"
        for a in node.names
    }
    assert "write_result" in from_harness, f"{path.name} does not write its result through harness.write_result"
    assert "sys.path" not in source, f"{path.name} edits sys.path"
    assert "import platform" not in source and "getloadavg" not in source, f"{path.name} describes the machine itself"
    module = _load(path, monkeypatch)
    harness = sys.modules["harness"]
    assert module.write_result is harness.write_result and callable(module.main)


def test_write_result_records_the_run(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import harness

    monkeypatch.setattr(sys, "argv", [str(BENCHMARKS / "drift.py"), "--texts", "10"])
    path = harness.write_result("unit", {"figure": 1.5}, path=tmp_path / "r.json")
    record = json.loads(path.read_text())
    assert record["benchmark"] == "unit" and record["figure"] == 1.5
    assert record["command"] == "python benchmarks/drift.py --texts 10"
    assert record["machine"]["cores"] >= 1 and record["machine"]["cpu"] and record["machine"]["ram_gib"] > 0
    assert record["versions"]["python"] and "scikit-learn" in record["versions"] and "torch" in record["versions"]
    assert "OMP_NUM_THREADS" in record["threads"] and record["date"].endswith("+00:00")
    assert set(record["git"]) == {"commit", "dirty"}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left behind
    default = harness.result_path("unit")
    assert default.parent == BENCHMARKS / "results" and default.name.startswith("unit-") and default.suffix == ".json"


def test_prediction_windows_compares_a_model_saved_predicting_with_chunks(tiny_config, tmp_path, monkeypatch):
    """A model trained with training.predict_truncation is saved predicting chunks; the script compared nothing
    for it (it refused), though that is the recipe's member."""
    from sentiq.workflows import train

    cfg = tiny_config(
        **{"training.epochs": 1, "training.truncation": "head+tail", "training.predict_truncation": "chunks"}
    )
    train(cfg, tmp_path / "m")
    module = _load(BENCHMARKS / "prediction_windows.py", monkeypatch)
    monkeypatch.setattr(sys, "argv", ["prediction_windows.py", str(tmp_path / "m"), "--out", str(tmp_path / "r.json")])
    module.main()
    results = json.loads((tmp_path / "r.json").read_text())["results"]
    assert set(results) == {"head+tail", "chunks", "mean of both"}
    assert all(0 <= row["accuracy"] <= 1 and row["log_loss"] > 0 for row in results.values())
