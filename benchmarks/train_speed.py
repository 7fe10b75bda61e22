"""Training throughput: sentiq's trainer vs a seed-style `transformers.Trainer` script.

Both fine-tune the same model on the same rows with the same hyper-parameters; each runs in
its own process so peak memory is measured separately. The seed-style script is what the
write-ups this project was drawn from do: tokenize with padding="max_length", a plain
Trainer, random batches, `fp16=True` (which needs a GPU: on a CPU the seed script trains in
float32). sentiq runs twice: with its measured best settings (per-batch padding, length-grouped
batches, the default attention kernel and fused AdamW, and bfloat16 autocast where the hardware
has it: a GPU with bf16, or a CPU with AVX512-BF16/AMX), and in float32 (same settings without
bf16), so both ratios are visible. Its tokenized-split cache starts empty: a cold run.

    python benchmarks/train_speed.py --quick                # a few minutes on a 2-core CPU
    python benchmarks/train_speed.py --data imdb --train-rows 400 --max-length 512
    python benchmarks/train_speed.py --data sentiment140 --train-rows 2000 --max-length 128

Reports wall samples/s and process CPU-seconds per sample (all threads of the training
process; far less sensitive to other jobs on a shared machine), prints a table with ratios
and writes JSON into benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from harness import describe_machine, write_result

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
MODES = {"seed": "seed-style", "sentiq": "sentiq best", "sentiq-fp32": "sentiq fp32"}


def _rows(args):
    from sentiq.config import build_config
    from sentiq.data import load_splits
    from sentiq.preprocess import get_profile

    cfg = build_config(
        {
            "data": {"source": args.data, "max_train_samples": args.train_rows, "max_eval_samples": args.eval_rows},
            "seed": args.seed,
        }
    )
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
            self.enc = tokenizer(
                frame["text"].tolist(), padding="max_length", truncation=True, max_length=args.max_length
            )
            self.labels = [labels.index(x) for x in frame["label"]]

        def __len__(self):
            return len(self.labels)

        def __getitem__(self, i):
            item = {k: torch.tensor(v[i]) for k, v in self.enc.items()}
            item["labels"] = torch.tensor(self.labels[i])
            return item

    training_args = TrainingArguments(
        output_dir=str(args.work / "seed"),
        num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=args.batch_size,
        learning_rate=args.lr,
        warmup_steps=0.1,
        weight_decay=0.01,
        eval_strategy="epoch",
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=args.seed,
        fp16=torch.cuda.is_available(),
        use_cpu=not torch.cuda.is_available(),
        logging_steps=10**6,
    )
    trainer = Trainer(
        model=model, args=training_args, train_dataset=PaddedDataset(train), eval_dataset=PaddedDataset(validation)
    )
    start, cpu = time.perf_counter(), time.process_time()
    trainer.train()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu

    def predict_proba(texts):
        return torch.softmax(torch.as_tensor(trainer.predict(PaddedDataset(test)).predictions), -1).numpy()

    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "precision": "fp16" if torch.cuda.is_available() else "fp32",
        "accuracy": _accuracy(predict_proba, test),
    }


def best_settings(*, fp32: bool = False) -> dict:
    """sentiq's measured best training settings on this machine (docs/benchmarks.md, "Training options"):
    the config defaults (sdpa attention, fused AdamW, no torch.compile) plus mixed precision where the
    hardware runs it natively; ``fp32`` leaves mixed precision off."""
    import torch

    from sentiq.models.transformer import cpu_supports_bf16

    if fp32:
        return {}
    if torch.cuda.is_available():
        return {"bf16": True} if torch.cuda.is_bf16_supported() else {"fp16": True}
    return {"bf16": True} if cpu_supports_bf16() else {}


def _overrides(pairs: list[str]) -> dict:
    """``--sentiq-set key=value`` pairs as TrainingConfig fields (values parsed as YAML: 0, null, true)."""
    import yaml

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--sentiq-set takes key=value, not {pair!r}")
        out[key] = yaml.safe_load(value)
    return out


def training_config(args, **fields):
    """The TrainingConfig every sentiq side of these benchmarks trains with: the command line's length, batch,
    epochs and learning rate, 10% warm-up, one checkpoint kept; ``fields`` on top."""
    from sentiq.config import TrainingConfig

    return TrainingConfig(
        max_length=args.max_length,
        batch_size=args.batch_size,
        eval_batch_size=args.batch_size,
        epochs=args.epochs,
        learning_rate=args.lr,
        warmup_ratio=0.1,
        save_total_limit=1,
        **fields,
    )


def run_sentiq(args, train, validation, test, *, fp32: bool = False) -> dict:
    import tempfile

    from transformers import set_seed

    from sentiq.labels import LabelSet
    from sentiq.models.transformer import TransformerClassifier
    from sentiq.training.finetune import fine_tune

    os.environ["SENTIQ_CACHE_DIR"] = tempfile.mkdtemp(prefix="tokcache-", dir=args.work)  # a cold run
    settings = best_settings(fp32=fp32) | _overrides(args.sentiq_set)
    cfg = training_config(args, **settings)
    set_seed(args.seed)
    model = TransformerClassifier.from_encoder(
        args.model, LabelSet.from_names(train["label"]), max_length=args.max_length, attention=cfg.attention
    )
    model.bf16 = cfg.bf16  # predict the way it trained
    start, cpu = time.perf_counter(), time.process_time()
    fine_tune(model, train, validation, cfg, seed=args.seed, work_dir=args.work / ("sentiq-fp32" if fp32 else "sentiq"))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    precision = "bf16" if cfg.bf16 else "fp16" if cfg.fp16 else "fp32"
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "precision": precision,
        "settings": {
            "attention": cfg.attention,
            "optimizer": cfg.optimizer,
            "torch_compile": cfg.torch_compile,
            "precision": precision,
            "group_by_length": cfg.group_by_length,
            "keep_freed_memory": cfg.keep_freed_memory,
            "attention_dropout": cfg.attention_dropout,
        },
        "accuracy": _accuracy(lambda t: model.predict_proba(t, batch_size=64), test),
    }


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def child(args) -> None:
    train, validation, test = _rows(args)
    if args.child == "seed":
        result = run_seed_style(args, train, validation, test)
    else:
        result = run_sentiq(args, train, validation, test, fp32=args.child == "sentiq-fp32")
    samples = len(train) * args.epochs
    result.update(
        samples=samples,
        train_rows=len(train),
        test_rows=len(test),
        threads=_threads(),
        samples_per_s=samples / result["seconds"],
        cpu_s_per_sample=result["cpu_seconds"] / samples,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        machine=describe_machine(),
    )
    if _cuda():
        import torch

        result["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    print("RESULT " + json.dumps(result))


def _without_option(argv: list[str], *names: str) -> list[str]:
    """``argv`` less the options ``names`` and their values (``--name v1 [v2 ...]`` or ``--name=value``)."""
    out, skipping = [], False
    for a in argv:
        if skipping and not a.startswith("-"):
            continue
        skipping = a in names
        if not skipping and not a.startswith(tuple(name + "=" for name in names)):
            out.append(a)
    return out


def _run_children(args) -> dict:
    """Each side in its own process: one after the other, or up to ``--parallel N`` at once (then the
    wall-clock figures share the CPU and only the CPU-seconds compare)."""
    previous = _previous_results(args)
    waiting = [mode for mode in args.sides if mode not in previous]
    running, results = {}, {}
    while waiting or running:
        while waiting and len(running) < max(1, args.parallel):
            mode = waiting.pop(0)
            argv = [sys.executable, __file__, "--child", mode] + _without_option(
                [a for a in sys.argv[1:] if a != "--quick"], "--seed-result", "--reuse", "--parallel", "--sides"
            )
            argv += [
                "--train-rows",
                str(args.train_rows),
                "--eval-rows",
                str(args.eval_rows),
                "--max-length",
                str(args.max_length),
            ]
            # Output to files, not pipes: a side that logs a lot never waits for the parent to read it.
            logs = args.work / f"{mode}.out", args.work / f"{mode}.err"
            with logs[0].open("w") as out, logs[1].open("w") as err:
                running[mode] = subprocess.Popen(argv, stdout=out, stderr=err, text=True), logs
        mode = next(iter(running))  # the oldest
        proc, logs = running.pop(mode)
        proc.wait()
        stdout, stderr = logs[0].read_text(), logs[1].read_text()
        line = next((x for x in stdout.splitlines() if x.startswith("RESULT ")), None)
        if proc.returncode != 0 or line is None:
            sys.stderr.write(stderr[-4000:])
            raise SystemExit(f"{mode} run failed")
        results[mode] = json.loads(line[7:])
    return results | {mode: row for mode, row in previous.items() if mode in args.sides}


SIDE_KEYS = {"seed": "seed_style", "sentiq": "sentiq", "sentiq-fp32": "sentiq_fp32"}  # mode -> result JSON key
COMPARED = (("sentiq", ""), ("sentiq-fp32", "_fp32"))  # sentiq sides and the suffix of their ratio keys


def _previous_results(args) -> dict:
    """Sides taken from earlier result files of the same benchmark instead of being run again: the seed-style
    side of ``--seed-result`` (the seed script does not change with sentiq: re-running it only costs machine
    time), every side of each ``--reuse`` file (sides measured in separate runs, combined into one result); the
    first source holding a side gives it, ``--seed-result`` before the ``--reuse`` files.
    Refused unless data, settings, rows and threads match (and ``--sentiq-set``, for sentiq sides)."""
    sources = [(args.seed_result, ("seed",))] if args.seed_result else []
    sources += [(path, tuple(SIDE_KEYS)) for path in args.reuse]
    same = {
        "data": args.data,
        "model": args.model,
        "max_length": args.max_length,
        "batch_size": args.batch_size,
        "epochs": args.epochs,
    }
    found, overrides = {}, _overrides(args.sentiq_set)
    for path, modes in sources:
        earlier = json.loads(path.read_text())
        differs = {k: (earlier.get(k), v) for k, v in same.items() if earlier.get(k) != v}
        for mode in modes:
            row = earlier.get(SIDE_KEYS[mode])
            if row is None or mode in found:  # the first source holding a side gives it
                continue
            if mode != "seed" and earlier.get("sentiq_set", {}) != overrides:
                differs["sentiq_set"] = (earlier.get("sentiq_set"), overrides)
            if row["train_rows"] > args.train_rows or row.get("threads") != _threads() or differs:
                raise SystemExit(f"{path}: its {mode} side is not a run of these settings: {differs or 'rows/threads'}")
            found[mode] = row | {"from": f"{path.name} ({earlier['date']})"}
    return found


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
    parser.add_argument("--quick", action="store_true", help="small run: 96 rows, at most 256 tokens")
    parser.add_argument(
        "--parallel",
        type=int,
        default=1,
        metavar="N",
        help="run up to N sides at once (a busy machine: compare CPU-seconds, not wall time)",
    )
    parser.add_argument(
        "--sides",
        nargs="+",
        choices=list(MODES),
        default=list(MODES),
        help="which sides to run (the others are left out of the result)",
    )
    parser.add_argument(
        "--sentiq-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a TrainingConfig field for the sentiq sides, over the best settings (repeatable)",
    )
    parser.add_argument(
        "--reuse",
        type=Path,
        action="append",
        default=[],
        metavar="RESULT_JSON",
        help="take every side this earlier result of the same settings holds instead of running it "
        "(repeatable: sides measured in separate runs make one result)",
    )
    parser.add_argument(
        "--seed-result",
        type=Path,
        default=None,
        help="reuse the seed-style side of an earlier result JSON of the same settings",
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON result path")
    parser.add_argument("--work", type=Path, default=Path("/tmp/sentiq-bench"))
    parser.add_argument("--child", choices=list(MODES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.train_rows, args.eval_rows, args.max_length = 96, 64, min(args.max_length, 256)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.child:
        child(args)
        return

    results = _run_children(args)
    summary = {
        "machine_summary": next(iter(results.values()))["machine"],
        "torch_threads": next(iter(results.values()))["threads"],
        "sides_at_once": args.parallel,
        "data": args.data,
        "model": args.model,
        "max_length": args.max_length,
        "batch_size": args.batch_size,
        "epochs": args.epochs,
        "sentiq_set": _overrides(args.sentiq_set),
    }
    for mode, key in SIDE_KEYS.items():
        if mode in results:
            summary[key] = results[mode]
    summary.update(_ratios(results))
    out = write_result(
        f"train_speed-{args.data}-{args.max_length}{'-quick' if args.quick else ''}", summary, path=args.out
    )
    print(f"{'':14}{'precision':>10}{'samples/s':>10}{'CPU ms/sample':>15}{'accuracy':>10}{'peak RSS MB':>13}")
    for mode, name in MODES.items():
        if mode in results:
            row = results[mode]
            print(
                f"{name:14}{row['precision']:>10}{row['samples_per_s']:>10.2f}{1000 * row['cpu_s_per_sample']:>15.1f}"
                f"{row['accuracy']:>10.3f}{row['peak_rss_mb']:>13.0f}"
            )
    for side, suffix in COMPARED:
        if f"speedup{suffix}" in summary:
            print(
                f"{MODES[side]}: speed-up x{summary['speedup' + suffix]:.2f} wall, x{summary['speedup' + suffix + '_cpu']:.2f} "
                f"CPU-s, accuracy {summary['accuracy_delta' + suffix]:+.3f} vs seed-style"
            )
    print(f"wrote {out}")


def _ratios(results: dict) -> dict:
    """Speed-ups (wall and CPU-seconds) and accuracy differences of each sentiq side over the seed side."""
    if "seed" not in results:
        return {}
    seed, out = results["seed"], {}
    for side, suffix in COMPARED:
        if side in results:
            ours = results[side]
            out[f"speedup{suffix}"] = ours["samples_per_s"] / seed["samples_per_s"]
            out[f"speedup{suffix}_cpu"] = seed["cpu_s_per_sample"] / ours["cpu_s_per_sample"]
            out[f"accuracy_delta{suffix}"] = ours["accuracy"] - seed["accuracy"]
    return out


if __name__ == "__main__":
    main()
