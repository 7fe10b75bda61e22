"""Drift figures behind docs/benchmarks.md: IMDB vs Sentiment140 tweets (should drift) and
one random half of IMDB train vs the other half (should not), with every check of
`sentiq monitor` including the MiniLM embedding check.

    python benchmarks/drift.py                      # about 10 minutes on a 2-core CPU
    python benchmarks/drift.py --texts 400 --embedding-texts 200   # quicker
    python benchmarks/drift.py --model runs/imdb-sample-tfidf      # plus label-mix and confidence checks

(the model for the last line: ``sentiq train --set approach=tfidf --set data.source=data/imdb_sample/train.csv
-o runs/imdb-sample-tfidf``)

Writes benchmarks/results/drift-<time>.json and the two reports under runs/drift-benchmark/.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from harness import write_result
from sentiq.data import data_dir
from sentiq.monitoring import monitor


def corpora(folder: Path, seed: int) -> dict[str, Path]:
    imdb = pd.read_parquet(data_dir() / "imdb" / "train.parquet").sample(frac=1.0, random_state=seed)
    tweets = pd.read_csv(
        data_dir() / "sentiment140" / "training.sample.csv",
        header=None,
        encoding="latin-1",
        names=["polarity", "id", "date", "query", "user", "text"],
    )
    half = len(imdb) // 2
    paths = {"imdb_a": folder / "imdb_a.csv", "imdb_b": folder / "imdb_b.csv", "tweets": folder / "tweets.csv"}
    imdb.iloc[:half][["text"]].to_csv(paths["imdb_a"], index=False)
    imdb.iloc[half:][["text"]].to_csv(paths["imdb_b"], index=False)
    tweets[["text"]].to_csv(paths["tweets"], index=False)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000, help="rows sampled per side")
    parser.add_argument("--embedding-texts", type=int, default=500, help="texts per side for the embedding check")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--model", help="model directory that predicts both sides (label-mix and confidence checks)")
    args = parser.parse_args()
    out = {"texts": args.texts, "embedding_texts": args.embedding_texts, "model": args.model, "comparisons": {}}
    with tempfile.TemporaryDirectory() as tmp:
        paths = corpora(Path(tmp), args.seed)
        for name, current in (("imdb-half-vs-half", "imdb_b"), ("imdb-vs-tweets", "tweets")):
            start = time.perf_counter()
            result = monitor(
                str(paths["imdb_a"]),
                str(paths[current]),
                model=args.model,
                max_texts=args.texts,
                embedding_texts=args.embedding_texts,
                seed=args.seed,
                output_dir=Path("runs/drift-benchmark") / name,
            )
            seconds = time.perf_counter() - start
            out["comparisons"][name] = {
                "status": result.status,
                "seconds": round(seconds, 1),
                "checks": [c.to_dict() for c in result.checks],
            }
            print(f"{name}: {result.status} in {seconds:.0f}s")
            for c in result.checks:
                print(f"  {c.name:24s} {c.status:7s} stat={c.statistic} p={c.p_value} psi={c.psi} auc={c.auc}")
    print(f"wrote {write_result('drift', out)}")


if __name__ == "__main__":
    main()
