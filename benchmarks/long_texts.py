"""Truncation strategies at prediction time on IMDB test reviews, by length bucket.

Takes an already fine-tuned model directory (default: the MiniLM of
``runs/imdb-minilm-4k``, trained with ``head`` at 256 tokens) and predicts the same
sampled IMDB *test* reviews (never seen in training) with each strategy: head, tail,
head+tail, chunks (mean) and chunks (max). Reviews are drawn seeded: ``--long`` of
those longer than 512 tokens and ``--short`` of the rest. Predictions go through the
model's own ``predict_windows`` and ``windows.pool`` (what ``predict_proba`` does);
chunks-max pools the windows chunks-mean predicted instead of predicting them again. Writes
``benchmarks/results/long_texts-<name>-<time>.json`` with accuracy per length bucket and the
seconds each strategy took (wall and process CPU). Each accuracy comes with its standard
error, and each strategy's gain over ``head`` on the long reviews with a paired bootstrap
95% interval and the counts of reviews only it / only head gets right, so a difference can
be told from the noise of the sample.

    python benchmarks/long_texts.py --model runs/imdb-minilm-4k --long 350 --short 350
    python benchmarks/long_texts.py --max-length 512 --strategies head head+tail   # beyond the training length
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from harness import write_result
from sentiq.data import load_data
from sentiq.evaluation import mcnemar, paired_bootstrap
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


def accuracy_with_se(correct: np.ndarray) -> dict:
    """Accuracy and its binomial standard error sqrt(p (1 - p) / n)."""
    p = float(correct.mean())
    return {"n": int(correct.size), "accuracy": p, "se": float(np.sqrt(p * (1 - p) / correct.size))}


def paired_gain(y: np.ndarray, predicted: np.ndarray, baseline: np.ndarray, *, resamples: int, seed: int) -> dict:
    """Accuracy of ``predicted`` minus ``baseline`` on the same reviews: the paired bootstrap 95% interval and
    the discordant counts with McNemar's p (``sentiq.evaluation.significance``)."""
    boot = paired_bootstrap(y, baseline, predicted, n_resamples=resamples, seed=seed)
    test = mcnemar(y, baseline, predicted)
    return {
        "gain": boot.difference,
        "ci95": list(boot.ci),
        "only_this_right": test.only_b_right,
        "only_head_right": test.only_a_right,
        "mcnemar_p": test.p_value,
        "mcnemar_method": test.method,
    }


def sample_reviews(predictor: Predictor, *, n_long: int, n_short: int, seed: int):
    test = load_data("imdb").frames["test"]
    cleaned = predictor.profile.apply(test["text"].tolist())
    tokenizer = predictor.model.tokenizer
    lengths = np.array(
        [len(ids) + 2 for ids in tokenizer(cleaned, add_special_tokens=False, verbose=False)["input_ids"]]
    )
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
    parser.add_argument("--resamples", type=int, default=10000, help="bootstrap resamples of the gain over head")
    args = parser.parse_args()

    predictor = Predictor.load(args.model, batch_size=args.batch_size)
    if args.max_length:
        predictor.model.max_length = args.max_length
    texts, labels, lengths = sample_reviews(predictor, n_long=args.long, n_short=args.short, seed=args.seed)
    y = np.array([predictor.labels.index(label) for label in labels])
    cleaned = predictor.profile.apply(texts)
    results = {}
    chunk_windows = chunk_owners = chunk_seconds = chunk_cpu = None  # set by chunks-mean, reused by chunks-max
    long = lengths > 512
    head_predicted = None
    for name in args.strategies:
        strategy, options = STRATEGIES[name]
        predictor.model.truncation, predictor.model.window_options = strategy, options
        start, cpu_start = time.perf_counter(), time.process_time()
        if name == "chunks-max" and "chunks-mean" in args.strategies:
            # The same windows as chunks-mean, pooled the other way: reuse their predictions.
            probas = windows.pool(chunk_windows, chunk_owners, len(texts), method="max")
            seconds, cpu_seconds, n_windows = chunk_seconds, chunk_cpu, len(chunk_owners)
        else:
            window_probas, owners = predictor.model.predict_windows(cleaned, batch_size=args.batch_size)
            seconds, cpu_seconds, n_windows = time.perf_counter() - start, time.process_time() - cpu_start, len(owners)
            if strategy == "chunks":
                chunk_windows, chunk_owners, chunk_seconds, chunk_cpu = window_probas, owners, seconds, cpu_seconds
            probas = windows.pool(window_probas, owners, len(texts), method=options.get("pooling", "mean"))
        predicted = probas.argmax(1)
        correct = predicted == y
        row = {
            "long": accuracy_with_se(correct[long]),
            "short": accuracy_with_se(correct[~long]) if (~long).any() else None,
            "all": accuracy_with_se(correct),
            "windows": n_windows,
            "seconds": round(seconds, 1),
            "cpu_seconds": round(cpu_seconds, 1),
            "buckets": {},
        }
        for lo, hi in BUCKETS:
            mask = (lengths >= lo) & (lengths <= hi)
            if mask.any():
                row["buckets"][bucket_name(lo, hi)] = accuracy_with_se(correct[mask])
        if name == "head":
            head_predicted = predicted
        elif head_predicted is not None:
            row["gain_over_head_long"] = paired_gain(
                y[long], predicted[long], head_predicted[long], resamples=args.resamples, seed=args.seed
            )
        results[name] = row
        gain = row.get("gain_over_head_long")
        print(
            f"{name:12s} long {row['long']['accuracy']:.4f} (se {row['long']['se']:.4f}) all {row['all']['accuracy']:.4f}"
            + (f" gain {gain['gain']:+.4f} [{gain['ci95'][0]:+.4f}, {gain['ci95'][1]:+.4f}]" if gain else "")
            + f" {seconds:.0f}s wall {cpu_seconds:.0f}s cpu",
            flush=True,
        )

    name = args.name or f"{Path(args.model).name}-{predictor.model.max_length}"
    out = write_result(
        f"long_texts-{name}",
        {
            "model": str(args.model),
            "max_length": predictor.model.max_length,
            "n_long": args.long,
            "n_short": args.short,
            "seed": args.seed,
            "token_lengths": {"long_median": float(np.median(lengths[long]))},
            "truncation_trained": predictor.manifest.truncation,
            "resamples": args.resamples,
            "results": results,
        },
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
