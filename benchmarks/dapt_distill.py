"""Domain-adaptive pre-training and distillation, measured.

Each step is one process (so each stays within a CPU time box) and writes JSON into
benchmarks/results/:

    # 0. the cost of a masked-LM step (CPU-s per 100 sequences of 128 tokens), fp32 and bfloat16 autocast
    python benchmarks/dapt_distill.py step-cost --steps 10
    python benchmarks/dapt_distill.py step-cost --steps 10 --bf16
    # 1. masked-LM training of MiniLM on unlabeled IMDB reviews (300 more held out for the loss before/after)
    python benchmarks/dapt_distill.py pretrain --texts 6000 --eval-texts 300 --max-length 128 --bf16 --output runs/bench/imdb-dapt
    # 2. the same fine-tuning (split, seed, hyper-parameters) from MiniLM and from the pre-trained folder
    python benchmarks/dapt_distill.py finetune --model minilm --train-rows 2000 --eval-rows 2000 --epochs 2
    python benchmarks/dapt_distill.py finetune --model runs/bench/imdb-dapt --train-rows 2000 --eval-rows 2000 --epochs 2
    python benchmarks/paired_compare.py runs/bench/imdb-ft-minilm runs/bench/imdb-ft-dapt --out benchmarks/results/paired-imdb-dapt.json
    # 3. a 3-layer student distilled from a fine-tuned MiniLM, timed against it on the CPU
    python benchmarks/dapt_distill.py distill --teacher runs/s140-minilm --student layers:3
    # 4. teacher and students timed again on the same test texts (one thread: OMP_NUM_THREADS=1)
    python benchmarks/dapt_distill.py speed --teacher runs/s140-minilm --students runs/bench/student --texts 1000
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from harness import write_result

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _progress():
    """Log each phase at every tenth of the way (the runs are long on a shared CPU)."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    shown: dict[str, int] = {}

    def update(phase: str, done: int, total: int) -> None:
        tenth = 10 * done // max(total, 1)
        if shown.get(phase) != tenth:
            shown[phase] = tenth
            print(f"{time.strftime('%H:%M:%S')} {phase} {done}/{total}", flush=True)

    return update


def _write(name: str, payload: dict) -> None:
    path = write_result(name, payload)
    print(path.read_text())


def pretrain(args) -> None:
    from sentiq.config import build_config
    from sentiq.training import pretrain as run

    cfg = build_config(
        {
            "model": "minilm",
            "seed": args.seed,
            "training": {"bf16": args.bf16},
            "pretrain": {
                "source": "imdb",
                "max_texts": args.texts + args.eval_texts,
                "eval_texts": args.eval_texts,
                "max_length": args.max_length,
                "epochs": args.epochs,
                "learning_rate": args.lr,
                "batch_size": 16,
            },
        }
    )
    cpu = time.process_time()
    result = run(cfg, args.output, overwrite=True, progress=_progress())
    losses = [(h["step"], h["loss"]) for h in result.history if "loss" in h]
    _write(
        f"dapt-pretrain-imdb-{args.texts}{'-bf16' if args.bf16 else ''}",
        {
            "step": "pretrain",
            **result.to_dict() | {"history": None},
            "train_loss_by_step": losses,
            "cpu_seconds": time.process_time() - cpu,
            "config": cfg.pretrain.model_dump(),
            "bf16": args.bf16,
            "threads": os.environ.get("OMP_NUM_THREADS"),
        },
    )


