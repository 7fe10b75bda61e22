"""Fault injection: kill training and serving processes and report what survived (issue 15).

1. Training: a tiny BERT trains on a toy corpus through `sentiq train`; the run is killed with
   SIGKILL at several seeded random moments, then resumed with `--resume`; each final model
   must load (integrity checks included) and predict.
2. Serving: `sentiq serve --workers 2` on 127.0.0.1 under a steady request loop; one worker is
   killed with SIGKILL; the service must keep answering (the supervisor replaces the worker).
3. Queue: a burst of concurrent requests; answers are counted by status (200, 429/503 shed,
   anything else). Shedding depends on the server's queue bound (SENTIQ_MAX_QUEUE_TEXTS,
   default 256 texts: a burst of 256 requests of 8 texts overfills it, so expect 429s);
   the script reports what it sees.

    python scripts/fault_injection.py                       # about 5 minutes on a 2-core CPU
    python scripts/fault_injection.py --kills 2 --requests 40 --burst 64   # the slow test's size

Prints a summary table and the JSON summary; exit 1 when something did not survive.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {
    **os.environ,
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")]),
}
CLI = [sys.executable, "-m", "sentiq.cli"]


def _setup(work: Path, epochs: int) -> Path:
    """A tiny BERT, a toy corpus and a config that checkpoints every few steps."""
    sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]
    import yaml

    from conftest import build_tiny_bert, toy_frame

    bert = build_tiny_bert(work / "bert")
    toy_frame(240).to_csv(work / "toy.csv", index=False)
    config = {
        "name": "fault",
        "model": str(bert),
        "preprocess": "none",
        "data": {"source": str(work / "toy.csv"), "validation_size": 0.2, "test_size": 0.2},
        "training": {
            "max_length": 32,
            "batch_size": 8,
            "epochs": epochs,
            "learning_rate": 1e-3,
            "warmup_ratio": 0.0,
            "eval_steps": 5,
            "save_total_limit": 2,
        },
        "evaluation": {"important_words": 0, "fairness": False},
        "tracking": {"runs_dir": str(work / "runs")},
    }
    path = work / "fault.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _predicts(model_dir: Path) -> bool:
    proc = subprocess.run(
        CLI + ["predict", str(model_dir), "a wonderful film", "boring and awful"],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=600,
    )
    return proc.returncode == 0 and len(proc.stdout.strip().splitlines()) == 2


def kill_training(work: Path, *, kills: int, seed: int, epochs: int) -> list[dict]:
    config = _setup(work, epochs)
    # One uninterrupted run gives the time scale for the kill points.
    start = time.perf_counter()
    subprocess.run(
        CLI + ["train", "-c", str(config), "-o", str(work / "reference")],
        env=ENV,
        check=True,
        capture_output=True,
        timeout=1800,
    )
    full = time.perf_counter() - start
    rng = random.Random(seed)
    results = []
    for i in range(kills):
        out = work / f"killed-{i}"
        delay = rng.uniform(0.15, 0.85) * full
        proc = subprocess.Popen(
            CLI + ["train", "-c", str(config), "-o", str(out)],
            env=ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        finished_before_kill = proc.poll() is not None
        if not finished_before_kill:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        checkpoints = sorted(
            p.name for p in (out.with_name(out.name + ".partial") / "checkpoints").glob("checkpoint-*")
        )
        if finished_before_kill:  # the run beat the kill: nothing to resume
            results.append(
                {
                    "kill": i,
                    "after_s": round(delay, 1),
                    "killed": False,
                    "checkpoints_left": checkpoints,
                    "resume_exit": None,
                    "resume_error": None,
                    "final_model_predicts": _predicts(out),
                }
            )
            continue
        resumed = subprocess.run(
            CLI + ["train", "-c", str(config), "-o", str(out), "--resume"],
            env=ENV,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        results.append(
            {
                "kill": i,
                "after_s": round(delay, 1),
                "killed": True,
                "checkpoints_left": checkpoints,
                "resume_exit": resumed.returncode,
                "resume_error": resumed.stderr.strip().splitlines()[-1][:200] if resumed.returncode else None,
                "final_model_predicts": resumed.returncode == 0 and _predicts(out),
            }
        )
    from sentiq.tracking import load_runs

    statuses = Counter(r["status"] for r in load_runs(work / "runs"))
    results.append({"run_records": dict(statuses)})  # killed runs show as interrupted, not missing
    return results


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(port: int, texts: list[str], timeout: float = 30.0) -> int:
    body = json.dumps({"texts": texts}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/predict", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, ConnectionError, TimeoutError, socket.timeout):
        return 0  # connection refused, reset or timed out


def _wait_ready(port: int, deadline: float) -> bool:
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError, socket.timeout):
            pass
        time.sleep(0.5)
    return False


def _children(pid: int) -> list[int]:
    """The server's worker processes (multiprocessing spawn children; not its resource tracker)."""
    try:
        pids = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    workers = []
    for child in pids:
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                workers.append(child)
        except OSError:
            continue
    return workers


