"""Batch scoring: plain `sentiq predict --input --output` against `--engine ray` with 1 and 2
actors (rows/s, same run), and the peak RSS of streaming scoring at 100k, 400k and 1.6M rows.

    python scripts/make_big_corpus.py --out /tmp/s140big          # once, about 3 minutes
    python benchmarks/batch_scoring.py engines --corpus /tmp/s140big
    python benchmarks/batch_scoring.py memory --corpus /tmp/s140big

engines: a TF-IDF model (trained here on the Sentiment140 sample) scores 200k rows, and a
MiniLM fine-tuned here for one short epoch (its accuracy is beside the point) scores 3,000
rows; each with the local engine, Ray with 1 actor and Ray with 2 actors (a local Ray of 2
CPUs started by the command). rows/s = rows / wall seconds of the whole command, startup
included, as a user would time it. memory: the local engine on 100k / 400k / 1.6M rows of
the synthetic corpus (Parquet), peak RSS of the `sentiq predict` process. Results go to
benchmarks/results/batch_scoring-{engines,memory}-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from _scale import measure, subsets
from harness import write_result

PREDICT = [sys.executable, "-m", "sentiq.cli", "predict"]


def train(corpus: Path, name: str, sets: list[str]) -> Path:
    model = corpus / "models" / name
    if not (model / "manifest.json").is_file():
        cmd = [sys.executable, "-m", "sentiq.cli", "train", "-o", str(model), "--overwrite"]
        for s in ["data.source=sentiment140", "evaluation.important_words=0", *sets]:
            cmd += ["--set", s]
        measure(cmd, log=corpus / f"train-{name}.log")
    return model


def engines(corpus: Path) -> None:
    files = subsets(corpus, [200_000])
    small = corpus / "subset-3000.parquet"
    if not small.is_file():
        import pyarrow.parquet as pq

        pq.write_table(pq.read_table(files[200_000]).slice(0, 3000), small)
    models = {
        "tfidf": (train(corpus, "tfidf", ["approach=tfidf"]), files[200_000], 200_000),
        "minilm": (
            train(
                corpus,
                "minilm",
                [
                    "approach=finetune",
                    "model=minilm",
                    "data.max_train_samples=2000",
                    "training.epochs=1",
                    "training.max_length=64",
                ],
            ),
            small,
            3000,
        ),
    }
    results = []
    for name, (model, data, rows) in models.items():
        runs = {
            "local": [],
            "ray-1": ["--engine", "ray", "--concurrency", "1"],
            "ray-2": ["--engine", "ray", "--concurrency", "2"],
        }
        for label, extra in runs.items():
            target = corpus / f"scored-{name}-{label}.parquet"
            row = measure(
                [*PREDICT, str(model), "--input", str(data), "--output", str(target), *extra],
                log=corpus / f"score-{name}-{label}.log",
            )
            row.update(model=name, engine=label, rows=rows, rows_per_s=round(rows / row["seconds"], 1))
            print(json.dumps(row), flush=True)
            results.append(row)
        base = next(r for r in results if r["model"] == name and r["engine"] == "local")["rows_per_s"]
        for r in results:
            if r["model"] == name:
                r["vs_local"] = round(r["rows_per_s"] / base, 2)
    print(f"wrote {write_result('batch_scoring-engines', {'corpus': str(corpus), 'runs': results})}")


def memory(corpus: Path, sizes: list[int]) -> None:
    files = subsets(corpus, sizes)
    model = train(corpus, "tfidf", ["approach=tfidf"])
    results = []
    for n in sizes:
        target = corpus / f"scored-{n}.parquet"
        row = measure(
            [*PREDICT, str(model), "--input", str(files[n]), "--output", str(target), "--keep", "id"],
            log=corpus / f"score-memory-{n}.log",
        )
        row.update(rows=n, rows_per_s=round(n / row["seconds"], 1))
        print(json.dumps(row), flush=True)
        results.append(row)
        target.unlink()
    print(f"wrote {write_result('batch_scoring-memory', {'corpus': str(corpus), 'runs': results})}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["engines", "memory"])
    parser.add_argument("--corpus", type=Path, default=Path("/tmp/s140big"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 400_000, 1_600_000])
    args = parser.parse_args()
    engines(args.corpus) if args.what == "engines" else memory(args.corpus, args.sizes)


if __name__ == "__main__":
    main()