def step_cost(args) -> None:
    """CPU-seconds of masked-LM training per 100 sequences (``max_steps`` steps of 16 reviews): the time inside
    ``Trainer.train`` only, so loading, tokenizing and the held-out loss are left out."""
    import tempfile

    import transformers

    from sentiq.config import build_config
    from sentiq.training import pretrain as run

    timing: dict = {}
    original = transformers.Trainer.train

    def timed(self, *a, **k):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return original(self, *a, **k)
        finally:
            timing.update(
                wall_s=time.perf_counter() - wall, cpu_s=time.process_time() - cpu, steps=self.state.global_step
            )

    transformers.Trainer.train = timed
    batch = 16
    cfg = build_config(
        {
            "model": "minilm",
            "seed": args.seed,
            "training": {"bf16": args.bf16},
            "pretrain": {
                "source": "imdb",
                "max_texts": args.steps * batch + 16,
                "eval_texts": 16,
                "max_length": args.max_length,
                "max_steps": args.steps,
                "batch_size": batch,
            },
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        run(cfg, Path(tmp) / "enc", progress=_progress())
    sequences = timing["steps"] * batch
    _write(
        f"dapt-step-cost-{args.label}{'-bf16' if args.bf16 else ''}",
        {
            "step": "step-cost",
            "label": args.label,
            "bf16": args.bf16,
            "max_length": args.max_length,
            **timing,
            "sequences": sequences,
            "cpu_s_per_100_sequences": 100 * timing["cpu_s"] / sequences,
            "wall_s_per_100_sequences": 100 * timing["wall_s"] / sequences,
            "threads": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")},
        },
    )


def finetune(args) -> None:
    from sentiq.config import build_config
    from sentiq.workflows import train

    name = "minilm" if args.model == "minilm" else "dapt"
    # Evaluation kept to the metrics (no explanations, fairness templates or calibration: minutes each on a CPU);
    # a small validation split (2% of IMDB train, 500 reviews) for the per-epoch checkpoint choice.
    cfg = build_config(
        {
            "model": args.model,
            "seed": args.seed,
            "name": f"imdb-{name}",
            "data": {
                "source": "imdb",
                "max_train_samples": args.train_rows,
                "max_eval_samples": args.eval_rows,
                "validation_size": args.validation_size,
            },
            "training": {
                "max_length": args.max_length,
                "epochs": args.epochs,
                "learning_rate": args.lr,
                "batch_size": 16,
                "bf16": args.bf16,
            },
            "evaluation": {"important_words": 0, "fairness": False, "calibrate": False},
        }
    )
    start, cpu = time.perf_counter(), time.process_time()
    result = train(cfg, Path(args.output or f"runs/bench/imdb-ft-{name}"), overwrite=True, progress=_progress())
    _write(
        f"dapt-finetune-imdb-{name}",
        {
            "step": "finetune",
            "model": args.model,
            "seconds": time.perf_counter() - start,
            "cpu_seconds": time.process_time() - cpu,
            "metrics": {k: result.metrics.get(k) for k in ("n", "accuracy", "macro_f1", "roc_auc")},
            "threads": os.environ.get("OMP_NUM_THREADS"),
            "config": cfg.to_dict(),
        },
    )


def distill(args) -> None:
    from sentiq.training import distill as run
    from sentiq.training.distillation import teacher_config

    cfg = teacher_config(args.teacher, overrides=[f"distill.student={args.student}", *args.set])
    start = time.perf_counter()
    result = run(args.teacher, args.output, config=cfg, overwrite=True, progress=_progress())
    label = args.student.replace(":", "").replace("/", "-") + f"-train{result.train_rows}"
    _write(
        f"distill-{Path(args.teacher).name}-{label}",
        {"step": "distill", "seconds": time.perf_counter() - start, **result.to_dict(), "overrides": args.set},
    )


def speed(args) -> None:
    """Texts per wall second and per CPU second of the teacher and each student, in turns, on the same test
    texts (the first ``--texts`` of the teacher's test split, preprocessed by the Predictor like any input)."""
    import torch

    from sentiq.data import load_splits
    from sentiq.training.distillation import cpu_speeds, teacher_config

    _, splits = load_splits(teacher_config(args.teacher))
    texts = splits.test["text"].tolist()[: args.texts]
    dirs = [Path(args.teacher), *map(Path, args.students)]
    start = time.perf_counter()
    speeds = cpu_speeds(dirs, texts, rounds=args.rounds)
    rows = [
        {
            "model": str(d),
            "texts_per_s": wall,
            "texts_per_cpu_s": cpu,
            "speedup": wall / speeds[0][0],
            "speedup_cpu": cpu / speeds[0][1],
        }
        for d, (wall, cpu) in zip(dirs, speeds)
    ]
    _write(
        f"distill-speed-{Path(args.teacher).name}",
        {
            "step": "speed",
            "texts": len(texts),
            "rounds": args.rounds,
            "torch_threads": torch.get_num_threads(),
            "seconds": time.perf_counter() - start,
            "models": rows,
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("pretrain")
    p.add_argument("--texts", type=int, default=2000)
    p.add_argument("--eval-texts", type=int, default=200)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--output", default="runs/bench/imdb-dapt")
    c = sub.add_parser("step-cost")
    c.add_argument("--steps", type=int, default=10)
    c.add_argument("--max-length", type=int, default=128)
    c.add_argument(
        "--bf16", action="store_true", help="training.bf16=true (bfloat16 autocast on a CPU with AVX512-BF16)"
    )
    c.add_argument("--label", default="masked-head", help="names the JSON file (before/after a change, say)")
    f = sub.add_parser("finetune")
    f.add_argument("--model", default="minilm")
    f.add_argument("--train-rows", type=int, default=1000)
    f.add_argument("--eval-rows", type=int, default=1000)
    f.add_argument("--max-length", type=int, default=128)
    f.add_argument("--epochs", type=float, default=2.0)
    f.add_argument("--lr", type=float, default=5e-5)
    f.add_argument("--validation-size", type=float, default=0.02, help="share of IMDB train held out for validation")
    f.add_argument("--output", default=None)
    d = sub.add_parser("distill")
    d.add_argument("--teacher", required=True)
    d.add_argument("--student", default="layers:3")
    d.add_argument("--output", default="runs/bench/student")
    d.add_argument("--set", action="append", default=[], help="config override, e.g. training.epochs=1")
    s = sub.add_parser("speed")
    s.add_argument("--teacher", required=True)
    s.add_argument("--students", nargs="+", required=True)
    s.add_argument("--texts", type=int, default=1000)
    s.add_argument("--rounds", type=int, default=3)
    for sp in (p, c, f, d, s):
        sp.add_argument("--seed", type=int, default=42)
    for sp in (p, f):
        sp.add_argument(
            "--bf16", action="store_true", help="training.bf16=true (bfloat16 autocast on a CPU with AVX512-BF16)"
        )
    args = parser.parse_args()
    {"pretrain": pretrain, "step-cost": step_cost, "finetune": finetune, "distill": distill, "speed": speed}[args.step](
        args
    )


if __name__ == "__main__":
    main()
