"""`sentiq train` under real multi-process launchers (torchrun, accelerate launch) on the CPU (gloo).

Each test writes the tiny BERT (dropout off, so runs differ only by where the sums happen), a toy
corpus and a config to tmp, launches real processes and compares with one process at the same
global batch. Tolerance: validation losses per epoch and the test metrics agree to 1e-4 between
one and two processes (the examples of every optimiser step are the same; only the order of
float additions differs: measured differences are ~1e-7).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import build_tiny_bert, toy_frame

SRC = Path(__file__).resolve().parents[1] / "src"
TOLERANCE = 1e-4
COMPLETE = ("sentiq.json", "config.yaml", "history.json", "report/report.html", "report/metrics.json")


def write_setup(root: Path, *, data: dict | None = None, **training) -> Path:
    """Tiny BERT (no dropout), 120-row toy corpus, a config (``data`` adds data settings); returns its path."""
    model = build_tiny_bert(root / "tiny-bert")
    config = json.loads((model / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (model / "config.json").write_text(json.dumps(config))
    toy_frame(120).to_csv(root / "toy.csv", index=False)
    # 76 training rows: batch 4 fills every step, so one and two processes see the same examples per step.
    settings = {
        "max_length": 32,
        "batch_size": 4,
        "epochs": 3,
        "learning_rate": 5e-3,
        "warmup_ratio": 0.1,
        "logging_steps": 5,
        "eval_batch_size": 16,
        "cache_tokenized": True,
    } | training
    path = root / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "toy",
                "model": str(model),
                "preprocess": "none",
                "data": {"source": str(root / "toy.csv"), "validation_size": 0.2, "test_size": 0.2} | (data or {}),
                "training": settings,
                "evaluation": {"important_words": 0, "fairness": False},
            }
        )
    )
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch_env(root: Path, output: str) -> dict:
    """Each run its own token cache and run records, so a run never reads another's."""
    return {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "SENTIQ_CACHE_DIR": str(root / "cache" / output),
        "SENTIQ_RUNS_DIR": str(root / "runs" / output),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }


