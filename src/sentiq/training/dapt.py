"""Domain-adaptive pre-training: continue masked-language-model training of an encoder on unlabeled
in-domain text, and write an encoder folder that ``train`` starts from (``model: PATH``).

Encoders published for sentence embeddings (all-MiniLM-L6-v2) ship without a masked-LM head; it is
initialised here (a fresh transform layer, the decoder tied to the word embeddings) and trained with
the encoder. The pooler, which the masked-LM model has no use for, is carried over unchanged so that a
classifier fine-tuned from the folder starts from the same pooler as one fine-tuned from the original.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch
from transformers import (
    AutoModel,
    AutoModelForMaskedLM,
    AutoTokenizer,
    DataCollatorForLanguageModeling,
    PrinterCallback,
    Trainer,
)

from sentiq.atomic import atomic_directory, atomic_write_text
from sentiq.config import SentiqConfig
from sentiq.data import load_unlabeled
from sentiq.errors import ConfigError, DataError, Errors, ModelError
from sentiq.models.directory import work_dir_for
from sentiq.models.resolve import hub_offline, resolve_model_source
from sentiq.preprocess import get_profile
from sentiq.training import distributed
from sentiq.training.callbacks import ProgressBridge
from sentiq.training.finetune import cpu_training_memory, training_arguments

log = logging.getLogger(__name__)

SUMMARY_NAME = "pretrain.json"


@dataclass
class PretrainResult:
    output_dir: Path
    base_model: str
    train_texts: int
    eval_texts: int
    steps: int
    whole_word_mask: bool
    initialised_head: list[str]  # masked-LM head weights the encoder did not ship (initialised here)
    eval_loss_before: float | None  # masked-LM loss on held-out texts, the same masks before and after
    eval_loss_after: float | None
    seconds: float
    history: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}


class TokenizedTexts(torch.utils.data.Dataset):
    """Tokenized texts without labels: the masking collator makes the labels."""

    def __init__(self, encodings: dict, keys: tuple[str, ...]):
        self.columns = {key: encodings[key] for key in keys}

    def __len__(self) -> int:
        return len(self.columns["input_ids"])

    def __getitem__(self, i: int) -> dict:
        return {key: values[i] for key, values in self.columns.items()}


def masked_lm_head(model) -> torch.nn.Module | None:
    """The prediction head (hidden states -> vocabulary logits) of a masked-LM model, or None where the model
    spreads it over several modules (DistilBERT) and the full forward pass must be used."""
    for name in ("cls", "lm_head"):  # BERT and MiniLM name it ``cls``; RoBERTa and XLM-R ``lm_head````
        head = getattr(model, name, None)
        if isinstance(head, torch.nn.Module):
            return head
    return None


def masked_positions_loss(model, head: torch.nn.Module, inputs: dict) -> torch.Tensor:
    """Mean cross-entropy over the masked tokens, the vocabulary projection computed at those tokens only.

    The model's own forward projects every position onto the vocabulary (30,522 words for MiniLM: as many
    multiply-adds per token as the encoder's six layers) and then ignores the 85% that are not masked;
    the same loss from the masked rows alone is much cheaper. ``labels`` is -100 where nothing is predicted."""
    labels = inputs["labels"]
    hidden = model.base_model(**{k: v for k, v in inputs.items() if k != "labels"})[0]
    masked = labels != -100
    logits = head(hidden[masked])
    return torch.nn.functional.cross_entropy(logits.float(), labels[masked])


class MaskedPositionsTrainer(Trainer):
    """A Trainer whose loss applies the masked-LM head only where tokens are masked (same loss, less work)."""

    loss_is_scaled_for_ga = False  # a per-batch mean, as the model's own loss; the Trainer divides it for accumulation

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        head = masked_lm_head(self.accelerator.unwrap_model(model))
        if head is None or return_outputs:
            return super().compute_loss(model, inputs, return_outputs=return_outputs)
        # Mixed precision wraps the model's forward; the encoder is called directly here, so autocast is set again.
        with self.accelerator.autocast():
            return masked_positions_loss(self.accelerator.unwrap_model(model), head, inputs)


class MaskingCollator(DataCollatorForLanguageModeling):
    """transformers' MLM collator; pads the character offsets that whole-word masking reads
    (``tokenizer.pad`` leaves them ragged)."""

    def torch_call(self, examples):
        if self.whole_word_mask:
            longest = max(len(e["input_ids"]) for e in examples)
            left = self.tokenizer.padding_side == "left"
            padded = []
            for e in examples:
                fill = [(0, 0)] * (longest - len(e["offset_mapping"]))
                offsets = fill + list(e["offset_mapping"]) if left else list(e["offset_mapping"]) + fill
                padded.append({**e, "offset_mapping": offsets})
            examples = padded
        return super().torch_call(examples)


def load_masked_lm(name: str):
    """(model, tokenizer, initialised head keys) for an encoder name or folder, with a masked-LM head."""
    source = resolve_model_source(name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model, info = AutoModelForMaskedLM.from_pretrained(source, output_loading_info=True)
    except (OSError, ValueError) as exc:
        hint = " (HF_HUB_OFFLINE is set: give a local folder)" if hub_offline() else ""
        raise ModelError(Errors.E381, name=name, hint=hint, detail=str(exc).splitlines()[0]) from None
    if tokenizer.mask_token is None:
        raise ModelError(Errors.E382, name=name)
    initialised = sorted(info["missing_keys"])
    if initialised:
        log.warning(
            "%s ships without a masked-LM head: initialised %d weights (%s); the decoder is tied to the "
            "word embeddings",
            name,
            len(initialised),
            ", ".join(initialised[:4]),
        )
    if any("pooler" in key for key in info["unexpected_keys"]):
        _carry_pooler(model, source)
    return model, tokenizer, initialised


def _carry_pooler(model, source: str) -> None:
    # BertForMaskedLM drops the pooler; put the original back so the saved folder still holds it.
    base = model.base_model
    encoder = AutoModel.from_pretrained(source)
    if getattr(base, "pooler", "absent") is None and getattr(encoder, "pooler", None) is not None:
        base.pooler = encoder.pooler


def use_whole_word_mask(wanted: bool, tokenizer, language: str) -> bool:
    """Whole-word masking reads character offsets: it needs a fast tokenizer and words split by spaces."""
    if not wanted:
        return False
    if not tokenizer.is_fast:
        log.warning("the tokenizer is not a fast tokenizer (no character offsets): masking single tokens")
        return False
    if language == "zh":
        log.warning("Chinese text has no spaces between words: masking single tokens (characters) instead of words")
        return False
    return True


@torch.no_grad()
def masked_lm_loss(model, batches: list[dict]) -> float | None:
    """Mean loss per masked token over fixed, already masked batches (the same masks before and after)."""
    if not batches:
        return None
    model.eval()
    device, head = next(model.parameters()).device, masked_lm_head(model)
    total, count = 0.0, 0
    for batch in batches:
        n = int((batch["labels"] != -100).sum())
        if n == 0:
            continue
        batch = {k: v.to(device) for k, v in batch.items()}
        loss = masked_positions_loss(model, head, batch) if head is not None else model(**batch).loss
        total, count = total + float(loss) * n, count + n
    return total / count if count else None


def _texts(config: SentiqConfig) -> tuple[list[str], list[str], str]:
    cfg = config.pretrain
    corpus = load_unlabeled(cfg.source, text_column=cfg.text_column)
    profile = get_profile(corpus.default_preprocess if config.preprocess == "auto" else config.preprocess)
    texts = list(corpus.texts)
    random.Random(config.seed).shuffle(texts)
    if cfg.max_texts:
        texts = texts[: cfg.max_texts]
    texts = [t for t in profile.apply(texts) if t.strip()]
    n_eval = min(cfg.eval_texts, len(texts) // 2)
    if len(texts) - n_eval < 1:
        raise DataError(Errors.E257, source=cfg.source)
    return texts[n_eval:], texts[:n_eval], corpus.language


def pretrain(
    config: SentiqConfig,
    output_dir: str | Path,
    *,
    overwrite: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> PretrainResult:
    """Continue masked-LM training of ``config.model`` on ``config.pretrain.source``; write an encoder folder
    (weights, tokenizer, ``pretrain.json``) that ``train`` accepts as ``model``. Under ``torchrun``/``accelerate
    launch`` every process trains and rank 0 writes the folder; the other ranks return None."""
    from transformers import set_seed

    cfg = config.pretrain
    output_dir = Path(output_dir)
    if output_dir.exists() and not overwrite:
        raise ConfigError(Errors.E140, output_dir=output_dir)
    start = time.perf_counter()
    train_texts, eval_texts, language = _texts(config)
    set_seed(config.seed)
    model, tokenizer, initialised = load_masked_lm(config.model)
    wwm = use_whole_word_mask(cfg.whole_word_mask, tokenizer, language)
    keys = ("input_ids", "attention_mask", "special_tokens_mask") + (("offset_mapping",) if wwm else ())

    def encode(texts: list[str]) -> TokenizedTexts:
        encoded = tokenizer(
            texts,
            truncation=True,
            max_length=cfg.max_length,
            return_special_tokens_mask=True,
            return_offsets_mapping=wwm,
        )
        return TokenizedTexts(encoded, keys)

    def collator(seed: int) -> MaskingCollator:
        # Whole-word masking in transformers replaces every chosen token by [MASK] (no random/kept share).
        extra = {"mask_replace_prob": 1.0, "random_replace_prob": 0.0} if wwm else {}
        return MaskingCollator(tokenizer, mlm_probability=cfg.mlm_probability, whole_word_mask=wwm, seed=seed, **extra)

    eval_set, masker = encode(eval_texts), collator(config.seed + 1)
    eval_batches = [
        masker([eval_set[i] for i in range(s, min(s + 64, len(eval_set)))]) for s in range(0, len(eval_set), 64)
    ]
    before = masked_lm_loss(model, eval_batches)

    work_dir = work_dir_for(output_dir)
    steps = config.training.model_copy(
        update={
            "max_length": cfg.max_length,
            "batch_size": cfg.batch_size,
            "epochs": cfg.epochs,
            "learning_rate": cfg.learning_rate,
            "warmup_ratio": cfg.warmup_ratio,
            "warmup_steps": None,
            "weight_decay": cfg.weight_decay,
            "logging_steps": cfg.logging_steps,
        }
    )
    args = training_arguments(
        steps,
        seed=config.seed,
        checkpoint_dir=work_dir / "checkpoints",
        eval_strategy="no",
        save_strategy="no",
        load_best_model_at_end=False,
        max_steps=cfg.max_steps or -1,
        remove_unused_columns=False,
    )  # the collator needs offsets and special-token masks
    trainer = MaskedPositionsTrainer(
        model=model,
        args=args,
        data_collator=collator(config.seed),
        train_dataset=encode(train_texts),
        processing_class=tokenizer,
        callbacks=[ProgressBridge(progress)] if progress else [],
    )
    trainer.remove_callback(PrinterCallback)  # library code logs, it does not print
    with cpu_training_memory(steps):
        trainer.train()
    if not distributed.is_main_process():
        return None  # under a launcher rank 0 writes the encoder folder
    after = masked_lm_loss(trainer.model, eval_batches)
    log.info("masked-LM loss on %d held-out texts: %s -> %s", len(eval_texts), before, after)

    result = PretrainResult(
        output_dir,
        config.model,
        len(train_texts),
        len(eval_texts),
        trainer.state.global_step,
        wwm,
        initialised,
        before,
        after,
        time.perf_counter() - start,
        trainer.state.log_history,
    )
    with atomic_directory(output_dir, overwrite=overwrite) as tmp:
        trainer.model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        summary = result.to_dict() | {
            "config": config.pretrain.model_dump(mode="json"),
            "seed": config.seed,
            "preprocess": config.preprocess,
        }
        atomic_write_text(tmp / SUMMARY_NAME, json.dumps(summary, indent=2, ensure_ascii=False))
    shutil.rmtree(work_dir, ignore_errors=True)
    return result
