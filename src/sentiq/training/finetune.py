"""Fine-tuning with the transformers Trainer: dynamic padding, length-grouped batches,
best checkpoint by a chosen metric, early stopping, resume, class weights, adversarial
training, and guards against collapse and divergence.

With ``training.truncation: chunks`` every window of a long text is a training (and
validation) example carrying the text's label, so validation metrics during training are
per window; the final test metrics are per text (pooled windows)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from transformers import DataCollatorWithPadding, EarlyStoppingCallback, PrinterCallback, Trainer, TrainingArguments
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_pt_utils import LengthGroupedSampler
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, rotate_checkpoints

from sentiq.allocator import keep_freed_memory
from sentiq.config import TrainingConfig
from sentiq.errors import CollapseError, ConfigError, DivergenceError, Errors
from sentiq.evaluation import compute_metrics
from sentiq.models import windows
from sentiq.models.cache import cached_arrays
from sentiq.models.transformer import TransformerClassifier, cpu_supports_bf16, set_attention_dropout
from sentiq.training import distributed
from sentiq.training.adversarial import EmbeddingAttack, make_attack
from sentiq.training.callbacks import CollapseGuard, ProgressBridge, SameDecisionOnEveryRank
from sentiq.training.result import FitResult

log = logging.getLogger(__name__)


class EncodedDataset(torch.utils.data.Dataset):
    """Pre-tokenized examples (no padding: the collator pads each batch); ``extra`` adds per-example fields
    (a distillation target, say) that the collator stacks beside the labels."""

    def __init__(self, encodings: dict, labels: list[int], *, extra: dict[str, list] | None = None):
        self.input_ids = encodings["input_ids"]
        self.attention_mask = encodings["attention_mask"]
        self.labels = labels
        self.extra = extra or {}
        if len(labels) != len(self.input_ids):
            raise ValueError(f"{len(labels)} labels for {len(self.input_ids)} encoded examples")

    @classmethod
    def from_texts(
        cls, model: TransformerClassifier, texts: list[str], label_ids: list[int], *, cache: bool = False
    ) -> "EncodedDataset":
        """One example per window of each text (one window unless truncation is chunks), labelled with its
        text's label; ``cache`` reads and writes the token ids in the on-disk cache (:func:`encode_cached`)."""
        encodings = encode_cached(model, texts) if cache else model.encode(texts)
        return cls(encodings, [label_ids[i] for i in encodings["owners"]])

    def __len__(self) -> int:
        return len(self.labels)

    def sorted_by_length(self) -> "EncodedDataset":
        """The same examples, longest first: evaluation batches (taken in order) then pad little, the
        way length-grouped training batches do. Metrics do not depend on the order."""
        order = sorted(range(len(self)), key=lambda i: -len(self.input_ids[i]))
        pick = lambda values: [values[i] for i in order]  # noqa: E731
        return EncodedDataset(
            {"input_ids": pick(self.input_ids), "attention_mask": pick(self.attention_mask)},
            pick(self.labels),
            extra={name: pick(values) for name, values in self.extra.items()},
        )

    def __getitem__(self, i: int) -> dict:
        item = {"input_ids": self.input_ids[i], "attention_mask": self.attention_mask[i], "labels": self.labels[i]}
        return item | {name: values[i] for name, values in self.extra.items()}


class ArrowEncodedDataset(torch.utils.data.Dataset):
    """Token ids in a ``datasets.Dataset`` (``input_ids``, ``labels``, ``length``): memory-mapped from the
    on-disk cache for an out-of-core training split, so examples are read as batches need them."""

    def __init__(self, table):
        self.table = table
        lengths = table.data.table.column("length").to_numpy() if table.num_rows else np.zeros(0, np.int64)
        self.lengths = np.asarray(lengths)[self._order()]  # in the order rows are read, as ``labels``

    @property
    def labels(self) -> np.ndarray:
        return np.asarray(self.table.data.table.column("labels").to_numpy())[self._order()]

    def _order(self) -> np.ndarray | slice:
        mapping = self.table._indices  # set by sort/select: rows are read through it
        return slice(None) if mapping is None else mapping.column(0).to_numpy()

    def __len__(self) -> int:
        return self.table.num_rows

    def __getitem__(self, i: int) -> dict:
        row = self.table[int(i)]
        return {"input_ids": row["input_ids"], "labels": row["labels"]}

    def sorted_by_length(self) -> "ArrowEncodedDataset":
        """Longest first, as :meth:`EncodedDataset.sorted_by_length`."""
        return ArrowEncodedDataset(self.table.sort("length", reverse=True))


