"""Cut the quick-start sample from the shared IMDB corpus (run once; the output is committed).

Short reviews (at most 150 words) so that the demo fine-tunes on whole reviews within
minutes on a laptop CPU; balanced, seeded, train from IMDB's train split and the
held-out part from IMDB's official test split.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from sentiq.data.sources import data_dir
from sentiq.data.splits import subsample

LABELS = {0: "negative", 1: "positive"}


def short_reviews(path: Path, max_words: int) -> pd.DataFrame:
    frame = pd.read_parquet(path, columns=["text", "label"])
    frame = frame[frame["text"].str.split().str.len() <= max_words]
    return frame.assign(label=frame["label"].map(LABELS)).drop_duplicates("text")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("data/imdb_sample"))
    parser.add_argument("--train", type=int, default=1600)
    parser.add_argument("--test", type=int, default=500)
    parser.add_argument("--max-words", type=int, default=150)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    root = data_dir()
    if root is None:
        raise SystemExit("no shared datasets folder found; set SENTIQ_DATA_DIR")
    train = subsample(short_reviews(root / "imdb/train.parquet", args.max_words), args.train, args.seed)
    test = subsample(short_reviews(root / "imdb/test.parquet", args.max_words), args.test, args.seed)
    test = test[~test["text"].isin(set(train["text"]))]
    args.out.mkdir(parents=True, exist_ok=True)
    train.to_csv(args.out / "train.csv", index=False)
    test.to_csv(args.out / "test.csv", index=False)
    print(f"wrote {len(train)} train and {len(test)} test reviews to {args.out}")


if __name__ == "__main__":
    main()
