"""Two or more trained models on the very same test rows: accuracy, the paired difference with a
bootstrap interval, and McNemar's test (both from sentiq.evaluation.significance) — is model B really better than model A?

Every model is scored on the test split of the FIRST model's training data (re-split with its
training seed, as `sentiq evaluate` does), so the rows are identical for all of them.

    python benchmarks/paired_compare.py runs/zh/waimai-tfidf runs/zh/waimai-e5-full
    python benchmarks/paired_compare.py A B C --out benchmarks/results/paired-waimai.json
    python benchmarks/paired_compare.py ENSEMBLE --members   # its members and itself, each member predicted once

Prints one line per model against the first and writes JSON into benchmarks/results/.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from harness import write_result

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def predicted_labels(model_dir: Path, frame) -> np.ndarray:
    from sentiq.inference import Predictor

    predictor = Predictor.load(model_dir)
    return np.asarray([p.label for p in predictor.predict(frame["text"].tolist())], dtype=object)


def ensemble_and_members(ensemble_dir: Path, frame) -> tuple[list[str], list[np.ndarray]]:
    """Labels of each member of an ensemble directory and of the ensemble, from one prediction pass per member."""
    from sentiq.inference import Predictor

    predictor = Predictor.load(ensemble_dir)
    model, labels = predictor.model, np.asarray(predictor.labels, dtype=object)
    stacked = model.member_proba(predictor.clean(frame["text"].tolist()))
    names = [f"{ensemble_dir}/members/{i} ({source})" for i, source in enumerate(model.sources)]
    predicted = [labels[member.argmax(axis=1)] for member in stacked]
    return [*names, str(ensemble_dir)], [*predicted, labels[model.combine(stacked).argmax(axis=1)]]


def paired_difference(gold: np.ndarray, base: np.ndarray, other: np.ndarray, *, rounds: int, seed: int) -> dict:
    """Accuracy difference (other - base) with a 95% paired bootstrap interval and McNemar's test
    (``sentiq.evaluation.significance``: exact binomial under 25 discordant rows, else chi-square)."""
    from sentiq.evaluation import mcnemar, paired_bootstrap

    boot = paired_bootstrap(gold, base, other, n_resamples=rounds, seed=seed)
    test = mcnemar(gold, base, other)
    return {
        "difference": boot.difference,
        "ci95": list(boot.ci),
        "bootstrap_p": boot.p_value,
        "only_this_right": test.only_b_right,
        "only_first_right": test.only_a_right,
        "mcnemar_p": test.p_value,
        "mcnemar_method": test.method,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", type=Path, help="model directories; the first is the reference")
    parser.add_argument("--split", default="test")
    parser.add_argument("--rounds", type=int, default=10000, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="JSON result path")
    parser.add_argument(
        "--members", action="store_true", help="one ensemble directory: its members first, then the ensemble"
    )
    args = parser.parse_args()
    if args.members and len(args.models) != 1:
        parser.error("--members takes one ensemble directory")
    if not args.members and len(args.models) < 2:
        parser.error("give at least two model directories")

    from sentiq.data import evaluation_frame
    from sentiq.models.manifest import Manifest

    frame, _ = evaluation_frame(Manifest.load(args.models[0]), None, args.split)
    gold = frame["label"].astype(str).to_numpy(dtype=object)
    if args.members:
        names, predicted = ensemble_and_members(args.models[0], frame)
    else:
        names, predicted = [str(m) for m in args.models], [predicted_labels(m, frame) for m in args.models]
    rows = [{"model": names[0], "accuracy": float(np.mean(predicted[0] == gold))}]
    for model, labels in zip(names[1:], predicted[1:]):
        rows.append(
            {
                "model": model,
                "accuracy": float(np.mean(labels == gold)),
                **paired_difference(gold, predicted[0], labels, rounds=args.rounds, seed=args.seed),
            }
        )
    if args.members:  # does the ensemble beat each of its parts, not only the first?
        rows[-1]["vs_members"] = [
            {"member": name, **paired_difference(gold, member, predicted[-1], rounds=args.rounds, seed=args.seed)}
            for name, member in zip(names[:-1], predicted[:-1])
        ]
    for row in rows:
        extra = ""
        if "difference" in row:
            low, high = row["ci95"]
            extra = (
                f"  {row['difference'] * 100:+.2f} pt [{low * 100:+.2f}, {high * 100:+.2f}]  "
                f"McNemar p={row['mcnemar_p']:.3g}"
            )
        print(f"{row['accuracy']:.4f}  {row['model']}{extra}")  # noqa: T201 - a script's result table
    for versus in rows[-1].get("vs_members", []):
        low, high = versus["ci95"]
        print(  # noqa: T201
            f"ensemble vs {versus['member']}: {versus['difference'] * 100:+.2f} pt [{low * 100:+.2f}, "
            f"{high * 100:+.2f}]  McNemar p={versus['mcnemar_p']:.3g}"
        )

    out = write_result(
        f"paired-{args.models[0].name}",
        {"split": args.split, "rows": len(frame), "rounds": args.rounds, "seed": args.seed, "models": rows},
        path=args.out,
    )
    print(f"wrote {out}")  # noqa: T201


if __name__ == "__main__":
    main()
