"""Which layers int8 quantisation should keep in fp32: agreement, accuracy, speed and size per policy.

The README's quick start exports the demo model to int8 with a 0.5-point accuracy bound; quantising
every weight MatMul (the former default) lost 0.60 points on its 498 test reviews (issue 15). This
script exports the fp32 graph once, quantises it under each policy of
``sentiq.export.onnx.INT8_POLICIES`` (weights-only dynamic int8, per output channel; the policy keeps
the classifier head, the FFN output projections or the last layer in fp32), and scores each on the
*validation* split of the model's training data (the choice must not look at the test split):

    python benchmarks/int8_options.py --model-dir /tmp/integ/demo/model [--split validation] [--rows 500]

Prints a table (policy, label agreement with PyTorch, accuracy change in points, ms/text, MB) and
writes JSON into benchmarks/results/.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from harness import write_result

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _timed(predictor, texts: list[str]) -> tuple[object, float]:
    predictor.predict_proba(texts[:8])  # warm-up
    start = time.perf_counter()
    proba = predictor.predict_proba(texts)
    return proba, 1000 * (time.perf_counter() - start) / len(texts)


def main() -> None:
    import numpy as np

    from sentiq.data import evaluation_frame
    from sentiq.export.onnx import INT8_POLICIES, _quantize_int8, _torch_export
    from sentiq.inference import Predictor
    from sentiq.models import Manifest
    from sentiq.models.onnx_runtime import OnnxClassifier, load_tokenizer, open_session

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--split", default="validation")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--policies", nargs="*", default=list(INT8_POLICIES))
    args = parser.parse_args()

    manifest = Manifest.load(args.model_dir)
    frame, _ = evaluation_frame(manifest, None, args.split)
    frame = frame.sample(n=min(args.rows, len(frame)), random_state=0) if len(frame) > args.rows else frame
    texts, truth = frame["text"].tolist(), np.asarray(frame["label"])
    reference = Predictor.load(args.model_dir)
    ref, ref_ms = _timed(reference, texts)
    labels = np.asarray(reference.labels)
    ref_acc = float(np.mean(labels[ref.argmax(1)] == truth))
    rows = [
        {
            "policy": "pytorch fp32",
            "agreement": 1.0,
            "accuracy": ref_acc,
            "delta_points": 0.0,
            "ms_per_text": ref_ms,
            "mb": None,
        }
    ]
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        _torch_export(reference.model, fp32)
        reference.model.text_tokenizer().save(str(Path(tmp) / "tokenizer.json"))
        variants = [("onnx fp32", fp32)]
        for policy in args.policies:
            target = Path(tmp) / f"{policy}.onnx"
            _quantize_int8(fp32, target, policy=policy)
            variants.append((f"int8 {policy}", target))
        for name, path in variants:
            model = OnnxClassifier(
                open_session(path, n_labels=len(labels)),
                load_tokenizer(Path(tmp) / "tokenizer.json", max_length=manifest.max_length or 512),
                reference.model.labels,
                max_length=manifest.max_length or 512,
            )
            model.truncation, model.window_options = manifest.truncation or "head", dict(manifest.window or {})
            proba, ms = _timed(Predictor(model, manifest), texts)
            accuracy = float(np.mean(labels[proba.argmax(1)] == truth))
            rows.append(
                {
                    "policy": name,
                    "agreement": float(np.mean(proba.argmax(1) == ref.argmax(1))),
                    "accuracy": accuracy,
                    "delta_points": 100 * (accuracy - ref_acc),
                    "ms_per_text": ms,
                    "mb": path.stat().st_size / 1e6,
                }
            )
    print(f"{args.model_dir} on {len(texts)} {args.split} rows")
    print(f"{'option':28} {'agreement':>9} {'accuracy':>9} {'delta pt':>9} {'ms/text':>8} {'MB':>7}")
    for r in rows:
        mb = "" if r["mb"] is None else f"{r['mb']:.1f}"
        print(
            f"{r['policy']:28} {100 * r['agreement']:8.2f}% {100 * r['accuracy']:8.2f}% {r['delta_points']:+9.2f} "
            f"{r['ms_per_text']:8.2f} {mb:>7}"
        )
    out = write_result("int8_options", {"model": str(args.model_dir), "split": args.split, "rows": rows})
    print(f"written {out}")


if __name__ == "__main__":
    main()
