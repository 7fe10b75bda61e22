"""Training throughput: sentiq's trainer vs a seed-style `transformers.Trainer` script.

Both fine-tune the same model on the same rows with the same hyper-parameters; each runs in
its own process so peak memory is measured separately. The seed-style script is what the
write-ups this project was drawn from do: tokenize with padding="max_length", a plain
Trainer, random batches. sentiq pads per batch and groups similar lengths.

    python benchmarks/train_speed.py --quick                # a few minutes on a 2-core CPU
    python benchmarks/train_speed.py --data imdb --train-rows 400 --max-length 512
    python benchmarks/train_speed.py --data sentiment140 --train-rows 2000 --max-length 128

Prints a table with ratios and writes JSON into benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
RESULTS = Path(__file__).resolve().parent / "results"


def _rows(args):
    from sentiq.config import build_config
    from sentiq.data import load_splits
    from sentiq.preprocess import get_profile

    cfg = build_config({"data": {"source": args.data, "max_train_samples": args.train_rows,
                                 "max_eval_samples": args.eval_rows}, "seed": args.seed})
    loaded, splits = load_splits(cfg)
    profile = get_profile(loaded.default_preprocess)
    clean = lambda f: f.assign(text=profile.apply(f["text"].tolist()))  # noqa: E731 - same input for both
    return clean(splits.train), clean(splits.validation), clean(splits.test)


def _accuracy(predict_proba, test) -> float:
    import numpy as np

    labels = sorted(test["label"].unique())
    proba = predict_proba(test["text"].tolist())
    return float(np.mean(np.array(labels)[proba.argmax(1)] == test["label"].to_numpy()))


def run_seed_style(args, train, validation, test) -> dict:
    """The tutorial recipe: pad everything to max_length, default Trainer."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments

    from sentiq.models.resolve import resolve_model_source

    source = resolve_model_source(args.model)
    tokenizer = AutoTokenizer.from_pretrained(source)
    labels = sorted(train["label"].unique())
    torch.manual_seed(args.seed)
    model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=len(labels))

    class PaddedDataset(torch.utils.data.Dataset):
        def __init__(self, frame):
            self.enc = tokenizer(frame["text"].tolist(), padding="max_length", truncation=True,
                                 max_length=args.max_length)
            self.labels = [labels.index(x) for x in frame["label"]]

        def __len__(self):
            return len(self.labels)

        def __getitem__(self, i):
            item = {k: torch.tensor(v[i]) for k, v in self.enc.items()}
            item["labels"] = torch.tensor(self.labels[i])
            return item

    training_args = TrainingArguments(
        output_dir=str(args.work / "seed"), num_train_epochs=args.epochs, per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=args.batch_size, learning_rate=args.lr, warmup_steps=0.1, weight_decay=0.01,
        eval_strategy="epoch", save_strategy="no", report_to="none", disable_tqdm=True, seed=args.seed,
        fp16=torch.cuda.is_available(), use_cpu=not torch.cuda.is_available(), logging_steps=10**6,
    )
    trainer = Trainer(model=model, args=training_args, train_dataset=PaddedDataset(train),
                      eval_dataset=PaddedDataset(validation))
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start

    def predict_proba(texts):
        return torch.softmax(torch.as_tensor(trainer.predict(PaddedDataset(test)).predictions), -1).numpy()

    return {"seconds": seconds, "accuracy": _accuracy(predict_proba, test)}


def run_sentiq(args, train, validation, test) -> dict:
    from transformers import set_seed

    from sentiq.config import TrainingConfig
    from sentiq.labels import LabelSet
    from sentiq.models.transformer import TransformerClassifier
    from sentiq.training.finetune import fine_tune

    cfg = TrainingConfig(max_length=args.max_length, batch_size=args.batch_size, eval_batch_size=args.batch_size,
                         epochs=args.epochs, learning_rate=args.lr, warmup_ratio=0.1, fp16=_cuda(), save_total_limit=1)
    set_seed(args.seed)
    model = TransformerClassifier.from_encoder(args.model, LabelSet.from_names(train["label"]),
                                               max_length=args.max_length)
    start = time.perf_counter()
    fine_tune(model, train, validation, cfg, seed=args.seed, work_dir=args.work / "sentiq")
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "accuracy": _accuracy(lambda t: model.predict_proba(t, batch_size=64), test)}


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _machine() -> str:
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {gpu}, torch {torch.__version__}"


def child(args) -> None:
    train, validation, test = _rows(args)
    runner = run_seed_style if args.child == "seed" else run_sentiq
    result = runner(args, train, validation, test)
    result.update(samples=len(train) * args.epochs, train_rows=len(train), test_rows=len(test),
                  samples_per_s=len(train) * args.epochs / result["seconds"],
                  peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, machine=_machine())
    if _cuda():
        import torch

        result["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    print("RESULT " + json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="imdb")
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--train-rows", type=int, default=400)
    parser.add_argument("--eval-rows", type=int, default=400)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quick", action="store_true", help="small run: 96 rows, 256 tokens")
    parser.add_argument("--out", type=Path, default=None, help="JSON result path")
    parser.add_argument("--work", type=Path, default=Path("/tmp/sentiq-bench"))
    parser.add_argument("--child", choices=["seed", "sentiq"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.train_rows, args.eval_rows, args.max_length = 96, 64, 256
    if args.child:
        child(args)
        return

    results = {}
    for mode in ("seed", "sentiq"):
        argv = [sys.executable, __file__, "--child", mode] + [a for a in sys.argv[1:] if a != "--quick"]
        argv += ["--train-rows", str(args.train_rows), "--eval-rows", str(args.eval_rows),
                 "--max-length", str(args.max_length)]
        proc = subprocess.run(argv, capture_output=True, text=True)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
        if proc.returncode != 0 or line is None:
            sys.stderr.write(proc.stderr[-4000:])
            raise SystemExit(f"{mode} run failed")
        results[mode] = json.loads(line[7:])
    seed, ours = results["seed"], results["sentiq"]
    summary = {
        "benchmark": "train_speed", "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python", "benchmarks/train_speed.py"] + sys.argv[1:]), "machine": ours["machine"],
        "data": args.data, "model": args.model, "max_length": args.max_length, "batch_size": args.batch_size,
        "epochs": args.epochs, "seed_style": seed, "sentiq": ours,
        "speedup": ours["samples_per_s"] / seed["samples_per_s"],
        "accuracy_delta": ours["accuracy"] - seed["accuracy"],
    }
    out = args.out or RESULTS / f"train_speed-{args.data}-{args.max_length}{'-quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{'':14}{'samples/s':>10}{'accuracy':>10}{'peak RSS MB':>13}")
    for name, row in (("seed-style", seed), ("sentiq", ours)):
        print(f"{name:14}{row['samples_per_s']:>10.2f}{row['accuracy']:>10.3f}{row['peak_rss_mb']:>13.0f}")
    print(f"speed-up x{summary['speedup']:.2f}, accuracy {summary['accuracy_delta']:+.3f}; wrote {out}")


if __name__ == "__main__":
    main()
