"""Two or more trained models on the very same test rows: accuracy, the paired difference with a
bootstrap interval, and McNemar's exact test — is model B really better than model A?

Every model is scored on the test split of the FIRST model's training data (re-split with its
training seed, as `sentiq evaluate` does), so the rows are identical for all of them.

    python benchmarks/paired_compare.py runs/zh/waimai-tfidf runs/zh/waimai-e5-full
    python benchmarks/paired_compare.py A B C --out benchmarks/results/paired-waimai.json

Prints one line per model against the first and writes JSON into benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
RESULTS = Path(__file__).resolve().parent / "results"


def correct_per_row(model_dir: Path, frame) -> np.ndarray:
    from sentiq.inference import Predictor

    predictor = Predictor.load(model_dir)
    labels = [p.label for p in predictor.predict(frame["text"].tolist())]
    return np.asarray(labels) == frame["label"].astype(str).to_numpy()


def paired_difference(base: np.ndarray, other: np.ndarray, *, rounds: int, seed: int) -> dict:
    """Accuracy difference (other - base) with a 95% paired bootstrap interval and McNemar's exact p."""
    from scipy.stats import binomtest

    rng = np.random.default_rng(seed)
    diff = other.astype(float) - base.astype(float)
    draws = rng.integers(0, len(diff), size=(rounds, len(diff)))
    boot = diff[draws].mean(axis=1)
    only_other, only_base = int(np.sum(other & ~base)), int(np.sum(base & ~other))
    discordant = only_other + only_base
    p_value = binomtest(only_other, discordant, 0.5).pvalue if discordant else 1.0
    return {"difference": float(diff.mean()), "ci95": [float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))],
            "only_this_right": only_other, "only_first_right": only_base, "mcnemar_p": float(p_value)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", type=Path, help="model directories; the first is the reference")
    parser.add_argument("--split", default="test")
    parser.add_argument("--rounds", type=int, default=10000, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="JSON result path")
    args = parser.parse_args()
    if len(args.models) < 2:
        parser.error("give at least two model directories")

    from sentiq.models.manifest import Manifest
    from sentiq.data import evaluation_frame

    frame, _ = evaluation_frame(Manifest.load(args.models[0]), None, args.split)
    correct = [correct_per_row(m, frame) for m in args.models]
    rows = [{"model": str(args.models[0]), "accuracy": float(correct[0].mean())}]
    for model, right in zip(args.models[1:], correct[1:]):
        rows.append({"model": str(model), "accuracy": float(right.mean()),
                     **paired_difference(correct[0], right, rounds=args.rounds, seed=args.seed)})
    for row in rows:
        extra = ""
        if "difference" in row:
            low, high = row["ci95"]
            extra = (f"  {row['difference'] * 100:+.2f} pt [{low * 100:+.2f}, {high * 100:+.2f}]  "
                     f"McNemar p={row['mcnemar_p']:.3g}")
        print(f"{row['accuracy']:.4f}  {row['model']}{extra}")  # noqa: T201 - a script's result table

    result = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": platform.machine(),
              "cpus": os.cpu_count(), "split": args.split, "rows": len(frame), "models": rows}
    out = args.out or RESULTS / f"paired-{args.models[0].name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")  # noqa: T201


if __name__ == "__main__":
    main()
