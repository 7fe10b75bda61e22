"""Inference speed, accuracy and memory: sentiq's Predictor (PyTorch, ONNX fp32, ONNX int8)
against `transformers.pipeline("text-classification")` at batch size 1 and 32.

One run, one machine, one model, one set of texts. The model directory is exported to ONNX
(fp32 and int8) first; then every backend runs in its own process, so each peak RSS is its
own. The ONNX processes run with torch made unimportable, as a torch-free server would.
Per backend: texts/s over all texts, p50/p95 latency of single-text calls, accuracy, peak
and after-load RSS; the parent adds label agreement with sentiq-pytorch and speed ratios.

    python benchmarks/inference_speed.py --quick                 # a few minutes on a 2-core CPU
    python benchmarks/inference_speed.py --model-dir /tmp/demo --data imdb --rows 2000

Prints a table and writes JSON into benchmarks/results/.
"""

from __future__ import annotations

import argparse
import importlib.abc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from harness import describe_machine, write_result

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
BACKENDS = ("pipeline-b1", "pipeline-b32", "sentiq-pytorch", "sentiq-onnx-fp32", "sentiq-onnx-int8")


def _texts(args) -> tuple[list[str], list[str]]:
    """``rows`` labelled test texts (a seeded sample; the test split when the source has one)."""
    from sentiq.config import DataConfig
    from sentiq.data import load_from

    loaded = load_from(DataConfig(source=args.data))
    frame = loaded.frames.get("test", loaded.frames["train"])
    frame = frame.sample(n=min(args.rows, len(frame)), random_state=args.seed)
    return frame["text"].tolist(), frame["label"].tolist()


def _export(args) -> dict[str, Path]:
    from sentiq.export import export_onnx

    dirs = {}
    for name, quantize in (("sentiq-onnx-fp32", None), ("sentiq-onnx-int8", "int8")):
        if args.reuse_exports and (args.work / name / "sentiq.json").is_file():
            dirs[name] = args.work / name
            continue
        # accuracy is measured below on the benchmark texts; the export checks parity on its samples
        dirs[name] = export_onnx(
            args.model_dir, args.work / name, quantize=quantize, data="none", max_accuracy_drop=100.0, overwrite=True
        ).output_dir
    return dirs


def _proc_status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process. Not ru_maxrss: Linux carries that across
    fork+exec, so a child would report its parent's peak."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _load(backend: str, args):
    """A function texts -> label names, plus the cleaning the model expects (done untimed for pipeline)."""
    from sentiq.models import Manifest
    from sentiq.preprocess import profile_from_spec

    manifest = Manifest.load(args.model_dir)
    if backend.startswith("pipeline"):
        from transformers import pipeline

        clean = profile_from_spec(manifest.preprocess).apply
        # device: the GPU when one is asked for (the Predictor picks it by itself); ONNX stays on the CPU
        pipe = pipeline("text-classification", model=str(args.model_dir), device=0 if args.device == "cuda" else -1)
        batch_size = 1 if backend == "pipeline-b1" else 32
        options = {"batch_size": batch_size, "truncation": True, "max_length": manifest.max_length}
        return (lambda texts: [r["label"] for r in pipe(texts, **options)]), clean
    from sentiq.inference import Predictor

    directory = args.model_dir if backend == "sentiq-pytorch" else args.work / backend
    predictor = Predictor.load(directory)
    return (lambda texts: [p.label for p in predictor.predict(texts)]), (lambda texts: list(texts))


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


