"""Knowledge distillation: a smaller student learns a trained sentiq model's soft labels.

The loss is ``alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE(student, gold)`` (Hinton et al.,
2015); extra unlabeled texts, labelled by the teacher, add to the KL term only. The student is written as an
ordinary sentiq model directory with the teacher's labels and preprocessing, and the run reports the accuracy
kept and the speed gained (texts/s of teacher and student on the CPU, timed in the same run).
"""

from __future__ import annotations

import copy
import json
import logging
import random
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from sentiq.atomic import atomic_write_text
from sentiq.config import SentiqConfig, TrainingConfig, apply_overrides, build_config, read_mapping
from sentiq.data import build_report, load_splits, load_unlabeled
from sentiq.data.fingerprint import record_data_files
from sentiq.errors import ConfigError, Errors, ModelError
from sentiq.labels import LabelSet
from sentiq.models import Manifest
from sentiq.models.attention import implementation as attention_implementation
from sentiq.models.directory import check_output, manifest_for, work_dir_for
from sentiq.models.transformer import TransformerClassifier, freeze_encoder_parts
from sentiq.training import distributed
from sentiq.training.adversarial import make_attack
from sentiq.training.finetune import (
    EncodedDataset,
    _SentiqTrainer,
    class_weight_tensor,
    encode_cached,
    run_classifier_training,
    use_prediction_windows,
)

log = logging.getLogger(__name__)

SUMMARY_NAME = "distill.json"
_LAYER_INDEX = re.compile(r"(\.layer\.)(\d+)(\.)")  # encoder.layer.N. (BERT, RoBERTa, XLM-R), transformer.layer.N.


@dataclass
class DistillResult:
    output_dir: Path
    teacher: dict  # accuracy, macro_f1, texts_per_s, parameters, layers
    student: dict
    accuracy_kept: float  # student accuracy / teacher accuracy on the test split
    speedup: float  # student texts/s / teacher texts/s on the CPU (wall clock)
    speedup_cpu: float  # the same in texts per CPU second (steadier on a machine shared with other jobs)
    agreement: float  # share of test texts where student and teacher predict the same label
    train_rows: int
    extra_rows: int
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}


