"""A Hugging Face sequence-classification model behind sentiq's model interface."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from sentiq.errors import ConfigError, Errors, ModelError, ModelIntegrityError
from sentiq.labels import LabelSet
from sentiq.models import token_batches, windows
from sentiq.models.attention import implementation as attention_implementation
from sentiq.models.base import Capabilities, SentimentModel, require_fields
from sentiq.models.resolve import hub_offline, resolve_model_source

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]


def cpu_supports_bf16() -> bool:
    """AVX512-BF16 or AMX: bfloat16 autocast then runs native matmuls (multilingual-e5-small on
    an AVX512-BF16 EPYC: 1.6x fewer CPU-seconds per training example, docs/benchmarks.md)."""
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool((probe and probe()) or (amx and amx()))


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextlib.contextmanager
def quiet_loading():
    """No "Loading weights" progress bars from transformers while a model loads (library code never
    prints); the caller's own progress-bar setting is restored afterwards."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def _load_pretrained(source: str, **kwargs):
    try:
        with quiet_loading():
            tokenizer = AutoTokenizer.from_pretrained(source)
            model = AutoModelForSequenceClassification.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as exc:
        hint = " (HF_HUB_OFFLINE is set: give a local folder)" if hub_offline() else ""
        raise ModelError(Errors.E308, what="model", source=source, hint=hint, detail=str(exc).splitlines()[0]) from None
    return model, tokenizer


def freeze_encoder_parts(model, *, embeddings: bool, layers: int) -> int:
    """Stop gradients to the embeddings and the first ``layers`` transformer layers; returns
    the number of weights frozen. Fewer trainable weights means less backward work and a much
    smaller optimiser step (the embedding matrix dominates multilingual models)."""
    if not embeddings and not layers:
        return 0
    base = model.base_model
    blocks = getattr(getattr(base, "encoder", None), "layer", None)
    if getattr(base, "embeddings", None) is None or (layers and blocks is None):
        raise ConfigError(Errors.E141, model_class=type(model).__name__)
    if layers > len(blocks):
        raise ConfigError(Errors.E142, layers=layers, n_layers=len(blocks))
    parts = [base.embeddings, *list(blocks)[:layers]]
    frozen = 0
    for part in parts:
        for weight in part.parameters():
            weight.requires_grad_(False)
            frozen += weight.numel()
    log.info("froze %d weights (embeddings and %d layers)", frozen, layers)
    return frozen


def set_attention_dropout(model, p: float) -> int:
    """Set the dropout on attention probabilities (BERT-family layout: ``attention.self.dropout``, or
    DistilBERT's ``attention.dropout``) and the config's matching field; returns the layers changed."""
    layers = [
        module
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Dropout)
        and (name.endswith("attention.self.dropout") or name.endswith(".attention.dropout"))
    ]
    if not layers:
        raise ConfigError(Errors.E143, model_class=type(model).__name__)
    for layer in layers:
        layer.p = p
    for field in ("attention_probs_dropout_prob", "attention_dropout"):
        if hasattr(model.config, field):
            setattr(model.config, field, p)
    return len(layers)