def tokenized_arrow(model: TransformerClassifier, dataset, *, num_proc: int | None = None) -> ArrowEncodedDataset:
    """``dataset`` (preprocessed ``text``, ``label`` names) tokenised in batches by worker processes into a
    cache beside it (keyed by the input and the model's encoding fingerprint); one example per window."""
    from sentiq.data.arrow import default_num_proc

    ids = {name: i for i, name in enumerate(model.labels.names)}
    tokenizer = model.text_tokenizer()
    if tokenizer is not None:  # the Rust tokenizer travels to the workers; the weights never do
        encode = partial(windows.encode_windows, tokenizer, strategy=model.truncation, **model.window_options)
        workers = default_num_proc(num_proc) if dataset.num_rows > 10_000 else None
    else:  # a slow tokenizer: encoded in this process
        encode, workers = partial(_encode_in_process, model), None
    fingerprint = hashlib.sha256(
        f"{dataset._fingerprint}|v{_TOKEN_CACHE_VERSION}|{model.encoding_fingerprint()}|"
        f"{json.dumps(ids, sort_keys=True)}".encode()
    ).hexdigest()[:32]
    # Under a launcher the node's first process tokenises and writes the cache; the others then read it.
    started = time.perf_counter()
    with distributed.main_process_first(desc="tokenising"):
        table = dataset.map(
            partial(_tokenize_batch, encode=encode, ids=ids),
            batched=True,
            batch_size=2_000,
            num_proc=workers,
            remove_columns=dataset.column_names,
            new_fingerprint=fingerprint,
            desc="tokenising",
        )
    log.info(
        "tokenized %d texts into %d windows in %.1f s (on disk: %s)",
        dataset.num_rows,
        table.num_rows,
        time.perf_counter() - started,
        ", ".join(f["filename"] for f in table.cache_files) or "in memory",
    )
    return ArrowEncodedDataset(table)


def _encode_in_process(model: TransformerClassifier, texts: list[str]) -> tuple[list[list[int]], np.ndarray]:
    encoded = model.encode(texts)
    return encoded["input_ids"], encoded["owners"]


def _tokenize_batch(batch: dict, *, encode, ids: dict[str, int]) -> dict:
    input_ids, owners = encode(batch["text"])
    labels = [ids[name] for name in batch["label"]]
    return {"input_ids": input_ids, "labels": [labels[i] for i in owners], "length": [len(x) for x in input_ids]}


_TOKEN_CACHE_VERSION = "1"  # bump when the stored layout changes


def encode_cached(model: TransformerClassifier, texts: list[str]) -> dict:
    """``model.encode(texts)`` through the on-disk cache, keyed by the model's encoding fingerprint
    (tokenizer, max_length, truncation, window options) and the exact (preprocessed) texts. The ragged
    token ids are stored flat with their offsets."""

    def compute() -> dict[str, np.ndarray]:
        encoded = model.encode(texts)
        lengths = np.fromiter((len(ids) for ids in encoded["input_ids"]), dtype=np.int64)
        flat = np.fromiter((t for ids in encoded["input_ids"] for t in ids), dtype=np.int64, count=int(lengths.sum()))
        return {
            "ids": flat,
            "offsets": np.concatenate([[0], np.cumsum(lengths)]),
            "owners": np.asarray(encoded["owners"], dtype=np.int64),
        }

    fingerprint = f"v{_TOKEN_CACHE_VERSION}|{model.encoding_fingerprint()}"
    # Under a launcher the node's first process tokenises and writes the entry; the others then read it.
    with distributed.main_process_first(desc="tokenising"):
        arrays, hit = cached_arrays("tokenized", fingerprint, texts, compute)
    flat, offsets = arrays["ids"].tolist(), arrays["offsets"].tolist()
    ids = [flat[start:end] for start, end in zip(offsets[:-1], offsets[1:])]
    log.info("tokenized %d texts into %d windows (%s)", len(texts), len(ids), "from the cache" if hit else "cached")
    return {"input_ids": ids, "attention_mask": [[1] * len(seq) for seq in ids], "owners": arrays["owners"]}


