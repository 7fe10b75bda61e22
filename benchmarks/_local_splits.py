"""Shared by the benchmarks that score models on every local dataset (``pretrained.py``, ``transfer.py``):
which config defines each dataset's split, the split's rows, the lexicon baselines a user would otherwise run,
and one cell's scores.

The splits are the ones sentiq's shipped configs make (seed 42): IMDB's official test split, Sentiment140's,
ChnSentiCorp's and waimai's stratified 20% (validation: the configs' share of the rest).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sentiq.config import load_config
from sentiq.data import load_splits
from sentiq.data.splits import subsample
from sentiq.evaluation.significance import bootstrap_interval

ROOT = Path(__file__).resolve().parent.parent
DATASETS = {  # name -> (config whose data section and seed define the split, language)
    "imdb": ("configs/imdb.yaml", "en"),
    "sentiment140": ("configs/sentiment140.yaml", "en"),
    "chnsenticorp": ("configs/chnsenticorp-e5.yaml", "zh"),
    "waimai": ("configs/waimai-e5.yaml", "zh"),
}


def split_rows(name: str, split: str, rows: int | None, seed: int = 42, *, datasets: dict | None = None):
    """``split`` of dataset ``name`` as its config cuts it; ``rows``: a stratified seeded sample (None: all)."""
    config_path = (datasets or DATASETS)[name][0]
    config = load_config(config_path if Path(config_path).is_absolute() else ROOT / config_path, [])
    _, splits = load_splits(config)
    frame = dict(splits.items())[split]
    frame = frame[frame["text"].str.strip() != ""]
    return subsample(frame, rows, seed).reset_index(drop=True)


def binary_labels(frame) -> np.ndarray:
    return (frame["label"] == "positive").to_numpy().astype(int)


def scores(y: np.ndarray, pred: np.ndarray) -> dict:
    """Accuracy with its 95% bootstrap interval (2,000 resamples of rows), macro-F1 and n."""
    from sklearn.metrics import f1_score

    return {
        "accuracy": float(np.mean(np.asarray(y) == np.asarray(pred))),
        "ci95": list(bootstrap_interval(y, pred)),
        "macro_f1": float(f1_score(y, pred, average="macro")),
        "n": int(len(y)),
    }


def vader_pred(texts: list[str]) -> np.ndarray:
    """VADER's compound score, >= 0 read as positive (1)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return np.array([int(analyzer.polarity_scores(t)["compound"] >= 0) for t in texts], dtype=int)


def snownlp_pred(texts: list[str]) -> np.ndarray:
    """snownlp's sentiment probability, >= 0.5 read as positive (1)."""
    from snownlp import SnowNLP

    return np.array([int(SnowNLP(t).sentiments >= 0.5) for t in texts], dtype=int)


BASELINES = {"vader": ("en", vader_pred), "snownlp": ("zh", snownlp_pred)}  # name -> (language, predict)
