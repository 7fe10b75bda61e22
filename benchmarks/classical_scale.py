"""TF-IDF and hybrid (lexicon + tfidf + nb) trained with `sentiq train` on 100k, 400k and 1.6M rows
of the synthetic Sentiment140-sized corpus: wall time, peak RSS, accuracy on the sample's own
held-out test split (4,000 real tweets, never perturbed into the corpus).

    python scripts/make_big_corpus.py --out /tmp/s140big          # once, about 3 minutes
    python benchmarks/classical_scale.py --corpus /tmp/s140big [--sizes 100000 400000 1600000]

Each fit is one `sentiq train` process (load, tweet preprocessing, fit, test-split report);
peak RSS is that process's. Results: benchmarks/results/classical_scale.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from _scale import measure, subsets
from harness import write_result

APPROACHES = {
    "tfidf": ["approach=tfidf"],
    "hybrid": ["approach=hybrid", "hybrid.parts=[lexicon, tfidf, nb]"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=Path("/tmp/s140big"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 400_000, 1_600_000])
    parser.add_argument("--approaches", nargs="+", default=list(APPROACHES))
    parser.add_argument("--set", dest="extra", action="append", default=[], help="extra --set for every fit")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/classical_scale.json"))
    args = parser.parse_args()
    files = subsets(args.corpus, args.sizes)
    earlier = json.loads(args.out.read_text()) if args.out.is_file() else []
    results = earlier["fits"] if isinstance(earlier, dict) else earlier  # files before the harness: a bare list
    for n in args.sizes:
        for approach in args.approaches:
            model = args.corpus / "models" / f"{approach}-{n}"
            sets = [
                *APPROACHES[approach],
                f"data.source={files[n]}",
                f"data.test_source={args.corpus / 'test.parquet'}",
                "preprocess=tweet",
                "evaluation.important_words=0",
                "name=s140-synthetic",
                *args.extra,
            ]
            cmd = [sys.executable, "-m", "sentiq.cli", "train", "-o", str(model), "--overwrite"]
            for s in sets:
                cmd += ["--set", s]
            row = measure(cmd, log=args.corpus / f"train-{approach}-{n}.log")
            metrics = json.loads((model / "report" / "metrics.json").read_text())
            row.update(
                approach=approach,
                rows=n,
                accuracy=round(metrics["accuracy"], 4),
                test_rows=metrics["n"],
                settings=sets[:-3] + args.extra,
            )
            print(json.dumps(row), flush=True)
            results = [r for r in results if (r["approach"], r["rows"]) != (approach, n)] + [row]
            # One file, rewritten after each fit: sizes and approaches may be run in separate commands.
            write_result("classical_scale", {"corpus": str(args.corpus), "fits": results}, path=args.out)


if __name__ == "__main__":
    main()
