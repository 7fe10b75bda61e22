"""Should a fine-tuned model predict with windows over the whole text (``training.predict_truncation``)?

Scores one transformer model directory on a split of its own training data (validation by default, the data
for choosing) twice: with the windows it was trained with, and with ``chunks`` (windows every ``--stride``
tokens, default half a window, mean-pooled), plus the mean of the two. Accuracy and log-loss for each, from the
model's own probabilities (before its temperature). A model saved predicting with chunks (trained with
``training.predict_truncation``) is compared with the windows its training record names.

    python benchmarks/prediction_windows.py runs/imdb-minilm                  # validation split
    python benchmarks/prediction_windows.py runs/waimai-e5-s42 --stride 32

A rule fixed before running decides, not this script: e.g. adopt chunks when its log-loss is lower and its
accuracy not lower, for every training seed (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from harness import write_result

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="a fine-tuned (transformer) model directory")
    parser.add_argument("--split", default="validation")
    parser.add_argument("--stride", type=int, default=None, help="tokens between window starts (half a window)")
    parser.add_argument("--out", type=Path, default=None, help="JSON result path")
    args = parser.parse_args()

    from sentiq.data import evaluation_frame
    from sentiq.evaluation import compute_metrics
    from sentiq.inference import Predictor
    from sentiq.models.manifest import Manifest

    manifest = Manifest.load(args.model)
    trained = manifest.truncation
    if trained == "chunks":  # saved with training.predict_truncation: compare with the windows it trained on
        trained = (manifest.config.get("training") or {}).get("truncation")
    if trained in (None, "chunks"):
        parser.error(f"{args.model} is not a transformer trained on one window per text ({trained})")
    frame, _ = evaluation_frame(manifest, None, args.split)
    predictor = Predictor.load(args.model)
    model, labels = predictor.model, predictor.labels
    gold = np.asarray([labels.index(str(label)) for label in frame["label"]])
    texts = predictor.clean(frame["text"].tolist())

    def scores(proba: np.ndarray) -> dict:
        metrics = compute_metrics(gold, proba, labels)
        return {"accuracy": metrics["accuracy"], "log_loss": metrics["log_loss"]}

    rows, probas = {}, {}
    for strategy in (trained, "chunks"):
        model.truncation = strategy
        if strategy == "chunks":
            model.window_options = {**model.window_options, "stride": args.stride, "pooling": "mean"}
        start = time.perf_counter()
        probas[strategy] = model.predict_proba(texts)
        rows[strategy] = {**scores(probas[strategy]), "seconds": round(time.perf_counter() - start, 1)}
    rows["mean of both"] = scores((probas[trained] + probas["chunks"]) / 2)
    for name, row in rows.items():
        print(f"{name:14s} accuracy {row['accuracy']:.4f}  log-loss {row['log_loss']:.4f}")  # noqa: T201
    out = write_result(
        f"prediction_windows-{args.model.name}",
        {"model": str(args.model), "split": args.split, "rows": len(frame), "stride": args.stride, "results": rows},
        path=args.out,
    )
    print(f"wrote {out}")  # noqa: T201


if __name__ == "__main__":
    main()
