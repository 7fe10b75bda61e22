"""Each training speed option on and off: attention kernel, fused AdamW, bf16 autocast,
torch.compile, and the tokenized-split cache, on sentiq's own trainer.

Every variant fine-tunes the same model on the same rows from the same seed in its own
process (so compile caches and allocator state do not carry over) and reports wall time,
process CPU-seconds (all threads; far less sensitive to other jobs on a shared machine)
and test accuracy. The tokenization cache is measured separately (cold vs warm encode).

    OMP_NUM_THREADS=1 python benchmarks/train_options.py --data sentiment140 --train-rows 2000 --max-length 128
    python benchmarks/train_options.py --quick       # 96 rows, two variants: a smoke test

Writes benchmarks/results/train_options-<data>-<max_length>.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import train_speed  # the sibling script: shared row loading and accuracy
from harness import describe_machine, write_result

# name -> TrainingConfig fields over the baseline (the defaults: auto attention, fused AdamW, fp32, freed
# memory kept, no compile).
VARIANTS = {
    "baseline": {},
    "attention=sdpa": {"attention": "sdpa"},
    "attention=eager": {"attention": "eager"},
    "optimizer=adamw": {"optimizer": "adamw"},
    "keep_freed_memory=false": {"keep_freed_memory": False},
    "bf16": {"bf16": True},
    "bf16+attention=sdpa": {"bf16": True, "attention": "sdpa"},
    "bf16+attention=eager": {"bf16": True, "attention": "eager"},
    "bf16+keep_freed_memory=false": {"bf16": True, "keep_freed_memory": False},
    "torch_compile": {"torch_compile": True},
    "bf16+torch_compile": {"bf16": True, "torch_compile": True},
}
QUICK_VARIANTS = ("baseline", "bf16")


def run_variant(args, fields: dict) -> dict:
    from transformers import set_seed

    from sentiq.labels import LabelSet
    from sentiq.models.transformer import TransformerClassifier
    from sentiq.training.finetune import fine_tune

    train, validation, test = train_speed._rows(args)
    cfg = train_speed.training_config(args, cache_tokenized=False, **fields)
    set_seed(args.seed)
    model = TransformerClassifier.from_encoder(
        args.model, LabelSet.from_names(train["label"]), max_length=args.max_length, attention=cfg.attention
    )
    model.bf16 = cfg.bf16  # predict the way it trained
    wall, cpu = time.perf_counter(), time.process_time()
    fit = fine_tune(model, train, validation, cfg, seed=args.seed, work_dir=Path(tempfile.mkdtemp(dir=args.work)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    result = {
        "fields": fields,
        "seconds": wall,
        "cpu_seconds": cpu,
        "samples": len(train) * args.epochs,
        "samples_per_s": len(train) * args.epochs / wall,
        "cpu_s_per_sample": cpu / (len(train) * args.epochs),
        "steps": fit.global_step,
        "accuracy": train_speed._accuracy(lambda t: model.predict_proba(t, batch_size=64), test),
    }
    if cfg.torch_compile:
        from torch._dynamo.utils import counters

        result["compiled_graphs"] = int(counters["stats"].get("unique_graphs", 0))
    return result


def measure_token_cache(args) -> dict:
    """Encoding the training split with the cache off, cold (computes and writes) and warm (reads)."""
    import os

    from sentiq.labels import LabelSet
    from sentiq.models.transformer import TransformerClassifier
    from sentiq.training.finetune import encode_cached

    train, _, _ = train_speed._rows(args)
    texts = train["text"].tolist()
    model = TransformerClassifier.from_encoder(
        args.model, LabelSet.from_names(train["label"]), max_length=args.max_length
    )
    os.environ["SENTIQ_CACHE_DIR"] = tempfile.mkdtemp(dir=args.work)
    timings = {}
    for name, encode in (
        ("off", lambda: model.encode(texts)),
        ("cold", lambda: encode_cached(model, texts)),
        ("warm", lambda: encode_cached(model, texts)),
    ):
        start = time.process_time()
        encode()
        timings[f"{name}_cpu_seconds"] = time.process_time() - start
    return timings | {"texts": len(texts)}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="sentiment140")
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--train-rows", type=int, default=2000)
    parser.add_argument("--eval-rows", type=int, default=500)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--variants", nargs="*", default=None, help=f"subset of {list(VARIANTS)}")
    parser.add_argument("--quick", action="store_true", help="96 rows, baseline and bf16 only")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--work", type=Path, default=Path("/tmp/sentiq-bench-options"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.train_rows, args.eval_rows = 96, 64
    args.work.mkdir(parents=True, exist_ok=True)
    if args.child:
        result = measure_token_cache(args) if args.child == "token-cache" else run_variant(args, VARIANTS[args.child])
        print("RESULT " + json.dumps(result))
        return

    names = args.variants or (QUICK_VARIANTS if args.quick else list(VARIANTS))
    results = {}
    for name in [*names, "token-cache"]:
        argv = [
            sys.executable,
            __file__,
            "--child",
            name,
            "--train-rows",
            str(args.train_rows),
            "--eval-rows",
            str(args.eval_rows),
        ] + [a for a in sys.argv[1:] if a not in ("--quick",)]
        before = _children_cpu()
        proc = subprocess.run(argv, capture_output=True, text=True)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
        if proc.returncode != 0 or line is None:
            sys.stderr.write(proc.stderr[-3000:])
            results[name] = {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
        else:
            # The whole child process, model loading and inductor's compile workers included.
            results[name] = json.loads(line[7:]) | {"process_tree_cpu_seconds": _children_cpu() - before}
        print(f"{name}: {results[name]}", flush=True)
    summary = {
        "machine_summary": describe_machine(),
        "torch_threads": train_speed._threads(),
        "data": args.data,
        "model": args.model,
        "train_rows": args.train_rows,
        "max_length": args.max_length,
        "batch_size": args.batch_size,
        "epochs": args.epochs,
        "variants": results,
    }
    out = write_result(
        f"train_options-{args.data}-{args.max_length}{'-quick' if args.quick else ''}", summary, path=args.out
    )
    base = results.get("baseline", {})
    print(
        f"{'variant':22}{'wall s':>8}{'CPU s':>8}{'CPU ms/sample':>15}{'vs base':>9}{'accuracy':>10}"
        f"{'process CPU s':>15}"
    )
    for name in names:
        row = results[name]
        if "error" in row:
            print(f"{name:22} failed: {row['error']}")
            continue
        ratio = base.get("cpu_seconds", float("nan")) / row["cpu_seconds"]
        print(
            f"{name:22}{row['seconds']:>8.1f}{row['cpu_seconds']:>8.1f}{1000 * row['cpu_s_per_sample']:>15.1f}"
            f"{ratio:>8.2f}x{row['accuracy']:>10.3f}{row['process_tree_cpu_seconds']:>15.1f}"
        )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
