"""Attention kernels in a training step: sdpa vs eager vs sentiq's auto, with and without attention
dropout, in float32 and bfloat16 autocast, at several sequence lengths.

One forward + backward of the whole classifier (all-MiniLM-L6-v2 by default) on random token ids
with some padding, per (length, kernel, attention dropout, precision); CPU ms per sample is the
process CPU time over a few steps after a warm-up step. This is what picked ``attention: auto``'s
thresholds (src/sentiq/models/attention.py).

    OMP_NUM_THREADS=1 python benchmarks/attention_kernels.py                 # 32, 128, 256, 512 tokens
    python benchmarks/attention_kernels.py --quick                           # 32 and 64 tokens, 1 step

Writes benchmarks/results/attention_kernels-<model>.json and prints a table.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from harness import write_result

os.environ.setdefault("HF_HUB_OFFLINE", "1")
BATCH = {32: 32, 64: 32, 128: 16, 256: 16, 384: 8, 512: 8}  # samples per step at each length


def step_cost(model, *, length: int, batch: int, bf16: bool, steps: int) -> float:
    """CPU ms per sample of one training forward + backward (after one warm-up step)."""
    import torch

    generator = torch.Generator().manual_seed(0)
    vocab = model.config.vocab_size
    ids = torch.randint(min(1000, vocab // 2), vocab, (batch, length), generator=generator)
    mask = torch.ones(batch, length, dtype=torch.long)
    mask[: batch // 2, -(length // 8) :] = 0  # half the rows padded: the mask path is exercised
    labels = torch.zeros(batch, dtype=torch.long)

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        model.zero_grad(set_to_none=True)

    step()
    start = time.process_time()
    for _ in range(steps):
        step()
    return (time.process_time() - start) / steps / batch * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--lengths", type=int, nargs="+", default=[32, 128, 256, 512], choices=sorted(BATCH))
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--precisions", nargs="+", default=["bf16", "fp32"], choices=["bf16", "fp32"])
    parser.add_argument("--kernels", nargs="+", default=["sdpa", "eager", "auto"], choices=["sdpa", "eager", "auto"])
    parser.add_argument("--quick", action="store_true", help="32 and 64 tokens, one timed step")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.quick:
        args.lengths, args.steps = [32, 64], 1

    import torch
    from transformers import AutoModelForSequenceClassification

    from sentiq.models import attention
    from sentiq.models.resolve import resolve_model_source

    source = resolve_model_source(args.model)
    rows = []
    for length in args.lengths:
        for kernel in args.kernels:
            for dropout in (0.1, 0.0):
                torch.manual_seed(0)
                model = AutoModelForSequenceClassification.from_pretrained(
                    source,
                    num_labels=2,
                    attn_implementation=attention.implementation(kernel),
                    attention_probs_dropout_prob=dropout,
                ).train()
                for bf16 in [p == "bf16" for p in args.precisions]:
                    ms = step_cost(model, length=length, batch=BATCH[length], bf16=bf16, steps=args.steps)
                    rows.append(
                        {
                            "length": length,
                            "kernel": kernel,
                            "attention_dropout": dropout,
                            "precision": "bf16" if bf16 else "fp32",
                            "cpu_ms_per_sample": ms,
                        }
                    )
                    print(
                        f"{length:>5} {kernel:>6} dropout {dropout:<4} {rows[-1]['precision']:>5} {ms:8.1f} ms/sample",
                        flush=True,
                    )
    out = write_result(
        f"attention_kernels-{args.model}{'-quick' if args.quick else ''}",
        {"model": args.model, "steps": args.steps, "rows": rows},
        path=args.out,
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