def check_vocabulary(tokenizer, model, directory) -> None:
    """The tokenizer must fit the embedding matrix it feeds: a missing tokenizer file makes transformers
    build a 5-token one (every word [UNK]) and a swapped one sends ids to the wrong rows. Embedding
    matrices may be padded beyond the vocabulary (to a multiple of 8 or 64), so a small surplus is allowed."""
    rows = model.get_input_embeddings().weight.shape[0]
    tokens = len(tokenizer)
    if tokens > rows or tokens < rows - max(64, rows // 100):
        raise ModelIntegrityError(Errors.E317, directory=directory, tokens=tokens, rows=rows)


class TransformerClassifier(SentimentModel):
    """Tokenizer + classifier; ``predict_proba`` columns follow ``labels``."""

    approach = "finetune"
    capabilities = Capabilities(
        explain="integrated-gradients",
        backend="pytorch",
        train="loop",
        token_budget=True,
        windows=True,
        encoder=True,
        export=True,
    )

    def __init__(self, model, tokenizer, labels: LabelSet, *, max_length: int, device: torch.device | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.labels = labels
        self.max_length = max_length
        self.truncation = "head"  # a windows strategy: head, tail, head+tail or chunks
        self.window_options: dict = {}  # head_tokens, stride, pooling (None or absent: the defaults)
        self.base_model: str | None = None
        self.bf16 = False  # trained under bfloat16 autocast: predict the same way where the hardware has it
        self.attention: str | None = None  # the attention kernel setting it was built with
        self.device = device or default_device()
        self._text_tokenizer: tuple[int, object] | None = None
        self.model.to(self.device)

    def use_windows_of(self, training) -> None:
        """The window strategy and its options from ``training`` settings (a fine-tuned model and a
        distilled student alike)."""
        self.truncation = training.truncation
        self.window_options = {
            "head_tokens": training.head_tokens,
            "stride": training.chunk_stride,
            "pooling": training.chunk_pooling,
        }

    @classmethod
    def from_config(cls, config, labels: LabelSet, *, language: str = "en") -> "TransformerClassifier":
        from transformers import set_seed

        set_seed(config.training_seed)  # the new head's initialisation is part of the run's reproducibility
        model = cls.from_encoder(
            config.model, labels, max_length=config.training.max_length, attention=config.training.attention
        )
        model.base_model = config.model
        model.use_windows_of(config.training)
        model.bf16 = config.training.bf16
        model.attention = config.training.attention
        freeze_encoder_parts(
            model.model, embeddings=config.training.freeze_embeddings, layers=config.training.freeze_layers
        )
        return model

    @classmethod
    def from_encoder(
        cls, name: str, labels: LabelSet, *, max_length: int, attention: str | None = None
    ) -> "TransformerClassifier":
        """A fresh classification head on a pretrained encoder, with real label names in its config;
        ``attention`` picks the attention kernel (auto, sdpa, eager; None: the transformers default)."""
        extra = {"attn_implementation": attention_implementation(attention)} if attention else {}
        model, tokenizer = _load_pretrained(
            resolve_model_source(name),
            num_labels=len(labels),
            id2label=labels.id2label,
            label2id=labels.label2id,
            ignore_mismatched_sizes=True,
            **extra,
        )
        built = cls(model, tokenizer, labels, max_length=max_length)
        built.attention = attention
        return built

    @classmethod
    def load(cls, directory: Path, manifest) -> "TransformerClassifier":
        require_fields(manifest, directory, "max_length", "truncation")
        # The kernel it trained with (the same function either way; auto is the faster one on a CPU).
        attention = manifest.attention
        extra = {"attn_implementation": attention_implementation(attention)} if attention == "auto" else {}
        model, tokenizer = _load_pretrained(str(directory), **extra)
        labels = LabelSet(tuple(manifest.labels))
        if model.config.num_labels != len(labels):
            raise ModelError(Errors.E380, directory=directory, n_classes=model.config.num_labels, n_labels=len(labels))
        check_vocabulary(tokenizer, model, directory)
        loaded = cls(model, tokenizer, labels, max_length=manifest.max_length)
        loaded.truncation, loaded.base_model = manifest.truncation, manifest.base_model
        loaded.window_options = dict(manifest.window or {})
        loaded.bf16, loaded.attention = manifest.bf16, attention
        return loaded

    def manifest_fields(self) -> dict:
        return {
            "max_length": self.max_length,
            "truncation": self.truncation,
            "window": dict(self.window_options),
            "attention": self.attention,
            "bf16": self.bf16,
            "base_model": self.base_model,
        }

    def save(self, directory: Path) -> None:
        self.model.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)

    def text_tokenizer(self):
        """The torch-free tokenizer inference and training share (rebuilt if ``max_length`` changes)."""
        if self._text_tokenizer is None or self._text_tokenizer[0] != self.max_length:
            try:
                configured = token_batches.configured_tokenizer(self.tokenizer, max_length=self.max_length)
            except TypeError:  # a slow-only tokenizer: transformers tokenizes (no ONNX export then)
                configured = None
            self._text_tokenizer = (self.max_length, configured)
        return self._text_tokenizer[1]

    def encoding_fingerprint(self) -> str:
        """What decides the token ids :meth:`encode` returns: the tokenizer itself (its full
        definition, not its name), max_length, the truncation strategy and its window options."""
        tokenizer = self.text_tokenizer()
        if tokenizer is not None:
            definition = tokenizer.to_str()
        else:  # a slow tokenizer: its class, vocabulary and special tokens
            definition = json.dumps(
                [
                    type(self.tokenizer).__name__,
                    sorted(self.tokenizer.get_vocab().items()),
                    self.tokenizer.all_special_tokens,
                ],
                ensure_ascii=False,
            )
        options = json.dumps(
            {"max_length": self.max_length, "truncation": self.truncation, **self.window_options},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(definition.encode()).hexdigest() + "|" + options

    def _autocast(self):
        if self.bf16:
            if self.device.type == "cuda" and torch.cuda.is_bf16_supported():
                return torch.autocast("cuda", dtype=torch.bfloat16)
            if self.device.type == "cpu":
                if cpu_supports_bf16():
                    return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _special_tokens(self) -> tuple[list[int], list[int]]:
        """The ids a slow tokenizer puts before and after a text's tokens ([CLS] / [SEP] for BERT)."""
        bare = self.tokenizer("a", add_special_tokens=False)["input_ids"]
        full = self.tokenizer("a")["input_ids"]
        at = next(i for i in range(len(full) - len(bare) + 1) if full[i : i + len(bare)] == bare)
        return full[:at], full[at + len(bare) :]

    def _slow_windows(self, texts: Sequence[str]) -> tuple[list[list[int]], np.ndarray]:
        content = self.tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
        prefix, suffix = self._special_tokens()
        opts = self.window_options
        spans, owners = windows.make_windows(
            content,
            strategy=self.truncation,
            max_tokens=self.max_length - len(prefix) - len(suffix),
            head_tokens=opts.get("head_tokens"),
            stride=opts.get("stride"),
        )
        return [prefix + span + suffix for span in spans], owners

    def encode(self, texts: Sequence[str]) -> dict:
        """Token ids per window without padding (padding happens per batch), as training and inference see
        them, and ``owners``: the text each window came from. The truncation strategy (head, tail,
        head+tail, chunks) picks the windows (:mod:`sentiq.models.windows`)."""
        tokenizer = self.text_tokenizer()
        if tokenizer is None:
            ids, owners = self._slow_windows(texts)
        else:
            ids, owners = windows.encode_windows(tokenizer, texts, strategy=self.truncation, **self.window_options)
        return {"input_ids": ids, "attention_mask": [[1] * len(seq) for seq in ids], "owners": owners}

    def _forward(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        with torch.inference_mode(), self._autocast():
            inputs = {name: torch.from_numpy(array).to(self.device) for name, array in batch.items()}
            return self.model(**inputs).logits.float().cpu().numpy()

    def predict_windows(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = token_batches.DEFAULT_MAX_BATCH_SIZE,
        max_batch_tokens: int = token_batches.DEFAULT_MAX_BATCH_TOKENS,
        progress: ProgressFn | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities of every window (rows in window order) and the text of each window."""
        self.model.eval()
        _limit_cpu_threads(self.device)
        tokenizer = self.text_tokenizer()
        pad_id = token_batches.pad_token_id(tokenizer) if tokenizer else (self.tokenizer.pad_token_id or 0)
        encoded = self.encode(texts)
        probas = token_batches.run_batched(
            encoded["input_ids"],
            self._forward,
            n_labels=len(self.labels),
            pad_id=pad_id,
            max_batch_tokens=max_batch_tokens,
            max_batch_size=batch_size,
            progress=progress,
            owners=encoded["owners"],
        )
        return probas, encoded["owners"]

    def predict_proba(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = token_batches.DEFAULT_MAX_BATCH_SIZE,
        max_batch_tokens: int = token_batches.DEFAULT_MAX_BATCH_TOKENS,
        progress: ProgressFn | None = None,
    ) -> np.ndarray:
        """Class probabilities; windows are length-sorted into batches of at most ``max_batch_tokens``
        padded tokens and ``batch_size`` rows; with ``chunks`` each text's windows are pooled; rows
        come back in input order."""
        probas, owners = self.predict_windows(
            texts, batch_size=batch_size, max_batch_tokens=max_batch_tokens, progress=progress
        )
        return windows.pool_windows(probas, owners, len(texts), pooling=self.window_options.get("pooling"))


def _limit_cpu_threads(device: torch.device) -> None:
    """torch sizes its pool by the machine; in a container limited to fewer cores that oversubscribes."""
    if device.type == "cpu" and torch.get_num_threads() > token_batches.cpu_threads():
        torch.set_num_threads(token_batches.cpu_threads())