class _DistillTrainer(_SentiqTrainer):
    """Soft-label KL at temperature T plus cross-entropy on gold labels (label -100: none, teacher only)."""

    def __init__(self, *args, temperature: float, alpha: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.temperature, self.alpha = temperature, alpha

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels, teacher_logits = inputs.pop("labels"), inputs.pop("teacher_logits").float()
        outputs = model(**inputs)
        weight = None if self.class_weights is None else self.class_weights.to(outputs.logits.device)
        loss = distillation_loss(
            outputs.logits.float(),
            teacher_logits,
            labels,
            temperature=self.temperature,
            alpha=self.alpha,
            class_weights=weight,
        )
        loss = self.checked(loss)
        return (loss, outputs) if return_outputs else loss

    def whole_set_loss(self, logits, labels) -> None:
        return None  # the loss needs the teacher's logits, which evaluation does not gather: the Trainer's figure


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    *,
    temperature: float,
    alpha: float,
    class_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """``alpha * T^2 * KL + (1 - alpha) * CE``; T^2 keeps the soft term's gradients on the hard term's scale.
    ``class_weights`` (``training.class_weights``) weigh the gold-label term, as in fine-tuning."""
    t = temperature
    soft = (
        F.kl_div(
            F.log_softmax(student_logits / t, dim=-1),
            F.log_softmax(teacher_logits / t, dim=-1),
            log_target=True,
            reduction="batchmean",
        )
        * t
        * t
    )
    gold = labels >= 0
    if not gold.any():  # a batch of teacher-labelled extra texts only
        return alpha * soft
    hard = F.cross_entropy(student_logits[gold], labels[gold], weight=class_weights)
    return alpha * soft + (1 - alpha) * hard


def evenly_spaced_layers(total: int, keep: int) -> list[int]:
    """Indices of ``keep`` of ``total`` layers: every other one for 6 -> 3 ([0, 2, 4]), [0, 3] for 6 -> 2."""
    if not 1 <= keep <= total:
        raise ConfigError(Errors.E146, total=total, keep=keep)
    return [i * total // keep for i in range(keep)]


def copy_teacher_layers(
    teacher: TransformerClassifier, student_config, *, max_length: int, attention: str | None = None
) -> TransformerClassifier:
    """A student of ``student_config`` initialised from the teacher: embeddings, head and evenly spaced layers."""
    from transformers import AutoModelForSequenceClassification

    t_cfg = teacher.model.config
    vocab = len(teacher.tokenizer)
    if student_config.vocab_size != t_cfg.vocab_size:
        raise ModelError(
            Errors.E383, student_vocab=student_config.vocab_size, tokenizer_vocab=vocab, teacher_vocab=t_cfg.vocab_size
        )
    for name in ("hidden_size", "intermediate_size", "num_attention_heads"):
        if getattr(student_config, name, None) != getattr(t_cfg, name, None):
            raise ModelError(
                Errors.E384,
                name=name,
                student_value=getattr(student_config, name, None),
                teacher_value=getattr(t_cfg, name, None),
            )
    keep = evenly_spaced_layers(t_cfg.num_hidden_layers, student_config.num_hidden_layers)
    state = {}
    for key, value in teacher.model.state_dict().items():
        match = _LAYER_INDEX.search(key)
        if match is None:
            state[key] = value
        elif int(match.group(2)) in keep:
            state[key[: match.start(2)] + str(keep.index(int(match.group(2)))) + key[match.end(2) :]] = value
    extra = {"attn_implementation": attention_implementation(attention)} if attention else {}
    student = AutoModelForSequenceClassification.from_config(student_config, **extra)
    try:
        missing, unexpected = student.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise ModelError(Errors.E385, detail=str(exc).splitlines()[0]) from None
    if missing or unexpected:
        raise ModelError(
            Errors.E386,
            student_type=student_config.model_type,
            teacher_type=t_cfg.model_type,
            missing=sorted(missing)[:3],
            unexpected=sorted(unexpected)[:3],
        )
    log.info("student: layers %s of the teacher's %d", keep, t_cfg.num_hidden_layers)
    copied = TransformerClassifier(
        student, copy.deepcopy(teacher.tokenizer), teacher.labels, max_length=max_length, device=teacher.device
    )
    copied.attention = attention
    return copied


def _config_from_json(path: Path, teacher: TransformerClassifier):
    from transformers import AutoConfig

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(Errors.E147, path=path, detail=exc) from None
    model_type = data.pop("model_type", None) or teacher.model.config.model_type
    student_config = AutoConfig.for_model(model_type, **data)
    for name in ("num_labels", "id2label", "label2id"):
        setattr(student_config, name, getattr(teacher.model.config, name))
    return student_config


def build_student(
    spec: str, teacher, labels: LabelSet, *, max_length: int, attention: str | None = None
) -> tuple[TransformerClassifier, str]:
    """The student described by ``spec`` (see ``distill.student``) and a short description of it;
    ``attention`` is the kernel setting (``training.attention``)."""
    spec = spec.strip()
    copies = spec.startswith("layers:") or spec.endswith(".json")
    if copies and not isinstance(teacher, TransformerClassifier):
        raise ConfigError(Errors.E148, spec=spec, approach=teacher.approach)
    if spec.startswith("layers:"):
        try:
            n = int(spec.split(":", 1)[1])
        except ValueError:
            raise ConfigError(Errors.E149, spec=spec) from None
        student_config = copy.deepcopy(teacher.model.config)
        student_config.num_hidden_layers = n
        described = f"{teacher.base_model or 'teacher'} with {n} of {teacher.model.config.num_hidden_layers} layers"
        return copy_teacher_layers(teacher, student_config, max_length=max_length, attention=attention), described
    if spec.endswith(".json"):
        path = Path(spec).expanduser()
        if not path.is_file():
            raise ConfigError(Errors.E150, path=path)
        student_config = _config_from_json(path, teacher)
        return (
            copy_teacher_layers(teacher, student_config, max_length=max_length, attention=attention),
            f"{path.name} (teacher layers)",
        )
    return TransformerClassifier.from_encoder(spec, labels, max_length=max_length, attention=attention), spec


def configure_student(student: TransformerClassifier, cfg: TrainingConfig, *, described: str) -> None:
    """Apply the ``training`` settings that shape the student itself, as ``train`` does for a fine-tuned model:
    windows (truncation and its options; predict_truncation once trained), bf16 prediction, and frozen
    embeddings/layers. The rest (attention kernel, attention dropout, class weights, adversarial training, token
    cache, augmentation and every Trainer argument) is applied where the student is built and trained."""
    student.base_model = described
    student.use_windows_of(cfg)
    student.bf16 = cfg.bf16
    freeze_encoder_parts(student.model, embeddings=cfg.freeze_embeddings, layers=cfg.freeze_layers)


def _distill_set(
    student: TransformerClassifier, texts: list[str], label_ids: list[int], soft: list[list[float]], *, cache: bool
) -> EncodedDataset:
    """One example per window (several per text with truncation=chunks), each with its text's gold label
    (-100: none) and teacher logits."""
    encodings = encode_cached(student, texts) if cache else student.encode(texts)
    owners = list(encodings["owners"])
    return EncodedDataset(
        encodings, [label_ids[i] for i in owners], extra={"teacher_logits": [soft[i] for i in owners]}
    )


def teacher_config(
    teacher_dir: str | Path, *, path: str | Path | None = None, overrides: list[str] | None = None
) -> SentiqConfig:
    """The teacher's own config (same data, split, seed and preprocessing), then a config file's sections
    and ``key=value`` overrides on top."""
    base = Manifest.load(teacher_dir).config
    if path is not None:
        base = _merged(base, read_mapping(Path(path)))
    return build_config(apply_overrides(base, overrides or []), recorded=True)


def _merged(base: dict, update: dict) -> dict:
    merged = dict(base)
    for key, value in update.items():
        merged[key] = (
            _merged(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
        )
    return merged


def _extra_texts(config: SentiqConfig, profile, known: set[str]) -> list[str]:
    d = config.distill
    if not d.extra_source:
        return []
    texts = [
        t
        for t in profile.apply(load_unlabeled(d.extra_source, text_column=d.extra_text_column).texts)
        if t.strip() and t not in known
    ]  # never a validation or test text, nor a training text twice
    texts = list(dict.fromkeys(texts))
    random.Random(config.seed).shuffle(texts)
    return texts[: d.extra_texts] if d.extra_texts else texts


def _soft_targets(proba: np.ndarray) -> list[list[float]]:
    # log p equals the teacher's logits up to a per-row constant, which softmax(./T) ignores, so any sentiq
    # model (not only a transformer) can teach.
    return np.log(np.clip(proba, 1e-12, 1.0)).astype(np.float32).tolist()


def _parameters(model) -> int | None:
    inner = getattr(model, "model", None)
    return sum(p.numel() for p in inner.parameters()) if isinstance(inner, torch.nn.Module) else None


def cpu_speeds(model_dirs: list[Path], texts: list[str], *, rounds: int = 3) -> list[tuple[float, float]]:
    """(texts per wall second, texts per CPU second) of each model directory on the CPU, each the best of
    ``rounds``, timed in turns so that load from other jobs on a shared machine hits every model alike.

    The CPU-second figure counts the process's CPU time (all its threads): on a machine shared with other jobs
    it hardly moves with their load, where wall time does; with one thread the two agree on an idle machine."""
    from sentiq.inference import Predictor

    predictors = [Predictor.load(d) for d in model_dirs]
    for p in predictors:
        if isinstance(p.model, TransformerClassifier):
            p.model.device = torch.device("cpu")
            p.model.model.to("cpu")
        p.predict_proba(texts[:8])  # warm-up: lazy loads, first-call allocations
    best = [(0.0, 0.0)] * len(predictors)
    for _ in range(rounds):
        for i, p in enumerate(predictors):
            wall, cpu = time.perf_counter(), time.process_time()
            p.predict_proba(texts)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            best[i] = (max(best[i][0], len(texts) / max(wall, 1e-9)), max(best[i][1], len(texts) / max(cpu, 1e-9)))
    return best


def distill(
    teacher_dir: str | Path,
    output_dir: str | Path,
    *,
    config: SentiqConfig | None = None,
    overwrite: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> DistillResult:
    """Train ``config.distill.student`` on the teacher's soft labels; write a sentiq model directory.

    ``config`` defaults to the teacher's own (:func:`teacher_config`), so the student trains and is tested on
    the teacher's splits. Its ``training`` section applies to the student as to any fine-tuned model (windows,
    freezing, attention, class weights, adversarial training, augmentation, token cache, Trainer settings), and
    the directory gets what ``train`` gives: a temperature fitted on validation, the report with its trust
    sections, the run files and a model card.
    Under ``torchrun``/``accelerate launch`` every process trains and rank 0 writes; the others return None.
    """
    from sentiq.data.augment import augmented_training_split
    from sentiq.evaluation import compute_metrics
    from sentiq.inference import Predictor
    from sentiq.training.output import write_trained_model

    teacher_dir = Path(teacher_dir)
    output_dir = check_output(output_dir, overwrite=overwrite)
    config = config or teacher_config(teacher_dir)
    teacher = Predictor.load(teacher_dir)
    labels = LabelSet(tuple(teacher.labels))
    cfg = config.training
    from transformers import set_seed

    set_seed(config.training_seed)  # the student's fresh weights (a new head) are part of the run's reproducibility
    student, described = build_student(
        config.distill.student, teacher.model, labels, max_length=cfg.max_length, attention=cfg.attention
    )
    configure_student(student, cfg, described=described)
    loaded, splits = load_splits(config)
    augmented = augmented_training_split(splits.train, config)
    clean = teacher.profile.apply
    train_df, val_df, test_df = (
        f.assign(text=clean(f["text"].tolist())) for f in (augmented, splits.validation, splits.test)
    )
    extra = _extra_texts(config, teacher.profile, set(pd.concat([train_df, val_df, test_df])["text"]))
    log.info("distilling on %d training rows and %d teacher-labelled extra texts", len(train_df), len(extra))

    predict = teacher.model.predict_proba  # texts are preprocessed already
    batch = cfg.eval_batch_size
    train_texts = train_df["text"].tolist() + extra
    soft_train = _soft_targets(predict(train_texts, batch_size=batch, progress=progress))
    soft_val = _soft_targets(predict(val_df["text"].tolist(), batch_size=batch))
    teacher_test = predict(test_df["text"].tolist(), batch_size=batch)

    gold = labels.encode(train_df["label"].tolist())
    train_ids = gold + [-100] * len(extra)
    val_ids = labels.encode(val_df["label"].tolist())
    result = run_classifier_training(
        student,
        _distill_set(student, train_texts, train_ids, soft_train, cache=cfg.cache_tokenized),
        _distill_set(student, val_df["text"].tolist(), val_ids, soft_val, cache=cfg.cache_tokenized),
        cfg,
        seed=config.training_seed,
        work_dir=work_dir_for(output_dir),
        progress=progress,
        trainer_class=_DistillTrainer,
        temperature=config.distill.temperature,
        alpha=config.distill.alpha,
        class_weights=class_weight_tensor(cfg.class_weights, list(labels.names), gold),
        attack=make_attack(student.model, cfg),
        argument_overrides={"remove_unused_columns": False},  # keep teacher_logits for the loss
    )
    use_prediction_windows(student, cfg)
    if not distributed.is_main_process():
        return None  # under a launcher rank 0 evaluates and writes the student
    y_test = labels.encode(test_df["label"].tolist())
    teacher_metrics = compute_metrics(np.asarray(y_test), teacher_test, list(labels))
    manifest = manifest_for(
        student,
        preprocess=dict(teacher.manifest.preprocess),
        language=teacher.manifest.language,
        config=config.to_dict(),
        data_files=record_data_files(config.data.model_dump()),
        command=f"sentiq distill --teacher {teacher_dir} --config config.yaml --output {output_dir}",
    )
    context = {
        "approach": "finetune (distilled)",
        "model": described,
        "teacher": str(teacher_dir),
        "data": config.data.source,
        "split": "test",
        "preprocess": teacher.profile.name,
        "train rows": len(splits.train),
        "extra texts": len(extra),
        **({"augmented rows": len(train_df) - len(splits.train)} if len(train_df) > len(splits.train) else {}),
    }
    summary: dict = {}

    def time_and_summarise(tmp: Path, metrics: dict, student_test: np.ndarray) -> None:
        # On the finished directory: the student is timed as a user would load it.
        speed_texts = test_df["text"].tolist()[: config.distill.speed_texts]
        teacher_speed, student_speed = cpu_speeds([teacher_dir, tmp], speed_texts)
        summary["result"] = DistillResult(
            output_dir=output_dir,
            teacher=_side(teacher_metrics, teacher_speed, teacher.model, str(teacher_dir)),
            student=_side(metrics, student_speed, student, described),
            accuracy_kept=metrics["accuracy"] / max(teacher_metrics["accuracy"], 1e-9),
            speedup=student_speed[0] / max(teacher_speed[0], 1e-9),
            speedup_cpu=student_speed[1] / max(teacher_speed[1], 1e-9),
            agreement=float(np.mean(student_test.argmax(1) == teacher_test.argmax(1))),
            train_rows=len(train_df),
            extra_rows=len(extra),
            warnings=list(manifest.warnings),
        )
        atomic_write_text(
            tmp / SUMMARY_NAME,
            json.dumps(
                summary["result"].to_dict()
                | {
                    "temperature": config.distill.temperature,
                    "alpha": config.distill.alpha,
                    "speed_texts": len(speed_texts),
                    "device": "cpu",
                    "torch_threads": torch.get_num_threads(),
                },
                indent=2,
            ),
        )

    write_trained_model(
        output_dir,
        model=student,
        manifest=manifest,
        config=config,
        val_df=val_df,
        test_df=test_df,
        raw_test=splits.test,
        fit=result,
        data_report=build_report(loaded, splits),
        title=f"{config.name} (distilled): test split",
        context=context,
        overwrite=overwrite,
        after=time_and_summarise,
        progress=progress,
    )
    return summary["result"]


def _side(metrics: dict, speed: tuple[float, float], model, name: str) -> dict:
    inner = getattr(model, "model", None)
    layers = getattr(getattr(inner, "config", None), "num_hidden_layers", None)
    return {
        "model": name,
        "accuracy": metrics["accuracy"],
        "macro_f1": metrics["macro_f1"],
        "texts_per_s": speed[0],
        "texts_per_cpu_s": speed[1],
        "parameters": _parameters(model),
        "layers": layers,
    }
