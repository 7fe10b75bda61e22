"""Fine-tuning on 100k, 400k and 1.6M rows of the synthetic Sentiment140-sized corpus: peak RSS and
times of `sentiq train` with the training split out of core (`data.out_of_core=true`: memory-mapped
Arrow, cleaned, preprocessed and tokenised by worker processes into an on-disk cache) and, for
comparison, in memory (`data.out_of_core=false`, what `sentiq train` did before).

    python scripts/make_big_corpus.py --out /tmp/s140big          # once, about 3 minutes
    python benchmarks/train_scale.py --corpus /tmp/s140big [--sizes 100000 400000 1600000] [--modes disk memory]

Each run is one `sentiq train` process: MiniLM, tweet preprocessing, `training.max_steps` optimiser
steps (the point is the data path, not the model), validation capped at 1,000 rows, the sample's own
4,000-row test split, so only the training split grows with the corpus. A fresh cache folder per run
(no cache hits). Peak RSS is the largest of the process and the workers it waited for. Results:
benchmarks/results/train_scale.json.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

from _scale import measure, subsets
from harness import write_result

TIMES = {
    "data_s": r"preprocessed the data out of core in ([\d.]+) s",
    "tokenise_s": r"tokenized \d{4,} texts into \d+ windows in ([\d.]+) s \(on disk:\s+/",
}  # the training split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=Path("/tmp/s140big"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 400_000, 1_600_000])
    parser.add_argument("--modes", nargs="+", choices=["disk", "memory"], default=["disk", "memory"])
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--max-steps", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/train_scale.json"))
    args = parser.parse_args()
    files = subsets(args.corpus, args.sizes)
    earlier = json.loads(args.out.read_text()) if args.out.is_file() else []
    results = earlier["runs"] if isinstance(earlier, dict) else earlier  # files before the harness: a bare list
    for n in args.sizes:
        for mode in args.modes:
            name = f"train-{mode}-{n}"
            cache = args.corpus / f"cache-{name}"
            shutil.rmtree(cache, ignore_errors=True)
            sets = [
                "approach=finetune",
                f"model={args.model}",
                f"data.out_of_core={str(mode == 'disk').lower()}",
                "preprocess=tweet",
                "data.max_eval_samples=1000",
                f"training.max_steps={args.max_steps}",
                "training.max_length=64",
                "training.batch_size=16",
                "training.eval_batch_size=64",
                "evaluation.important_words=0",
                "evaluation.calibrate=false",
                "tracking.backend=none",
                "name=s140-synthetic",
                f"data.source={files[n]}",
                f"data.test_source={args.corpus / 'test.parquet'}",
            ]
            cmd = [
                sys.executable,
                "-m",
                "sentiq.cli",
                "-v",
                "train",
                "-o",
                str(args.corpus / "models" / name),
                "--overwrite",
            ]
            for s in sets:
                cmd += ["--set", s]
            log = args.corpus / f"{name}.log"
            row = measure(cmd, env={"SENTIQ_CACHE_DIR": str(cache)}, log=log)
            text = log.read_text(errors="replace")
            row.update({key: float(m.group(1)) for key, pattern in TIMES.items() if (m := re.search(pattern, text))})
            metrics = json.loads((args.corpus / "models" / name / "report" / "metrics.json").read_text())
            row.update(
                mode=mode, rows=n, accuracy=round(metrics["accuracy"], 4), test_rows=metrics["n"], settings=sets[:-2]
            )
            print(json.dumps(row), flush=True)
            shutil.rmtree(cache, ignore_errors=True)
            results = [r for r in results if (r["mode"], r["rows"]) != (mode, n)] + [row]
            # One file, rewritten after each run: sizes and modes may be run in separate commands.
            write_result("train_scale", {"corpus": str(args.corpus), "runs": results}, path=args.out)


if __name__ == "__main__":
    main()