class _BlockTorch(importlib.abc.MetaPathFinder):
    """A torch-free server: importing torch fails as if it were not installed."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise ModuleNotFoundError(f"No module named {name!r}")


def child(args) -> None:
    if "onnx" in args.child:
        sys.meta_path.insert(0, _BlockTorch())
    texts, gold = json.loads((args.work / "texts.json").read_text())
    start = time.perf_counter()
    predict, clean = _load(args.child, args)
    inputs = clean(texts)
    predict(inputs[:8])  # warm-up: lazy initialisation, first allocations
    load_s = time.perf_counter() - start
    rss_loaded = _proc_status_mb("VmRSS")
    start, cpu_start = time.perf_counter(), time.process_time()
    labels = predict(inputs)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    latencies = []
    for text in inputs[: args.latency_texts]:
        t0 = time.perf_counter()
        predict([text])
        latencies.append(1000 * (time.perf_counter() - t0))
    import numpy as np

    (args.work / f"{args.child}.labels.json").write_text(json.dumps(labels))
    torch_module = sys.modules.get("torch")
    print(
        "RESULT "
        + json.dumps(
            {
                "texts": len(texts),
                "seconds": seconds,
                "texts_per_s": len(texts) / seconds,
                # CPU seconds of all threads: steadier than wall time when other jobs share the cores
                "cpu_seconds": cpu_seconds,
                "texts_per_cpu_s": len(texts) / cpu_seconds,
                "p50_ms": float(np.percentile(latencies, 50)),
                "p95_ms": float(np.percentile(latencies, 95)),
                "accuracy": float(np.mean(np.array(labels) == np.array(gold))),
                "load_s": load_s,
                "rss_loaded_mb": rss_loaded,
                "peak_rss_mb": _proc_status_mb("VmHWM"),
                "torch_loaded": torch_module is not None,
                "machine": describe_machine(),
            }
        )
    )


def _run_child(backend: str, args) -> dict:
    argv = [
        sys.executable,
        __file__,
        "--child",
        backend,
        "--model-dir",
        str(args.model_dir),
        "--work",
        str(args.work),
        "--latency-texts",
        str(args.latency_texts),
        "--device",
        args.device,
    ]
    proc = subprocess.run(argv, capture_output=True, text=True)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"{backend} run failed")
    return json.loads(line[7:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, default=Path("/tmp/demo"), help="a fine-tuned sentiq model")
    parser.add_argument("--data", default="imdb", help="dataset name or labelled file (its test split is used)")
    parser.add_argument("--rows", type=int, default=2000, help="texts to classify (throughput and accuracy)")
    parser.add_argument("--latency-texts", type=int, default=200, help="single-text calls timed for p50/p95")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="small run: 96 texts, 24 latency calls")
    parser.add_argument("--out", type=Path, default=None, help="JSON result path")
    parser.add_argument("--work", type=Path, default=Path("/tmp/sentiq-infer-bench"))
    parser.add_argument("--reuse-exports", action="store_true", help="keep ONNX exports already in --work")
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="where pipeline() runs (auto: the GPU when torch sees one, as the sentiq Predictor does; "
        "the ONNX backends run on the CPU)",
    )
    parser.add_argument("--child", choices=BACKENDS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.model_dir = args.model_dir.resolve()
    if args.device == "auto" and not args.child:
        args.device = "cuda" if _cuda() else "cpu"
    if args.quick:
        args.rows, args.latency_texts = 96, 24
    if args.child:
        child(args)
        return

    args.work.mkdir(parents=True, exist_ok=True)
    texts, gold = _texts(args)
    (args.work / "texts.json").write_text(json.dumps([texts, gold]))
    _export(args)
    results = {backend: _run_child(backend, args) for backend in BACKENDS}
    labels = {b: json.loads((args.work / f"{b}.labels.json").read_text()) for b in BACKENDS}
    reference = labels["sentiq-pytorch"]
    summary = {
        "machine_summary": results["sentiq-pytorch"]["machine"],
        "model": str(args.model_dir),
        "data": args.data,
        "texts": len(texts),
        "latency_texts": args.latency_texts,
        "device": args.device,  # pipeline() and sentiq-pytorch; ONNX Runtime runs on the CPU
        "backends": results,
        "agreement_with_pytorch": {
            b: sum(x == y for x, y in zip(labels[b], reference)) / len(reference) for b in BACKENDS
        },
        "speedup_vs_pipeline_b1": {
            b: results[b]["texts_per_s"] / results["pipeline-b1"]["texts_per_s"] for b in BACKENDS
        },
        "speedup_vs_pipeline_b32": {
            b: results[b]["texts_per_s"] / results["pipeline-b32"]["texts_per_s"] for b in BACKENDS
        },
        "cpu_speedup_vs_pipeline_b1": {
            b: results[b]["texts_per_cpu_s"] / results["pipeline-b1"]["texts_per_cpu_s"] for b in BACKENDS
        },
    }
    out = write_result(
        f"inference_speed-{Path(args.data).stem}{'-quick' if args.quick else ''}", summary, path=args.out
    )
    header = (
        "backend",
        "texts/s",
        "x pipe b1",
        "x pipe b32",
        "x b1 (CPU)",
        "p50 ms",
        "p95 ms",
        "accuracy",
        "agree",
        "peak RSS MB",
    )
    print(f"{header[0]:18}" + "".join(f"{h:>12}" for h in header[1:]))
    for b in BACKENDS:
        r = results[b]
        cells = (
            f"{r['texts_per_s']:.1f}",
            f"{summary['speedup_vs_pipeline_b1'][b]:.2f}",
            f"{summary['speedup_vs_pipeline_b32'][b]:.2f}",
            f"{summary['cpu_speedup_vs_pipeline_b1'][b]:.2f}",
            f"{r['p50_ms']:.1f}",
            f"{r['p95_ms']:.1f}",
            f"{r['accuracy']:.4f}",
            f"{summary['agreement_with_pytorch'][b]:.4f}",
            f"{r['peak_rss_mb']:.0f}",
        )
        print(f"{b:18}" + "".join(f"{c:>12}" for c in cells))
    print(f"{len(texts)} texts from {args.data}; machine: {summary['machine_summary']}; wrote {out}")


if __name__ == "__main__":
    main()
