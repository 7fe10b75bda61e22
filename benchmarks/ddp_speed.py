"""Data-parallel training on the CPU: DDP with N processes x 1 thread vs 1 process x N threads.

Both sides run the real command a user would run, on the same rows and config, back to back in
this one run: `sentiq train` with OMP_NUM_THREADS=N, then `torchrun --standalone --nproc_per_node N
-m sentiq.cli train` with OMP_NUM_THREADS=1 (gloo). Same global batch, so the same optimiser
steps. Reports training samples/s (the Trainer's training loop: rows x epochs / train_runtime),
the whole command's wall time, and test accuracy of the written model.

    python benchmarks/ddp_speed.py                     # MiniLM, 2,000 Sentiment140 rows, 128 tokens, 1 epoch
    python benchmarks/ddp_speed.py --quick             # 400 rows, 64 tokens: a smoke run

Writes JSON into benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from harness import load_average, write_result

ROOT = Path(__file__).resolve().parents[1]


def config(args) -> dict:
    return {
        "name": "ddp-speed",
        "model": args.model,
        "data": {"source": args.data, "max_train_samples": args.train_rows, "max_eval_samples": args.eval_rows},
        "seed": args.seed,
        "training": {
            "max_length": args.max_length,
            "batch_size": args.batch_size,
            "epochs": args.epochs,
            "eval_batch_size": 64,
            "logging_steps": 1000,
            "cache_tokenized": False,
        },
        "evaluation": {"important_words": 0, "fairness": False, "calibrate": False},
        "tracking": {"backend": "none"},
    }


def side(name: str, command: list[str], *, threads: int, work: Path, train_rows: int, epochs: float) -> dict:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "OMP_NUM_THREADS": str(threads),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    output = work / name
    start = time.perf_counter()
    done = subprocess.run(
        command + ["train", "-c", str(work / "config.yaml"), "-o", str(output)], env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"{name} failed:\n{done.stderr[-4000:]}")
    history = json.loads((output / "history.json").read_text())
    runtime = next(h["train_runtime"] for h in history if "train_runtime" in h)
    metrics = json.loads((output / "report" / "metrics.json").read_text())
    return {
        "side": name,
        "threads_per_process": threads,
        "train_runtime_s": runtime,
        "train_samples_per_s": train_rows * epochs / runtime,
        "command_wall_s": wall,
        "accuracy": metrics["accuracy"],
        "macro_f1": metrics["macro_f1"],
        "test_rows": metrics["n"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--data", default="sentiment140")
    parser.add_argument("--train-rows", type=int, default=2000)
    parser.add_argument("--eval-rows", type=int, default=500)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quick", action="store_true", help="400 rows, 64 tokens, 200 evaluation rows")
    args = parser.parse_args()
    if args.quick:
        args.train_rows, args.max_length, args.eval_rows = 400, 64, 200
    n = args.processes
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="sentiq-ddp-") as tmp:
        work = Path(tmp)
        (work / "config.yaml").write_text(yaml.safe_dump(config(args)))
        sides = [
            side(
                f"1 process x {n} threads",
                [sys.executable, "-m", "sentiq.cli"],
                threads=n,
                work=work,
                train_rows=args.train_rows,
                epochs=args.epochs,
            ),
            side(
                f"DDP {n} processes x 1 thread",
                [
                    sys.executable,
                    "-m",
                    "torch.distributed.run",
                    "--standalone",
                    "--nproc_per_node",
                    str(n),
                    "-m",
                    "sentiq.cli",
                ],
                threads=1,
                work=work,
                train_rows=args.train_rows,
                epochs=args.epochs,
            ),
        ]
    ratio = sides[1]["train_samples_per_s"] / sides[0]["train_samples_per_s"]
    print(f"{'side':32} {'train samples/s':>16} {'command s':>10} {'accuracy':>9}")
    for s in sides:
        print(f"{s['side']:32} {s['train_samples_per_s']:16.2f} {s['command_wall_s']:10.1f} {s['accuracy']:9.4f}")
    print(f"DDP / threads: {ratio:.2f}x training samples/s")
    path = write_result(
        f"ddp_speed-{'quick' if args.quick else 'full'}",
        {
            "args": vars(args),
            "sides": sides,
            "ddp_over_threads": ratio,
            "load_average_before": load_before,
            "priority": os.getpriority(os.PRIO_PROCESS, 0),
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
