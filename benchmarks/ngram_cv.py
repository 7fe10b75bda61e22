"""Choose an n-gram model's settings by cross-validation on the training split, never by its test split.

Each candidate is a list of ``--set`` overrides on top of the dataset's config; every candidate is scored by
stratified k-fold on the training rows only (out-of-fold accuracy and log-loss), and the JSON result records
them all. The Chinese ensembles' n-gram member was chosen this way (docs/benchmarks.md):

    python benchmarks/ngram_cv.py --dataset chnsenticorp      # about 5 minutes on a 2-core CPU
    python benchmarks/ngram_cv.py --dataset waimai --folds 5
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.model_selection import StratifiedKFold

from harness import write_result
from sentiq.config import load_config
from sentiq.data import load_splits
from sentiq.evaluation import compute_metrics
from sentiq.labels import LabelSet
from sentiq.models.tfidf import TfidfClassifier
from sentiq.workflows.common import preprocessed, profile_for

# The member's recipe (Makefile ZH_TFIDF) and the alternatives, fixed before any was scored.
BASE = ["approach=tfidf", "preprocess=chinese", "data.test_size=0.2", "data.validation_size=0.05"]
CANDIDATES = {
    "tfidf char1-3 C16 (current)": [],
    "tfidf char1-4 C16": ["tfidf.char_ngrams=[1, 4]"],
    "tfidf char1-3 C4": ["tfidf.C=4"],
    "nb char1-3 C1": ["tfidf.weighting=nb"],
    "nb char1-4 C1": ["tfidf.weighting=nb", "tfidf.char_ngrams=[1, 4]"],
}


def out_of_fold(config, train, labels: LabelSet, folds: int) -> np.ndarray:
    """Probabilities for every training row from a model that did not see it."""
    proba = np.zeros((len(train), len(labels)))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=config.seed)
    for fit_rows, held_rows in splitter.split(train["text"], train["label"]):
        model = TfidfClassifier.from_config(config, labels, language="zh")
        model.fit(train.iloc[fit_rows])
        proba[held_rows] = model.predict_proba(train["text"].iloc[held_rows].tolist())
    return proba


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, help="a Chinese dataset name: chnsenticorp or waimai")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    rows = []
    for name, overrides in CANDIDATES.items():
        config = load_config(None, [*BASE, f"data.source={args.dataset}", *overrides])
        loaded, splits = load_splits(config)
        train = preprocessed(splits.train, profile_for(config, loaded.default_preprocess)).reset_index(drop=True)
        labels = LabelSet.from_names(train["label"])
        start = time.time()
        proba = out_of_fold(config, train, labels, args.folds)
        metrics = compute_metrics(labels.encode(train["label"].tolist()), proba, list(labels))
        row = {"candidate": name, "overrides": overrides, "rows": len(train), "seconds": round(time.time() - start)}
        row |= {k: metrics[k] for k in ("accuracy", "macro_f1", "log_loss")}
        rows.append(row)
        print(f"{name}: accuracy {row['accuracy']:.4f} log-loss {row['log_loss']:.4f} ({row['seconds']} s)", flush=True)
    best = min(rows, key=lambda r: r["log_loss"])
    current = rows[0]
    chosen = best if best["accuracy"] >= current["accuracy"] else current
    print(f"lowest log-loss: {best['candidate']}; chosen by the rule: {chosen['candidate']}")
    result = {"dataset": args.dataset, "folds": args.folds, "candidates": rows, "chosen": chosen["candidate"]}
    print(f"wrote {write_result(f'ngram_cv-{args.dataset}', result)}")


if __name__ == "__main__":
    main()