def torchrun(*launcher_args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", *launcher_args, "-m", "sentiq.cli"]


def run(command: list[str], root: Path, output: str, *, timeout: float = 300) -> subprocess.CompletedProcess:
    done = subprocess.run(
        command + train_args(root, output),
        env=launch_env(root, output),
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return done


def train_args(root: Path, output: str) -> list[str]:
    return ["-v", "train", "-c", str(root / "config.yaml"), "-o", str(root / output)]


def outcome(model_dir: Path) -> tuple[list[float], dict]:
    """Validation loss per evaluation and the test metrics of a finished model directory."""
    history = json.loads((model_dir / "history.json").read_text())
    metrics = json.loads((model_dir / "report" / "metrics.json").read_text())
    return [h["eval_loss"] for h in history if "eval_loss" in h], metrics


def assert_same_outcome(one: Path, two: Path) -> None:
    (losses_1, metrics_1), (losses_2, metrics_2) = outcome(one), outcome(two)
    assert len(losses_1) == len(losses_2) >= 2
    assert losses_1 == pytest.approx(losses_2, abs=TOLERANCE)
    for key in ("accuracy", "macro_f1", "log_loss", "roc_auc"):
        assert metrics_1[key] == pytest.approx(metrics_2[key], abs=TOLERANCE), key
    assert metrics_1["n"] == metrics_2["n"]


def assert_one_complete_model(root: Path, name: str, *, interrupted: int = 0) -> None:
    """Exactly one model directory, complete, nothing half-written beside it, one finished run record (and
    ``interrupted`` records of killed launches, which `sentiq runs list` shows as interrupted)."""
    from sentiq.tracking.runs import effective_status

    leftovers = sorted(p.name for p in root.iterdir() if p.name.startswith(name) and p.name != name)
    assert leftovers == []
    for part in COMPLETE:
        assert (root / name / part).is_file(), part
    records = [json.loads(p.read_text()) for p in (root / "runs" / name).glob("*/run.json")]
    statuses = sorted(effective_status(record) for record in records)
    assert statuses == ["finished"] + ["interrupted"] * interrupted


def train_here(root: Path, output: str, monkeypatch, *, resume: bool = False) -> Path:
    """The reference: the same config trained by this one process."""
    from sentiq.config import load_config
    from sentiq.workflows import train

    monkeypatch.setenv("SENTIQ_CACHE_DIR", str(root / "cache" / output))
    monkeypatch.setenv("SENTIQ_RUNS_DIR", str(root / "runs" / output))
    train(load_config(root / "config.yaml"), root / output, resume=resume)
    return root / output


def test_torchrun_two_processes_train_like_one(tmp_path, monkeypatch):
    write_setup(tmp_path)
    done = run(torchrun("--standalone", "--nproc_per_node", "2"), tmp_path, "two")
    assert_same_outcome(train_here(tmp_path, "one", monkeypatch), tmp_path / "two")
    assert_one_complete_model(tmp_path, "two")
    log = " ".join(done.stderr.split())
    # rank 0 reports (one table, one bar per phase); rank 1 (under -v) logs with its rank in front, reads the
    # token cache rank 0 wrote, and trains its half of each batch of 4 with one thread
    # (off a terminal progress is plain periodic lines, not bars; rank 1's progress callback is a no-op)
    assert done.stdout.count("toy (finetune): test split") == 1
    assert "rank 1: tokenized 76 texts into 76 windows (from the cache)" in log
    assert "rank 1: data-parallel training (rank 1 of 2, 1 threads): 2 examples per process and step" in log
    assert len(list((tmp_path / "cache" / "two" / "tokenized").glob("*.npz"))) == 2  # train and validation


@pytest.mark.slow
def test_torchrun_trains_out_of_core_like_one_process(tmp_path, monkeypatch):
    """The training split left on disk (Arrow, preprocessed and tokenised into the datasets cache by rank 0
    first, then read by rank 1) under two processes: the same outcome as one process out of core."""
    write_setup(tmp_path, data={"out_of_core": True, "num_proc": 2})
    done = run(torchrun("--standalone", "--nproc_per_node", "2"), tmp_path, "two")
    assert_same_outcome(train_here(tmp_path, "one", monkeypatch), tmp_path / "two")
    assert_one_complete_model(tmp_path, "two")
    log = " ".join(done.stderr.split())
    assert "rank 1: out-of-core training data: 76 training rows on disk" in log
    assert "rank 1: data-parallel training (rank 1 of 2, 1 threads): 2 examples per process and step" in log
    assert done.stdout.count("toy (finetune): test split") == 1


@pytest.mark.slow
def test_accelerate_launch_two_processes_train_like_one(tmp_path, monkeypatch):
    write_setup(tmp_path)
    # accelerate's DDP launcher is --multi_gpu; on a machine without CUDA its processes use gloo on the CPU
    launcher = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        str(free_port()),
        "-m",
        "sentiq.cli",
    ]
    done = run(launcher, tmp_path, "two")
    assert "rank 1 of 2" in done.stderr
    assert_same_outcome(train_here(tmp_path, "one", monkeypatch), tmp_path / "two")
    assert_one_complete_model(tmp_path, "two")


@pytest.mark.slow
def test_two_nodes_by_torchrun_rendezvous(tmp_path, monkeypatch):
    """Two launchers, one process each, meet at a c10d rendezvous on 127.0.0.1 like two machines would."""
    write_setup(tmp_path)
    port = free_port()
    nodes = [
        subprocess.Popen(
            torchrun(
                "--nnodes",
                "2",
                "--node_rank",
                str(rank),
                "--nproc_per_node",
                "1",
                "--rdzv-backend",
                "c10d",
                "--rdzv-endpoint",
                f"127.0.0.1:{port}",
                "--rdzv-id",
                "sentiq-test",
            )
            + train_args(tmp_path, "two"),
            env=launch_env(tmp_path, "two"),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in (0, 1)
    ]
    try:
        outputs = [node.communicate(timeout=300) for node in nodes]
    finally:
        for node in nodes:
            node.kill()
    assert [node.returncode for node in nodes] == [0, 0], [err[-3000:] for _, err in outputs]
    assert sum(out.count("toy (finetune): test split") for out, _ in outputs) == 1  # one global rank 0, on either node
    assert_same_outcome(train_here(tmp_path, "one", monkeypatch), tmp_path / "two")
    assert_one_complete_model(tmp_path, "two")


@pytest.mark.slow
def test_killed_run_resumes_with_another_number_of_processes(tmp_path, monkeypatch):
    """The launcher and its two workers are killed (SIGKILL, as a lost node or a scheduler would) once the first
    checkpoint is complete; one process then resumes from it and finishes the run."""
    import psutil  # an accelerate dependency

    write_setup(tmp_path, eval_steps=10, epochs=4)
    checkpoints = tmp_path / "two.partial" / "checkpoints"
    launcher = subprocess.Popen(
        torchrun("--standalone", "--nproc_per_node", "2") + train_args(tmp_path, "two"),
        env=launch_env(tmp_path, "two"),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 240
        while not list(checkpoints.glob("checkpoint-*/trainer_state.json")):
            assert launcher.poll() is None, "the run ended before its first checkpoint"
            assert time.monotonic() < deadline, "no checkpoint within 240 s"
            time.sleep(0.2)
    finally:
        # torchrun starts its workers in sessions of their own: kill them by pid, not by process group
        for process in [psutil.Process(launcher.pid), *psutil.Process(launcher.pid).children(recursive=True)]:
            process.send_signal(signal.SIGKILL)
        launcher.wait(timeout=60)
    assert not (tmp_path / "two").exists()  # killed: no model directory, only the work folder
    kept = sorted(int(p.name.split("-")[1]) for p in checkpoints.glob("checkpoint-*"))
    assert kept and kept[0] < 76  # 4 epochs of 19 steps: it was killed part-way

    train_here(tmp_path, "two", monkeypatch, resume=True)
    history = json.loads((tmp_path / "two" / "history.json").read_text())
    assert history[-1]["step"] == 76
    assert_one_complete_model(tmp_path, "two", interrupted=1)  # the killed launch's record
    assert_same_outcome(train_here(tmp_path, "one", monkeypatch), tmp_path / "two")