def kill_worker_and_flood(model_dir: Path, *, requests: int, burst: int) -> dict:
    port = _free_port()
    server = subprocess.Popen(
        CLI + ["serve", str(model_dir), "--port", str(port), "--workers", "2"],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        if not _wait_ready(port, time.time() + 300):
            return {"started": False}
        time.sleep(2)  # both workers loaded
        workers = _children(server.pid)
        before = Counter(_post(port, ["a wonderful film"]) for _ in range(requests // 2))
        victim = workers[0] if workers else None
        if victim:
            os.kill(victim, signal.SIGKILL)
        after = Counter(_post(port, ["a wonderful film"]) for _ in range(requests // 2))
        replaced: list[int] = []
        deadline = time.time() + 60
        while not replaced and time.time() < deadline:  # the supervisor starts a new worker
            replaced = [pid for pid in _children(server.pid) if pid not in workers]
            time.sleep(1)
        _wait_ready(port, time.time() + 120)
        # Burst: every thread posts at once.
        codes: Counter = Counter()
        lock = threading.Lock()

        def fire() -> None:
            code = _post(port, ["a wonderful film, I loved every minute of it"] * 8, timeout=60)
            with lock:
                codes[code] += 1

        threads = [threading.Thread(target=fire) for _ in range(burst)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        still_answers = _post(port, ["still there?"]) == 200
        return {
            "started": True,
            "workers": workers,
            "killed_worker": victim,
            "replaced_by": replaced,
            "before_kill": dict(before),
            "after_kill": dict(after),
            "answers_after_kill": after.get(200, 0) > 0,
            "burst": {
                "requests": burst,
                "seconds": round(time.perf_counter() - started, 1),
                "ok_200": codes.get(200, 0),
                "shed_429": codes.get(429, 0),
                "shed_503": codes.get(503, 0),
                "failed_5xx_other": sum(v for k, v in codes.items() if k >= 500 and k != 503),
                "no_answer": codes.get(0, 0),
            },
            "answers_after_burst": still_answers,
        }
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Kill training and serving processes; report what survived.")
    parser.add_argument("--kills", type=int, default=5, help="Training runs killed at random moments.")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--requests", type=int, default=200, help="Sequential requests around the worker kill.")
    parser.add_argument("--burst", type=int, default=256, help="Concurrent requests in the burst.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=None, help="Working folder (default: a temporary one).")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="sentiq-faults-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        training = kill_training(work, kills=args.kills, seed=args.seed, epochs=args.epochs)
        serving = kill_worker_and_flood(work / "reference", requests=args.requests, burst=args.burst)
    records = training.pop()["run_records"]
    survived_training = sum(r["final_model_predicts"] for r in training)
    print(f"{'kill':>4} {'after s':>8} {'killed':>6} {'checkpoints left':<34} {'resume':>6} {'predicts':>8}")
    for r in training:
        resume = "-" if r["resume_exit"] is None else r["resume_exit"]
        print(
            f"{r['kill']:>4} {r['after_s']:>8} {str(r['killed']):>6} {', '.join(r['checkpoints_left']) or '-':<34} "
            f"{resume:>6} {str(r['final_model_predicts']):>8}"
        )
    print(
        f"training: {survived_training}/{len(training)} runs (killed ones resumed) end in a model that loads and predicts; "
        f"run records: {records}"
    )
    if serving.get("started"):
        b = serving["burst"]
        print(
            f"serving: worker {serving['killed_worker']} killed; after it {serving['after_kill']} "
            f"(status: count); replaced by {serving['replaced_by']}; answers after kill: {serving['answers_after_kill']}"
        )
        print(
            f"burst of {b['requests']}: {b['ok_200']} answered, {b['shed_429']} x 429, {b['shed_503']} x 503, "
            f"{b['failed_5xx_other']} other 5xx, {b['no_answer']} without answer, {b['seconds']} s; "
            f"answers after burst: {serving['answers_after_burst']}"
        )
    else:
        print("serving: the server did not become ready")
    summary = {"training": training, "run_records": records, "serving": serving}
    print(json.dumps(summary))
    ok = (
        survived_training == len(training)
        and serving.get("answers_after_kill")
        and serving.get("answers_after_burst")
        and serving["burst"]["failed_5xx_other"] == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
