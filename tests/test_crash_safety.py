"""Crash safety of training (issue 15, defect 8): atomic checkpoints, resume past an incomplete
checkpoint, and a run record that survives kill -9 (listed as interrupted)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sentiq.workflows import train, work_dir_for


def _checkpoints(model_dir: Path) -> list[Path]:
    return sorted(
        (work_dir_for(model_dir) / "checkpoints").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1])
    )


def test_resume_skips_a_checkpoint_missing_its_trainer_state(tiny_config, tmp_path, caplog):
    """As after a kill while saving: the newest checkpoint lacks trainer_state.json. Resume used to die
    with a traceback; it now warns and continues from the newest complete one."""
    cfg = tiny_config(**{"training.epochs": 2, "training.eval_steps": 4})
    out = tmp_path / "m"

    train(cfg, out, keep_checkpoints=True)
    checkpoints = _checkpoints(out)
    assert len(checkpoints) >= 2
    shutil.rmtree(out)  # the final directory never appeared: the run was killed
    (checkpoints[-1] / "trainer_state.json").unlink()
    with caplog.at_level(logging.WARNING, logger="sentiq.training.finetune"):
        result = train(cfg, out, resume=True)
    assert f"skipping incomplete checkpoint {checkpoints[-1].name}" in caplog.text
    history = json.loads((out / "history.json").read_text())
    assert history[-1]["step"] > int(checkpoints[-2].name.split("-")[1])
    assert result.metrics["n"] > 0 and (out / "sentiq.json").is_file()


def test_a_failure_while_saving_leaves_no_half_checkpoint(tiny_config, tmp_path, monkeypatch):
    """The Trainer wrote checkpoint-N in place, weights first: a crash between files left a folder
    that looked like a checkpoint. Now checkpoint-N appears only complete."""
    from sentiq.training import finetune

    cfg = tiny_config(**{"training.epochs": 2, "training.eval_steps": 4})
    saves = {"n": 0}
    real = finetune._SentiqTrainer._save_rng_state

    def crash_on_second(self, output_dir):
        saves["n"] += 1
        if saves["n"] == 2:
            raise OSError("disk full (simulated)")
        return real(self, output_dir)

    monkeypatch.setattr(finetune._SentiqTrainer, "_save_rng_state", crash_on_second)
    with pytest.raises(OSError, match="simulated"):
        train(cfg, tmp_path / "m")
    checkpoints = _checkpoints(tmp_path / "m")
    assert [c.name for c in checkpoints] == ["checkpoint-4"]  # the second save never became a checkpoint
    assert finetune.checkpoint_problem(checkpoints[0]) is None
    monkeypatch.setattr(finetune._SentiqTrainer, "_save_rng_state", real)
    train(cfg, tmp_path / "m", resume=True)
    assert (tmp_path / "m" / "sentiq.json").is_file()


def test_last_complete_checkpoint_order(tmp_path):
    from sentiq.training.finetune import last_complete_checkpoint

    for step, complete in ((2, True), (10, True), (12, False)):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        for name in ("model.safetensors", "optimizer.pt", "scheduler.pt"):
            (folder / name).write_bytes(b"x")
        if complete:
            (folder / "trainer_state.json").write_text("{}")
    (tmp_path / ".staging").mkdir()
    assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-10")
    (tmp_path / "checkpoint-10" / "trainer_state.json").write_text("{trunc")
    assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-2")


def test_a_run_killed_with_sigkill_is_listed_as_interrupted(tmp_path):
    from sentiq.tracking import load_runs

    root = tmp_path / "runs"
    code = textwrap.dedent(f"""
        import os, signal
        from sentiq.config import TrackingConfig
        from sentiq.tracking import tracked_run
        with tracked_run("train", name="doomed", tracking=TrackingConfig(runs_dir={str(root)!r}), params={{}}):
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    (record,) = load_runs(root)
    assert record["name"] == "doomed" and record["status"] == "interrupted"
    on_disk = json.loads((Path(record["path"]) / "run.json").read_text())
    assert on_disk["status"] == "running" and on_disk["finished"] is None


def test_a_live_run_is_listed_as_running_and_then_finished(tmp_path):
    from sentiq.config import TrackingConfig
    from sentiq.tracking import load_runs, tracked_run

    root = tmp_path / "runs"
    with tracked_run("evaluate", name="live", tracking=TrackingConfig(runs_dir=str(root)), params={"x": "y" * 10_000}):
        (record,) = load_runs(root)
        assert record["status"] == "running"
    (record,) = load_runs(root)
    assert record["status"] == "finished" and record["duration_s"] is not None
    assert len(record["params"]["x"]) < 600  # echoed values are capped
