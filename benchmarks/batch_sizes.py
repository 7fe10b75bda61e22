"""Cost per text of one model by call size: is a batched forward cheaper than single calls here?

Scores the first ``--texts`` reviews of ``data/imdb_sample/test.csv`` with ``Predictor.predict_proba``
in calls of 1, 4, 8, 16 and 32 texts, in interleaved rounds (the order flips each round, so a
machine that slows down during the run weighs on every size alike), and reports the median
milliseconds per text. It is what decides whether micro-batching in ``sentiq serve`` can pay.

    python benchmarks/batch_sizes.py --model demo-output/model --rounds 3
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from harness import write_result

SIZES = (1, 4, 8, 16, 32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="Model directory (PyTorch or ONNX).")
    parser.add_argument("--data", default="data/imdb_sample/test.csv", help="CSV with a text column.")
    parser.add_argument("--texts", type=int, default=96)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from sentiq.inference import Predictor

    texts = pd.read_csv(args.data)["text"].tolist()[: args.texts]
    predictor = Predictor.load(args.model)
    predictor.predict_proba(texts[:8])  # warm-up
    ms = {size: [] for size in SIZES}
    for round_ in range(args.rounds):
        for size in SIZES if round_ % 2 == 0 else SIZES[::-1]:
            start = time.perf_counter()
            for i in range(0, len(texts), size):
                predictor.predict_proba(texts[i : i + size])
            ms[size].append(1000 * (time.perf_counter() - start) / len(texts))
    medians = {size: round(float(np.median(v)), 2) for size, v in ms.items()}
    print(args.model, predictor.backend, " ".join(f"{size}: {m:.1f} ms/text" for size, m in medians.items()))
    path = write_result(
        "batch_sizes",
        {
            "model": args.model,
            "backend": predictor.backend,
            "texts": len(texts),
            "rounds": args.rounds,
            "ms_per_text_median": medians,
            "ms_per_text": ms,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
