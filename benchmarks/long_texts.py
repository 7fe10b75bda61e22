"""Truncation strategies at prediction time on IMDB test reviews, by length bucket.

Takes an already fine-tuned model directory (default: the MiniLM of
``runs/imdb-minilm-4k``, trained with ``head`` at 256 tokens) and predicts the same
sampled IMDB *test* reviews (never seen in training) with each strategy: head, tail,
head+tail, chunks (mean) and chunks (max). Reviews are drawn seeded: ``--long`` of
those longer than 512 tokens and ``--short`` of the rest. Predictions go through the
model's own ``predict_windows`` and ``windows.pool`` (what ``predict_proba`` does);
chunks-max pools the windows chunks-mean predicted instead of predicting them again. Writes
``benchmarks/results/long_texts-<name>.json`` with accuracy per length bucket and the
seconds each strategy took.

    python benchmarks/long_texts.py --model runs/imdb-minilm-4k --long 350 --short 350
    python benchmarks/long_texts.py --max-length 512 --strategies head head+tail   # beyond the training length
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from sentiq.data import load_data
from sentiq.inference import Predictor
from sentiq.models import windows

ROOT = Path(__file__).resolve().parents[1]
STRATEGIES = {
    "head": ("head", {}),
    "tail": ("tail", {}),
    "head+tail": ("head+tail", {}),
    "chunks-mean": ("chunks", {"pooling": "mean"}),
    "chunks-max": ("chunks", {"pooling": "max"}),
}
BUCKETS = [(0, 256), (257, 512), (513, 768), (769, 1024), (1025, 10**9)]


def bucket_name(lo: int, hi: int) -> str:
    return f"{lo}-{hi}" if hi < 10**9 else f">{lo - 1}"


def sample_reviews(predictor: Predictor, *, n_long: int, n_short: int, seed: int):
    test = load_data("imdb").frames["test"]
    cleaned = predictor.profile.apply(test["text"].tolist())
    tokenizer = predictor.model.tokenizer
    lengths = np.array([len(ids) + 2 for ids in tokenizer(cleaned, add_special_tokens=False, verbose=False)["input_ids"]])
    rng = np.random.default_rng(seed)
    long_idx = rng.choice(np.flatnonzero(lengths > 512), n_long, replace=False)
    short_idx = rng.choice(np.flatnonzero(lengths <= 512), n_short, replace=False)
    idx = np.concatenate([long_idx, short_idx])
    return test["text"].iloc[idx].tolist(), test["label"].iloc[idx].tolist(), lengths[idx]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "runs" / "imdb-minilm-4k"))
    parser.add_argument("--long", type=int, default=350, help="reviews longer than 512 tokens")
    parser.add_argument("--short", type=int, default=350, help="reviews of at most 512 tokens")
    parser.add_argument("--max-length", type=int, default=None, help="tokens per window (default: the model's)")
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--name", default=None)
    args = parser.parse_args()

    predictor = Predictor.load(args.model, batch_size=args.batch_size)
    if args.max_length:
        predictor.model.max_length = args.max_length
    texts, labels, lengths = sample_reviews(predictor, n_long=args.long, n_short=args.short, seed=args.seed)
    y = np.array([predictor.labels.index(label) for label in labels])
    cleaned = predictor.profile.apply(texts)
    results = {}
    chunk_windows = chunk_owners = chunk_seconds = None  # set by chunks-mean, reused by chunks-max
    for name in args.strategies:
        strategy, options = STRATEGIES[name]
        predictor.model.truncation, predictor.model.window_options = strategy, options
        start = time.perf_counter()
        if name == "chunks-max" and "chunks-mean" in args.strategies:
            # The same windows as chunks-mean, pooled the other way: reuse their predictions.
            probas, seconds = windows.pool(chunk_windows, chunk_owners, len(texts), method="max"), chunk_seconds
        else:
            window_probas, owners = predictor.model.predict_windows(cleaned, batch_size=args.batch_size)
            seconds = time.perf_counter() - start
            if strategy == "chunks":
                chunk_windows, chunk_owners, chunk_seconds = window_probas, owners, seconds
            probas = windows.pool(window_probas, owners, len(texts), method=options.get("pooling", "mean"))
        correct = probas.argmax(1) == y
        row = {"accuracy_long": float(correct[lengths > 512].mean()), "accuracy_short": float(correct[lengths <= 512].mean()),
               "accuracy_all": float(correct.mean()), "seconds": round(seconds, 1), "buckets": {}}
        for lo, hi in BUCKETS:
            mask = (lengths >= lo) & (lengths <= hi)
            if mask.any():
                row["buckets"][bucket_name(lo, hi)] = {"n": int(mask.sum()), "accuracy": float(correct[mask].mean())}
        results[name] = row
        print(f"{name:12s} long {row['accuracy_long']:.4f} short {row['accuracy_short']:.4f} "
              f"all {row['accuracy_all']:.4f} {seconds:.0f}s", flush=True)

    name = args.name or f"{Path(args.model).name}-{predictor.model.max_length}"
    out = ROOT / "benchmarks" / "results" / f"long_texts-{name}.json"
    out.write_text(json.dumps({
        "model": str(args.model), "max_length": predictor.model.max_length, "n_long": args.long, "n_short": args.short,
        "seed": args.seed, "token_lengths": {"long_median": float(np.median(lengths[lengths > 512]))},
        "machine": platform.machine(), "results": results,
    }, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
