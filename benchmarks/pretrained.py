"""The built-in model (frozen multilingual-e5-small + a sentimentai-py head) on every local dataset.

Two phases, on the splits sentiq's own configs make (``configs/imdb.yaml``,
``sentiment140.yaml``, ``chnsenticorp-e5.yaml``, ``waimai-e5.yaml``: seed 42, stratified):

``--phase select``  scores every shipped e5-small head (mlp-2.0, mlp-1.0, logistic) with and
                    without the ``query: `` prefix on a seeded sample of each VALIDATION split;
                    the choice of the built-in's head and prefix is made here and nowhere else.
``--phase test``    scores the chosen head on each TEST split (IMDB: a stratified seeded sample,
                    since 25,000 reviews through a 12-layer encoder take hours on 2 cores) beside
                    the lexicon baselines a user would otherwise run: VADER (English) and snownlp
                    (Chinese) on the very same rows, with 95% bootstrap intervals.

Binary datasets are scored with the documented binary mapping (neutral dropped, the other two
renormalised). Results go to ``benchmarks/results/pretrained-<phase>-<time>.json``.

    OMP_NUM_THREADS=2 SENTIQ_DATA_DIR=/work/shared/datasets python benchmarks/pretrained.py --phase select
    OMP_NUM_THREADS=2 SENTIQ_DATA_DIR=/work/shared/datasets python benchmarks/pretrained.py --phase test \
        --head mlp-2.0 --prefix "query: " --imdb-rows 2000
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np

from _local_splits import DATASETS, binary_labels, scores, snownlp_pred, split_rows, vader_pred
from harness import write_result
from sentiq.inference import Predictor
from sentiq.models.cache import feature_cache
from sentiq.models.pretrained import HEADS, head_proba, read_source_head, to_binary

log = logging.getLogger("pretrained-bench")


def encoder_for(max_length: int):
    from sentiq.models.embedding import SentenceEncoder

    return SentenceEncoder("e5-multilingual", max_length=max_length, batch_size=32)


def embed(encoder, texts: list[str], prefix: str) -> np.ndarray:
    from sentiq.models.embedding import cached_encode

    return cached_encode(encoder, [prefix + t for t in texts])


def select(args) -> dict:
    encoder = encoder_for(args.max_length)
    heads = {h: read_source_head(h) for h in HEADS}
    results: dict = {}
    for name in DATASETS:
        frame = split_rows(name, "validation", args.imdb_rows if name == "imdb" else args.val_rows)
        y = binary_labels(frame)
        for prefix in ("", "query: "):
            start = time.perf_counter()
            vectors = embed(encoder, frame["text"].tolist(), prefix)
            seconds = time.perf_counter() - start
            for head_id, head in heads.items():
                proba = head_proba(vectors, head)
                result = scores(y, to_binary(proba).argmax(axis=1))
                result["neutral_argmax_share"] = float((proba.argmax(axis=1) == 1).mean())
                results.setdefault(f"{head_id} | prefix {prefix!r}", {})[name] = result
            log.info("%s validation (%d rows) prefix %r: %.0f s", name, len(frame), prefix, seconds)
    for row in results.values():
        row["mean_accuracy"] = float(np.mean([row[d]["accuracy"] for d in DATASETS]))
    return results


def test(args) -> dict:
    encoder = encoder_for(args.max_length)
    head = read_source_head(args.head)
    results: dict = {}
    for name in args.datasets:
        language = DATASETS[name][1]
        frame = split_rows(name, "test", args.imdb_rows if name == "imdb" else args.rows)
        texts, y = frame["text"].tolist(), binary_labels(frame)
        start = time.perf_counter()
        vectors = embed(encoder, texts, args.prefix)
        built_in = {
            **scores(y, to_binary(head_proba(vectors, head)).argmax(axis=1)),
            "seconds": time.perf_counter() - start,
        }
        start = time.perf_counter()
        baseline_name, baseline = ("vader", vader_pred) if language == "en" else ("snownlp", snownlp_pred)
        base = {**scores(y, baseline(texts)), "seconds": time.perf_counter() - start}
        trained = {}
        for directory in args.trained:  # sentiq models trained on this dataset, scored on the same rows
            predictor = Predictor.load(directory)
            if predictor.manifest.config.get("data", {}).get("source") == name:
                proba = predictor.predict_proba(texts)
                trained[f"trained:{Path(directory).name}"] = scores(
                    y, (np.asarray(predictor.labels)[proba.argmax(axis=1)] == "positive").astype(int)
                )
        results[name] = {
            "built-in": built_in,
            baseline_name: base,
            **trained,
            "rows": len(frame),
            "sampled": len(frame) < len(split_rows(name, "test", None)),
        }
        log.info(
            "%s test: built-in %.4f, %s %.4f (%d rows)",
            name,
            built_in["accuracy"],
            baseline_name,
            base["accuracy"],
            len(frame),
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phase", choices=("select", "test"), required=True)
    parser.add_argument("--head", default="mlp-2.0", choices=sorted(HEADS))
    parser.add_argument("--prefix", default="query: ")
    parser.add_argument("--val-rows", type=int, default=500, help="validation rows per dataset (select)")
    parser.add_argument("--imdb-rows", type=int, default=2000, help="IMDB rows (a stratified seeded sample)")
    parser.add_argument(
        "--rows",
        type=int,
        default=None,
        help="test rows of the other datasets (a stratified seeded sample; default all)",
    )
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--max-length", type=int, default=512, help="encoder tokens (the built-in uses 512)")
    parser.add_argument(
        "--trained",
        nargs="*",
        default=[],
        type=Path,
        help="sentiq model directories to score on the same rows (each on the dataset it was trained on)",
    )
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    start = time.perf_counter()
    with feature_cache():  # re-runs reuse the sentence vectors
        results = select(args) if args.phase == "select" else test(args)
    payload = {
        "phase": args.phase,
        "args": {k: str(v) for k, v in vars(args).items()},
        "wall_s": round(time.perf_counter() - start, 1),
        "results": results,
    }
    tag = "" if args.phase == "select" or args.datasets == list(DATASETS) else "-" + "-".join(args.datasets)
    output = write_result(f"pretrained-{args.phase}{tag}", payload, path=args.output)
    print(output.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
