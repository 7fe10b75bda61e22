"""benchmarks/gpu_suite.py: the one prepared GPU script (issue 18). The plan, the budget, the parts that
carry the device's missing pieces, the skips; the whole suite at tiny size on the CPU (slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sentiq.config import load_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def suite(monkeypatch):
    from test_benchmarks import _load

    return _load(ROOT / "benchmarks" / "gpu_suite.py", monkeypatch)


def test_full_plan_uses_the_recipes_and_every_override_is_a_config_key(suite, tmp_path):
    parts = suite.plan(tiny=False, work=tmp_path)
    assert [p.name for p in parts] == ["imdb-minilm", "chnsenticorp-e5", "train-speed", "inference", "imdb-mpnet"]
    assert sum(p.min_s for p in parts) <= suite.BUDGET_S <= 480  # every part can run inside 8 minutes
    for part in (p for p in parts if p.output is not None):
        argv = part.argv
        assert argv[1:4] == ["-m", "sentiq.cli", "train"]
        config = argv[argv.index("--config") + 1]
        overrides = [argv[i + 1] for i, a in enumerate(argv) if a == "--set"]
        cfg = load_config(ROOT / config, overrides)  # a misspelt key or a bad value fails here, not on the GPU
        assert cfg.training.bf16 and cfg.evaluation.important_words == 0
    by_name = {p.name: p for p in parts}
    imdb = load_config(ROOT / "configs/imdb.yaml", [a for a in by_name["imdb-minilm"].argv if "=" in a])
    assert imdb.model == "minilm" and imdb.data.source == "imdb" and imdb.data.max_train_samples is None
    assert imdb.training.max_length == 512 and imdb.training.truncation == "head+tail"
    assert "model=mpnet" in by_name["imdb-mpnet"].argv and "model=e5-multilingual" in by_name["chnsenticorp-e5"].argv
    assert by_name["inference"].needs == ["part:imdb-minilm"]


def test_a_part_gets_its_cap_less_what_later_parts_need(suite, tmp_path):
    parts = suite.plan(tiny=False, work=tmp_path)
    assert suite.time_for(parts, 0, 480) == parts[0].cap_s
    later = sum(p.min_s for p in parts[1:])
    assert suite.time_for(parts, 0, later + 70) == 70  # squeezed, still above its 60 s minimum
    assert suite.time_for(parts, 4, 500) == parts[4].cap_s  # the last part takes what is left, up to its cap


def test_missing_model_failed_prerequisite_and_spent_budget_are_skipped_with_reasons(suite, tmp_path):
    ok = tmp_path / "ok.py"
    ok.write_text("print('ran')\n")
    part = suite.Part
    parts = [
        part("too-long", "x", 1000, 500, [sys.executable, str(ok)]),  # 300 s left, it needs 500
        part("needs-model", "x", 30, 1, [sys.executable, str(ok)], needs=[f"model:{tmp_path / 'no-such-model'}"]),
        part("needs-part", "x", 30, 1, [sys.executable, str(ok)], needs=["part:needs-model"]),
        part("fails", "x", 30, 1, [sys.executable, "-c", "raise SystemExit(3)"]),
    ]
    with (tmp_path / "log.txt").open("w") as log:
        rows = suite.run_parts(parts, work=tmp_path, env=suite.asset_env(None), budget=300, log=log, fetch_mpnet=False)
    status = {r["part"]: (r["status"], r.get("reason", "")) for r in rows}
    assert status["needs-model"][0] == "skipped" and "no-such-model" in status["needs-model"][1]
    assert status["needs-part"] == ("skipped", "needs needs-model, which did not finish")
    assert status["too-long"][0] == "skipped" and status["too-long"][1].startswith("budget spent")
    assert status["fails"][0] == "failed" and "exit status 3" in status["fails"][1]


def test_parts_round_trip_and_a_damaged_or_missing_part_is_refused(suite, tmp_path):
    src = tmp_path / "src"
    (src / "datasets").mkdir(parents=True)
    payload = os.urandom(5000)
    (src / "datasets" / "big.bin").write_bytes(payload)
    (src / "small.txt").write_text("hello")
    files = [("datasets/big.bin", src / "datasets" / "big.bin"), ("site/pkg/small.txt", src / "small.txt")]
    index = suite.write_parts(files, tmp_path / "parts", part_bytes=4096)
    assert len(index["parts"]) >= 3 and all(p["bytes"] <= 4096 for p in index["parts"])
    assets = suite.unpack(tmp_path / "parts", tmp_path / "assets")
    assert (tmp_path / "assets" / "datasets" / "big.bin").read_bytes() == payload
    assert (tmp_path / "assets" / "site" / "pkg" / "small.txt").read_text() == "hello"
    assert assets["files"] == ["datasets/big.bin", "site/pkg/small.txt"]
    env = suite.asset_env(tmp_path / "assets")
    assert env["SENTIQ_DATA_DIR"] == str(tmp_path / "assets" / "datasets")
    assert str(tmp_path / "assets" / "site") in env["PYTHONPATH"].split(os.pathsep)

    second = tmp_path / "parts" / "part-02.bin"
    second.write_bytes(b"x" + second.read_bytes()[1:])
    with pytest.raises(SystemExit, match="part-02.bin: SHA-256 differs"):
        suite.unpack(tmp_path / "parts", tmp_path / "fresh")
    second.unlink()
    with pytest.raises(SystemExit, match="part-02.bin is missing"):
        suite.unpack(tmp_path / "parts", tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists()  # nothing half-extracted


@pytest.mark.slow
def test_tiny_suite_runs_every_part_and_writes_well_formed_results(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env.pop("OUT", None)
    argv = [sys.executable, str(ROOT / "benchmarks" / "gpu_suite.py"), "--tiny", "--out", str(tmp_path / "out")]
    done = subprocess.run(
        argv + ["--work", str(tmp_path / "work")], env=env, capture_output=True, text=True, timeout=7500
    )
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((tmp_path / "out" / "gpu_suite.json").read_text())
    assert record["benchmark"] == "gpu_suite" and record["tiny"] is True and record["machine"]["cores"] >= 1
    rows = {r["part"]: r for r in record["parts"]}
    assert list(rows) == ["imdb-minilm", "chnsenticorp-e5", "train-speed", "inference", "imdb-mpnet"]
    assert all(r["status"] == "ok" for r in rows.values()), {k: r.get("reason") for k, r in rows.items()}
    for name in ("imdb-minilm", "chnsenticorp-e5", "imdb-mpnet"):
        r = rows[name]
        assert 0 <= r["accuracy"] <= 1 and 0 <= r["macro_f1"] <= 1 and r["test_rows"] == 24
        assert r["train_samples_per_s"] > 0 and r["split_rows"]["train"] == 48 and r["wall_s"] > 0
    speed = rows["train-speed"]
    assert {"seed_style", "sentiq", "sentiq_fp32"} <= set(speed) and speed["speedup"] > 0
    infer = rows["inference"]
    assert set(infer["backends"]) == {
        "pipeline-b1",
        "pipeline-b32",
        "sentiq-pytorch",
        "sentiq-onnx-fp32",
        "sentiq-onnx-int8",
    }
    assert infer["device"] == "cpu" and infer["texts"] == 24
    page = (tmp_path / "out" / "gpu_suite.md").read_text()
    assert "TINY CPU SMOKE RUN" in page and "| imdb-minilm (" in page and "| sentiq-onnx-int8 |" in page
    assert "== imdb-mpnet" in (tmp_path / "out" / "gpu_suite.log").read_text()