def length_grouped_order(lengths: np.ndarray, batch_size: int, generator: torch.Generator) -> np.ndarray:
    """The order of transformers' ``get_length_grouped_indices``, index for index (the same permutation draw,
    megabatches of up to 50 batches each sorted longest first, stably, and the longest example moved to the
    front), held in one int64 array: the Python lists it builds cost about 80 bytes per row, which is what
    grew with a million-row corpus."""
    n = len(lengths)
    size = max(min(n // (batch_size * 4), 50), 1) * batch_size
    order = torch.randperm(n, generator=generator).numpy()
    if n == 0:
        return order
    for start in range(0, n, size):
        block = order[start : start + size]
        order[start : start + size] = block[np.argsort(-lengths[block], kind="stable")]
    starts = np.arange(0, n, size)
    longest = starts[int(np.argmax(lengths[order[starts]]))]
    order[[0, longest]] = order[[longest, 0]]
    return order


class SeededLengthGroupedSampler(LengthGroupedSampler):
    """Length-grouped batches in an order drawn from ``seed + epoch``: the same on every process, and the same
    again for an epoch resumed from a checkpoint (whatever the number of processes then), where a generator
    that just runs on would start that epoch over with another order."""

    def __init__(self, batch_size: int, *, lengths, seed: int):
        super().__init__(batch_size, lengths=np.asarray(lengths, dtype=np.int64), generator=torch.Generator())
        self.seed = seed
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        self.generator.manual_seed(self.seed + epoch)

    def __iter__(self):
        return map(int, length_grouped_order(self.lengths, self.batch_size, self.generator))


class _SentiqTrainer(Trainer):
    # compute_loss returns a per-batch mean; the Trainer divides it for gradient accumulation.
    loss_is_scaled_for_ga = False

    def __init__(
        self, *args, class_weights: torch.Tensor | None = None, attack: EmbeddingAttack | None = None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.class_weights = class_weights
        self.attack = attack

    def _save_checkpoint(self, model, trial):
        """Atomic checkpoints: the Trainer writes ``checkpoint-N`` into a staging folder, which is renamed into
        place only once weights, optimizer, scheduler, RNG and trainer state are all on disk. A kill while
        saving leaves a staging folder that resume ignores, never a half checkpoint. Under a multi-process
        launch every rank writes into the checkpoint (its RNG state), so it is written in place there and
        resume's completeness check (:func:`last_complete_checkpoint`) skips a torn one."""
        if distributed.world_size() > 1:
            return super()._save_checkpoint(model, trial)
        run_dir = Path(super()._get_output_dir(trial))
        name = f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        staging = run_dir / STAGING_DIR
        shutil.rmtree(staging, ignore_errors=True)
        self._staging_dir = staging
        try:
            super()._save_checkpoint(model, trial)
        finally:
            self._staging_dir = None
        if self.state.best_model_checkpoint == str(staging / name):
            # this checkpoint is the best so far: record its final path in the state saved with it
            self.state.best_model_checkpoint = str(run_dir / name)
            self.state.save_to_json(str(staging / name / TRAINER_STATE_NAME))
        publish_checkpoint(staging / name, run_dir / name)
        if self.args.should_save:
            rotate_checkpoints(
                output_dir=str(run_dir),
                save_total_limit=self.args.save_total_limit,
                best_model_checkpoint=self.state.best_model_checkpoint,
                use_mtime=True,
            )

    def _get_output_dir(self, trial) -> str:
        staging = getattr(self, "_staging_dir", None)
        return str(staging) if staging is not None else super()._get_output_dir(trial)

    def training_step(self, model, inputs, num_items_in_batch=None):
        # compute_loss pops the labels: each pass gets its own copy of the batch.
        loss = super().training_step(model, dict(inputs), num_items_in_batch)
        if self.attack is not None:
            prepared = self._prepare_inputs(dict(inputs))
            self.attack.attack(lambda: self._adversarial_backward(model, prepared))
        return loss  # the clean loss is what gets logged

    def _adversarial_backward(self, model, inputs) -> None:
        with self.compute_loss_context_manager():
            loss = self.compute_loss(model, dict(inputs))
        if self.args.n_gpu > 1:
            loss = loss.mean()
        self.accelerator.backward(loss / self.current_gradient_accumulation_steps)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        weight = None if self.class_weights is None else self.class_weights.to(outputs.logits.device)
        loss = self.checked(F.cross_entropy(outputs.logits.float(), labels, weight=weight))
        return (loss, outputs) if return_outputs else loss

    def _get_train_sampler(self, train_dataset=None):
        lengths = getattr(train_dataset if train_dataset is not None else self.train_dataset, "lengths", None)
        if self.args.train_sampling_strategy == "group_by_length" and lengths is not None:
            # the token counts stored beside the ids: the Trainer would read every example to count them
            sampler = LengthGroupedSampler(
                self.args.train_batch_size * self.args.gradient_accumulation_steps, lengths=lengths
            )
        else:
            sampler = super()._get_train_sampler(train_dataset)
        if isinstance(sampler, LengthGroupedSampler):
            # Sized by the global batch: under N processes the Trainer would sort "megabatches" of 50 per-process
            # batches, and each optimiser step would gather other examples than one process does; this way the N
            # per-process slices of a step are the one-process batch, split.
            return SeededLengthGroupedSampler(
                sampler.batch_size * distributed.world_size(),
                lengths=sampler.lengths,
                seed=self.args.data_seed if self.args.data_seed is not None else self.args.seed,
            )
        return sampler

    def evaluation_loop(self, *args, **kwargs):
        output = super().evaluation_loop(*args, **kwargs)
        key = f"{kwargs.get('metric_key_prefix', 'eval')}_loss"
        exact = self.whole_set_loss(output.predictions, output.label_ids)
        if exact is not None and key in output.metrics:
            output.metrics[key] = exact
        return output

    def whole_set_loss(self, logits, labels) -> float | None:
        """The validation loss over the whole set, from the gathered logits. Under N processes the Trainer's
        figure averages per-batch means in which each process's last batch is padded with repeated examples
        (so that all processes run as many batches), and would differ from one process's."""
        logits = np.asarray(logits) if not isinstance(logits, tuple) else None
        if logits is None or logits.ndim != 2 or labels is None:
            return None
        weight = None if self.class_weights is None else self.class_weights.float()
        return float(
            F.cross_entropy(
                torch.as_tensor(logits, dtype=torch.float32), torch.as_tensor(np.asarray(labels)), weight=weight
            )
        )

    def checked(self, loss: torch.Tensor) -> torch.Tensor:
        """``loss`` itself, or a DivergenceError when it is NaN or infinite on this or any other process (all
        processes raise at the same step; one raising alone would leave the others in the gradient all-reduce)."""
        diverged_here = not bool(torch.isfinite(loss))
        if distributed.any_rank(diverged_here):
            value = loss.item() if diverged_here else "NaN or infinite on another process"
            raise DivergenceError(Errors.E401, loss=value, global_step=self.state.global_step)
        return loss


STAGING_DIR = ".staging"  # checkpoints being written; not matched by the Trainer's ^checkpoint-N$ pattern
_CHECKPOINT_RE = re.compile(r"^" + PREFIX_CHECKPOINT_DIR + r"-(\d+)$")
_WEIGHT_FILES = (
    "model.safetensors",
    "pytorch_model.bin",
    "model.safetensors.index.json",
    "pytorch_model.bin.index.json",
)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())


def publish_checkpoint(staged: Path, final: Path) -> None:
    """fsync a staged checkpoint's files, then rename it to its final name (replacing a stale one)."""
    _fsync_tree(staged)
    if final.exists():  # a step saved again after a resume: the new one wins
        shutil.rmtree(final)
    os.replace(staged, final)
    shutil.rmtree(staged.parent, ignore_errors=True)
    try:
        fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def checkpoint_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot be resumed from (None when it can): the files a resume reads must be there
    and the trainer state must parse. Checkpoints written in place by an older sentiq can be torn."""
    if not (folder / TRAINER_STATE_NAME).is_file():
        return f"no {TRAINER_STATE_NAME}"
    try:
        json.loads((folder / TRAINER_STATE_NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"unreadable {TRAINER_STATE_NAME} ({exc})"
    if not any((folder / name).is_file() for name in _WEIGHT_FILES):
        return "no model weights"
    missing = [name for name in ("optimizer.pt", "scheduler.pt") if not (folder / name).is_file()]
    return f"no {', '.join(missing)}" if missing else None


def last_complete_checkpoint(checkpoint_dir: Path) -> str | None:
    """The newest checkpoint a resume can use; incomplete ones are skipped with a warning."""
    if not checkpoint_dir.is_dir():
        return None
    found = sorted(
        (
            (int(m.group(1)), path)
            for path in checkpoint_dir.iterdir()
            if path.is_dir() and (m := _CHECKPOINT_RE.match(path.name))
        ),
        reverse=True,
    )
    for _, path in found:
        problem = checkpoint_problem(path)
        if problem is None:
            return str(path)
        log.warning(
            "skipping incomplete checkpoint %s (%s; the run was probably killed while saving it)", path.name, problem
        )
    return None


def class_weight_tensor(setting, labels: list[str], train_ids: list[int]) -> torch.Tensor | None:
    """none -> None; balanced -> n / (k * count); a mapping -> its values in label order."""
    if setting == "none":
        return None
    if setting == "balanced":
        counts = np.bincount(train_ids, minlength=len(labels)).astype(np.float64)
        return torch.tensor(len(train_ids) / (len(labels) * np.maximum(counts, 1)), dtype=torch.float32)
    unknown = sorted(set(setting) - set(labels))
    if unknown:
        raise ConfigError(Errors.E164, unknown=unknown, labels=labels)
    return torch.tensor([float(setting.get(name, 1.0)) for name in labels], dtype=torch.float32)


def _trainer_metrics(eval_pred) -> dict[str, float]:
    logits = torch.as_tensor(np.asarray(eval_pred.predictions), dtype=torch.float32)
    proba = torch.softmax(logits, dim=-1).numpy()
    labels = np.asarray(eval_pred.label_ids)
    m = compute_metrics(labels, proba, [str(i) for i in range(proba.shape[1])])
    predicted = np.bincount(proba.argmax(1), minlength=proba.shape[1])
    scalars = {k: float(v) for k, v in m.items() if isinstance(v, (int, float)) and v is not None and k != "n"}
    scalars["majority_prediction_id"] = float(predicted.argmax())
    return scalars


def _precision_flags(cfg: TrainingConfig) -> dict[str, bool]:
    if torch.cuda.is_available():
        return {"fp16": cfg.fp16, "bf16": cfg.bf16}
    if cfg.bf16 and cpu_supports_bf16():
        log.info("bf16 on the CPU: bfloat16 autocast (this CPU has native bf16 instructions)")
        return {"fp16": False, "bf16": True}
    if cfg.fp16 or cfg.bf16:
        log.warning("fp16 needs a GPU (bf16 a GPU or a CPU with AVX512-BF16/AMX); training in float32 on the CPU")
    return {"fp16": False, "bf16": False}


def fused_adamw_supported(device: torch.device) -> bool:
    """Whether torch has a fused AdamW kernel for ``device`` (CUDA; CPU since torch 2.4; MPS): built once on a
    one-element weight, the way the optimiser itself checks."""
    try:
        weight = torch.nn.Parameter(torch.zeros(1, device=device))
        torch.optim.AdamW([weight], fused=True)
    except (RuntimeError, TypeError, ValueError):
        return False
    return True


def _optimizer_name(cfg: TrainingConfig) -> str:
    if cfg.optimizer == "adamw_fused":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if fused_adamw_supported(device):
            return "adamw_torch_fused"
        log.info("torch %s has no fused AdamW for %s: using the foreach AdamW", torch.__version__, device.type)
    return "adamw_torch"


def cpu_training_memory(cfg: TrainingConfig):
    """The allocator setting a training run on the CPU holds (:func:`sentiq.allocator.keep_freed_memory`)."""
    return keep_freed_memory(cfg.keep_freed_memory and not torch.cuda.is_available())


def training_arguments(cfg: TrainingConfig, *, seed: int, checkpoint_dir: Path, **overrides) -> TrainingArguments:
    """The Trainer's arguments for a training config; ``overrides`` replace any of them (pre-training, say)."""
    strategy = "steps" if cfg.eval_steps else "epoch"
    metric = "eval_loss" if cfg.metric_for_best_model == "loss" else f"eval_{cfg.metric_for_best_model}"
    arguments = dict(
        output_dir=str(checkpoint_dir),
        # training.batch_size is the batch of one optimiser step over all processes (torchrun/accelerate launch).
        per_device_train_batch_size=distributed.per_process_batch(cfg.batch_size),
        per_device_eval_batch_size=max(1, cfg.eval_batch_size // distributed.world_size()),
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps or -1,
        learning_rate=cfg.learning_rate,
        warmup_steps=cfg.warmup_steps if cfg.warmup_steps is not None else (cfg.warmup_ratio or 0.0),
        weight_decay=cfg.weight_decay,
        adam_epsilon=cfg.adam_epsilon,
        max_grad_norm=cfg.max_grad_norm,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        eval_strategy=strategy,
        save_strategy=strategy,
        eval_steps=cfg.eval_steps,
        save_steps=cfg.eval_steps,
        logging_steps=cfg.logging_steps,
        load_best_model_at_end=True,
        metric_for_best_model=metric,
        greater_is_better=cfg.metric_for_best_model != "loss",
        save_total_limit=cfg.save_total_limit,
        # Move evaluation outputs to the CPU every few batches: a large eval set never fills GPU memory.
        eval_accumulation_steps=8,
        train_sampling_strategy="group_by_length" if cfg.group_by_length else "random",
        # Every weight of a sequence classifier takes part in each step: DDP need not search for unused ones.
        ddp_find_unused_parameters=False,
        dataloader_num_workers=cfg.dataloader_workers,
        seed=seed,
        data_seed=seed,
        report_to="none",
        disable_tqdm=True,
        use_cpu=not torch.cuda.is_available(),
        optim=_optimizer_name(cfg),
        torch_compile=cfg.torch_compile,
        **_precision_flags(cfg),
    )
    return TrainingArguments(**(arguments | overrides))


def fine_tune(
    model: TransformerClassifier,
    train: pd.DataFrame,
    validation: pd.DataFrame,
    cfg: TrainingConfig,
    *,
    seed: int,
    work_dir: Path,
    resume: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    num_proc: int | None = None,
) -> FitResult:
    """Train ``model`` in place on preprocessed frames (``text``, ``label`` names); the best checkpoint is kept.
    ``train`` may be a ``datasets.Dataset`` instead (out-of-core data, :mod:`sentiq.data.arrow`): it is tokenised
    into an on-disk cache by ``num_proc`` workers and read from there, and so is the validation frame."""
    if not isinstance(train, pd.DataFrame):
        from datasets import Dataset

        train_set = tokenized_arrow(model, train, num_proc=num_proc)
        val_set = tokenized_arrow(model, Dataset.from_pandas(validation[["text", "label"]], preserve_index=False))
        train_ids = train_set.labels
    else:
        train_ids = model.labels.encode(train["label"].tolist())
        val_ids = model.labels.encode(validation["label"].tolist())
        cache = cfg.cache_tokenized
        train_set = EncodedDataset.from_texts(model, train["text"].tolist(), train_ids, cache=cache)
        val_set = EncodedDataset.from_texts(model, validation["text"].tolist(), val_ids, cache=cache)
    if len(train_set) > len(train):
        log.info("truncation=chunks: %d training windows from %d texts", len(train_set), len(train))
    result = run_classifier_training(
        model,
        train_set,
        val_set,
        cfg,
        seed=seed,
        work_dir=work_dir,
        resume=resume,
        progress=progress,
        class_weights=class_weight_tensor(cfg.class_weights, list(model.labels.names), train_ids),
        attack=make_attack(model.model, cfg),
    )
    use_prediction_windows(model, cfg)
    return result


def use_prediction_windows(model: TransformerClassifier, cfg: TrainingConfig) -> None:
    """After training: switch to the windows the saved model predicts with (``training.predict_truncation``),
    so its validation, calibration, test figures and manifest all describe the model as it will be used."""
    wanted = cfg.predict_truncation
    if wanted and wanted != model.truncation:
        log.info("trained on %s windows; predicting with %s", model.truncation, wanted)
        model.truncation = wanted


def run_classifier_training(
    model: TransformerClassifier,
    train_set: EncodedDataset,
    val_set: EncodedDataset,
    cfg: TrainingConfig,
    *,
    seed: int,
    work_dir: Path,
    resume: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    trainer_class: type[Trainer] | None = None,
    argument_overrides: dict | None = None,
    **trainer_kwargs,
) -> FitResult:
    """The Trainer loop shared by fine-tuning and distillation: collapse guard, early stopping, progress,
    resume and the best checkpoint; ``trainer_class`` may change the loss (a ``_SentiqTrainer`` subclass) and
    ``argument_overrides`` replace training arguments."""
    labels = list(model.labels.names)
    if cfg.attention_dropout is not None:
        set_attention_dropout(model.model, cfg.attention_dropout)
    validating = len(val_set) > 0
    if not validating:  # data.validation_size 0: the last step's weights, no evaluation, no early stopping
        argument_overrides = {"eval_strategy": "no", "load_best_model_at_end": False, **(argument_overrides or {})}
    true_majority = float(np.bincount(val_set.labels).max() / len(val_set.labels)) if validating else 1.0
    guard = CollapseGuard(
        threshold=cfg.collapse_threshold,
        patience=cfg.collapse_patience,
        stop=cfg.on_collapse == "stop",
        true_majority_share=true_majority,
        labels=labels,
    )
    callbacks = [guard]
    if cfg.early_stopping_patience and validating:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=cfg.early_stopping_patience))
    if progress:
        callbacks.append(ProgressBridge(progress))
    callbacks.append(SameDecisionOnEveryRank())  # last: after every callback that may ask to stop

    checkpoint_dir = work_dir / "checkpoints"
    resume_from = last_complete_checkpoint(checkpoint_dir) if resume else None
    if resume and resume_from is None:
        log.warning("no checkpoint to resume from under %s; starting from scratch", checkpoint_dir)
    trainer = (trainer_class or _SentiqTrainer)(
        model=model.model,
        args=training_arguments(cfg, seed=seed, checkpoint_dir=checkpoint_dir, **(argument_overrides or {})),
        data_collator=DataCollatorWithPadding(
            model.tokenizer, pad_to_multiple_of=8 if torch.cuda.is_available() else None
        ),
        train_dataset=train_set,
        eval_dataset=(val_set.sorted_by_length() if cfg.group_by_length else val_set) if validating else None,
        processing_class=model.tokenizer,
        compute_metrics=_trainer_metrics,
        callbacks=callbacks,
        **trainer_kwargs,
    )
    trainer.remove_callback(PrinterCallback)  # library code logs, it does not print
    if distributed.world_size() > 1:
        log.info(
            "data-parallel training (%s): %d examples per process and step, %d per step in all",
            distributed.describe(),
            trainer.args.per_device_train_batch_size,
            cfg.batch_size,
        )
    with cpu_training_memory(cfg):
        trainer.train(resume_from_checkpoint=resume_from)
    # Every process has loaded the best checkpoint before rank 0 goes on (and removes the checkpoints).
    distributed.barrier()
    if guard.events and guard.stop:
        raise CollapseError(Errors.E402, event=guard.events[-1])
    model.model = trainer.model
    return FitResult(
        trainer.state.log_history, trainer.state.global_step, resumed_from=resume_from, warnings=list(guard.events)
    )
