"""Adversarial training and augmentation on a small training set, each against the same run without it.

Every variant fine-tunes the same encoder on the same seeded split (``--train-rows``
training rows, ``--eval-rows`` validation and test rows) with the same
hyper-parameters; only the option under test differs. Writes
``benchmarks/results/small_data-<data>[-<tag>].json`` (rewritten after each variant) (accuracy, macro-F1, ROC-AUC, training
rows after augmentation, wall seconds per variant).

    python benchmarks/small_data.py --data sentiment140 --train-rows 1000 --eval-rows 1000
    python benchmarks/small_data.py --variants baseline fgm            # a subset of the variants
    python benchmarks/small_data.py --variants baseline --training-seed 7 --tag seed7   # same split, new draw
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from harness import write_result
from sentiq.config import load_config
from sentiq.data import load_splits
from sentiq.workflows import augmented_training_split, train

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "baseline": [],
    "fgm": ["training.adversarial=fgm", "training.adversarial_epsilon=1.0"],
    "pgd": [
        "training.adversarial=pgd",
        "training.adversarial_epsilon=1.0",
        "training.pgd_alpha=0.3",
        "training.pgd_steps=3",
    ],
    "augment-eda": [
        "training.augment.ops=[synonym, swap, delete]",
        "training.augment.n_per_example=1",
        "training.augment.p=0.1",
    ],
    "augment-emoji": ["training.augment.ops=[emoji]", "training.augment.n_per_example=1", "training.augment.p=0.1"],
    "augment-all": [
        "training.augment.ops=[synonym, swap, delete, emoji]",
        "training.augment.n_per_example=2",
        "training.augment.p=0.1",
    ],
}
CONFIGS = {"sentiment140": "configs/sentiment140.yaml", "imdb": "configs/imdb.yaml"}


def training_rows(config) -> int:
    """Rows the model trained on: the training split plus the augmentation's new rows."""
    return len(augmented_training_split(load_splits(config)[1].train, config))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=list(CONFIGS), default="sentiment140")
    parser.add_argument("--train-rows", type=int, default=1000)
    parser.add_argument("--eval-rows", type=int, default=1000)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--epochs", type=float, default=2)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--output", default=str(ROOT / "runs" / "bench-small"))
    parser.add_argument("--tag", default="", help="suffix of the results file (variants run in parallel processes)")
    parser.add_argument(
        "--training-seed",
        type=int,
        default=None,
        help="training.seed: another draw of initialisation and batch order on the same split",
    )
    args = parser.parse_args()

    common = [
        f"data.max_train_samples={args.train_rows}",
        f"data.max_eval_samples={args.eval_rows}",
        f"training.max_length={args.max_length}",
        f"training.epochs={args.epochs}",
        "training.eval_steps=null",
        "training.early_stopping_patience=null",
    ]
    if args.training_seed is not None:
        common.append(f"training.seed={args.training_seed}")
    out = ROOT / "benchmarks" / "results" / f"small_data-{args.data}{'-' + args.tag if args.tag else ''}.json"
    results = json.loads(out.read_text())["results"] if out.is_file() else {}
    for variant in args.variants:
        config = load_config(ROOT / CONFIGS[args.data], common + VARIANTS[variant])
        start, cpu_start = time.perf_counter(), time.process_time()
        result = train(config, Path(args.output) / f"{args.data}-{variant}", overwrite=True)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
        m = result.metrics
        results[variant] = {
            "overrides": VARIANTS[variant],
            "accuracy": m["accuracy"],
            "macro_f1": m["macro_f1"],
            "roc_auc": m["roc_auc"],
            "test_rows": m["n"],
            "train_rows": training_rows(config),
            "seconds": round(seconds, 1),
            "cpu_seconds": round(cpu_seconds, 1),
        }
        print(
            f"{variant:12s} accuracy {m['accuracy']:.4f} macro-F1 {m['macro_f1']:.4f} "
            f"AUC {m['roc_auc']:.4f} {seconds:.0f}s wall {cpu_seconds:.0f}s cpu",
            flush=True,
        )
        # One file per data set and tag, rewritten after each variant (variants may run in separate processes).
        write_result(out.stem, {"data": args.data, "common": common, "results": results}, path=out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
