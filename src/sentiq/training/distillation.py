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
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from sentiq.config import SentiqConfig, apply_overrides, build_config, read_mapping, save_config
from sentiq.data import build_report, load_splits, load_unlabeled
from sentiq.data.fingerprint import record_data_files
from sentiq.errors import ConfigError, ModelError
from sentiq.atomic import atomic_directory, atomic_write_text
from sentiq.labels import LabelSet
from sentiq.models import Manifest
from sentiq.models.integrity import seal
from sentiq.models.transformer import TransformerClassifier
from sentiq.training.finetune import EncodedDataset, _SentiqTrainer, run_classifier_training

log = logging.getLogger(__name__)

SUMMARY_NAME = "distill.json"
_LAYER_INDEX = re.compile(r"(\.layer\.)(\d+)(\.)")  # encoder.layer.N. (BERT, RoBERTa, XLM-R), transformer.layer.N.
_HEADLINE = ("accuracy", "macro_f1", "weighted_f1", "roc_auc", "log_loss", "ece")


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
        loss = distillation_loss(outputs.logits.float(), teacher_logits, labels,
                                 temperature=self.temperature, alpha=self.alpha)
        loss = self.checked(loss)
        return (loss, outputs) if return_outputs else loss


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor, *,
                      temperature: float, alpha: float) -> torch.Tensor:
    """``alpha * T^2 * KL + (1 - alpha) * CE``; T^2 keeps the soft term's gradients on the hard term's scale."""
    t = temperature
    soft = F.kl_div(F.log_softmax(student_logits / t, dim=-1), F.log_softmax(teacher_logits / t, dim=-1),
                    log_target=True, reduction="batchmean") * t * t
    gold = labels >= 0
    if not gold.any():  # a batch of teacher-labelled extra texts only
        return alpha * soft
    hard = F.cross_entropy(student_logits[gold], labels[gold])
    return alpha * soft + (1 - alpha) * hard


def evenly_spaced_layers(total: int, keep: int) -> list[int]:
    """Indices of ``keep`` of ``total`` layers: every other one for 6 -> 3 ([0, 2, 4]), [0, 3] for 6 -> 2."""
    if not 1 <= keep <= total:
        raise ConfigError(f"a student can keep 1 to {total} of the teacher's {total} layers (got {keep})")
    return [i * total // keep for i in range(keep)]


def copy_teacher_layers(teacher: TransformerClassifier, student_config, *, max_length: int) -> TransformerClassifier:
    """A student of ``student_config`` initialised from the teacher: embeddings, head and evenly spaced layers."""
    from transformers import AutoModelForSequenceClassification

    t_cfg = teacher.model.config
    vocab = len(teacher.tokenizer)
    if student_config.vocab_size != t_cfg.vocab_size:
        raise ModelError(f"the student's vocabulary ({student_config.vocab_size} tokens) differs from the teacher's "
                         f"tokenizer ({vocab} tokens, embeddings {t_cfg.vocab_size}): layers can only be copied between "
                         "models that share a tokenizer. Use 'layers:N', or give an encoder folder with its own tokenizer")
    for name in ("hidden_size", "intermediate_size", "num_attention_heads"):
        if getattr(student_config, name, None) != getattr(t_cfg, name, None):
            raise ModelError(f"the student's {name} ({getattr(student_config, name, None)}) differs from the teacher's "
                             f"({getattr(t_cfg, name, None)}): layers can only be copied between models of the same width")
    keep = evenly_spaced_layers(t_cfg.num_hidden_layers, student_config.num_hidden_layers)
    state = {}
    for key, value in teacher.model.state_dict().items():
        match = _LAYER_INDEX.search(key)
        if match is None:
            state[key] = value
        elif int(match.group(2)) in keep:
            state[key[:match.start(2)] + str(keep.index(int(match.group(2)))) + key[match.end(2):]] = value
    student = AutoModelForSequenceClassification.from_config(student_config)
    try:
        missing, unexpected = student.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise ModelError(f"the teacher's weights do not fit the student: {str(exc).splitlines()[0]}") from None
    if missing or unexpected:
        raise ModelError(f"the student's architecture ({student_config.model_type}) does not match the teacher's "
                         f"({t_cfg.model_type}): missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]}")
    log.info("student: layers %s of the teacher's %d", keep, t_cfg.num_hidden_layers)
    return TransformerClassifier(student, copy.deepcopy(teacher.tokenizer), teacher.labels, max_length=max_length,
                                 device=teacher.device)


def _config_from_json(path: Path, teacher: TransformerClassifier):
    from transformers import AutoConfig

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"student config {path} cannot be parsed: {exc}") from None
    model_type = data.pop("model_type", None) or teacher.model.config.model_type
    student_config = AutoConfig.for_model(model_type, **data)
    for name in ("num_labels", "id2label", "label2id"):
        setattr(student_config, name, getattr(teacher.model.config, name))
    return student_config


def build_student(spec: str, teacher, labels: LabelSet, *, max_length: int) -> tuple[TransformerClassifier, str]:
    """The student described by ``spec`` (see ``distill.student``) and a short description of it."""
    spec = spec.strip()
    copies = spec.startswith("layers:") or spec.endswith(".json")
    if copies and not isinstance(teacher, TransformerClassifier):
        raise ConfigError(f"distill.student={spec!r} copies the teacher's layers, but the teacher is a "
                          f"{teacher.approach} model; give an encoder name or folder as the student")
    if spec.startswith("layers:"):
        try:
            n = int(spec.split(":", 1)[1])
        except ValueError:
            raise ConfigError(f"distill.student={spec!r}: expected layers:N with a whole number N") from None
        student_config = copy.deepcopy(teacher.model.config)
        student_config.num_hidden_layers = n
        described = f"{teacher.base_model or 'teacher'} with {n} of {teacher.model.config.num_hidden_layers} layers"
        return copy_teacher_layers(teacher, student_config, max_length=max_length), described
    if spec.endswith(".json"):
        path = Path(spec).expanduser()
        if not path.is_file():
            raise ConfigError(f"student config {path} does not exist")
        student_config = _config_from_json(path, teacher)
        return copy_teacher_layers(teacher, student_config, max_length=max_length), f"{path.name} (teacher layers)"
    return TransformerClassifier.from_encoder(spec, labels, max_length=max_length), spec


def teacher_config(teacher_dir: str | Path, *, path: str | Path | None = None,
                   overrides: list[str] | None = None) -> SentiqConfig:
    """The teacher's own config (same data, split, seed and preprocessing), then a config file's sections
    and ``key=value`` overrides on top."""
    base = Manifest.load(teacher_dir).config
    if path is not None:
        base = _merged(base, read_mapping(Path(path)))
    return build_config(apply_overrides(base, overrides or []))


def _merged(base: dict, update: dict) -> dict:
    merged = dict(base)
    for key, value in update.items():
        merged[key] = _merged(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return merged


def _extra_texts(config: SentiqConfig, profile, known: set[str]) -> list[str]:
    d = config.distill
    if not d.extra_source:
        return []
    texts = [t for t in profile.apply(load_unlabeled(d.extra_source, text_column=d.extra_text_column).texts)
             if t.strip() and t not in known]  # never a validation or test text, nor a training text twice
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
    the teacher's splits; its ``training`` section sets the student's epochs, learning rate and batch size.
    """
    from sentiq.evaluation import compute_metrics, write_report
    from sentiq.inference import Predictor

    teacher_dir, output_dir = Path(teacher_dir), Path(output_dir)
    if output_dir.exists() and not overwrite:
        raise ConfigError(f"output directory {output_dir} already exists; choose another or pass overwrite")
    config = config or teacher_config(teacher_dir)
    teacher = Predictor.load(teacher_dir)
    labels = LabelSet(tuple(teacher.labels))
    from transformers import set_seed

    set_seed(config.training_seed)  # the student's fresh weights (a new head) are part of the run's reproducibility
    student, described = build_student(config.distill.student, teacher.model, labels,
                                        max_length=config.training.max_length)
    student.base_model, student.truncation = described, config.training.truncation
    loaded, splits = load_splits(config)
    train_df, val_df, test_df = (f.assign(text=teacher.profile.apply(f["text"].tolist())) for _, f in splits.items())
    extra = _extra_texts(config, teacher.profile, set(pd.concat([train_df, val_df, test_df])["text"]))
    log.info("distilling on %d training rows and %d teacher-labelled extra texts", len(train_df), len(extra))

    predict = teacher.model.predict_proba  # texts are preprocessed already
    batch = config.training.eval_batch_size
    train_texts = train_df["text"].tolist() + extra
    soft_train = _soft_targets(predict(train_texts, batch_size=batch, progress=progress))
    soft_val = _soft_targets(predict(val_df["text"].tolist(), batch_size=batch))
    teacher_test = predict(test_df["text"].tolist(), batch_size=batch)

    train_ids = labels.encode(train_df["label"].tolist()) + [-100] * len(extra)
    val_ids = labels.encode(val_df["label"].tolist())
    work_dir = output_dir.with_name(output_dir.name + ".partial")
    result = run_classifier_training(
        student, EncodedDataset(student.encode(train_texts), train_ids, extra={"teacher_logits": soft_train}),
        EncodedDataset(student.encode(val_df["text"].tolist()), val_ids, extra={"teacher_logits": soft_val}),
        config.training, seed=config.training_seed, work_dir=work_dir, progress=progress, trainer_class=_DistillTrainer,
        temperature=config.distill.temperature, alpha=config.distill.alpha,
        argument_overrides={"remove_unused_columns": False},  # keep teacher_logits for the loss
    )
    student_test = student.predict_proba(test_df["text"].tolist(), batch_size=batch, progress=progress)
    y_test = labels.encode(test_df["label"].tolist())
    teacher_metrics = compute_metrics(np.asarray(y_test), teacher_test, list(labels))

    with atomic_directory(output_dir, overwrite=overwrite) as tmp:
        student.save(tmp)
        metrics = write_report(
            tmp / "report", texts=test_df["text"].tolist(), y_true=y_test, proba=student_test, labels=list(labels),
            history=result.history, title=f"{config.name} (distilled): test split",
            context={"approach": "finetune (distilled)", "model": described, "teacher": str(teacher_dir),
                     "data": config.data.source, "split": "test", "preprocess": teacher.profile.name,
                     "train rows": len(train_df), "extra texts": len(extra), "steps": result.global_step},
            length_unit="chars" if loaded.language == "zh" else "words",
        )
        save_config(config, tmp / "config.yaml")
        atomic_write_text(tmp / "data_report.json", json.dumps(build_report(loaded, splits).to_dict(), indent=2,
                                                               ensure_ascii=False))
        atomic_write_text(tmp / "history.json", json.dumps(result.history, indent=2))
        seal(tmp, Manifest(
            approach="finetune", labels=list(labels), preprocess=dict(teacher.manifest.preprocess),
            language=teacher.manifest.language, max_length=student.max_length, truncation=student.truncation,
            base_model=described, config=config.to_dict(), metrics={k: metrics.get(k) for k in _HEADLINE},
            warnings=list(result.warnings), data_files=record_data_files(config.data.model_dump()),
        ), student)
        speed_texts = test_df["text"].tolist()[: config.distill.speed_texts]
        teacher_speed, student_speed = cpu_speeds([teacher_dir, tmp], speed_texts)
        summary = DistillResult(
            output_dir=output_dir,
            teacher=_side(teacher_metrics, teacher_speed, teacher.model, str(teacher_dir)),
            student=_side(metrics, student_speed, student, described),
            accuracy_kept=metrics["accuracy"] / max(teacher_metrics["accuracy"], 1e-9),
            speedup=student_speed[0] / max(teacher_speed[0], 1e-9),
            speedup_cpu=student_speed[1] / max(teacher_speed[1], 1e-9),
            agreement=float(np.mean(student_test.argmax(1) == teacher_test.argmax(1))),
            train_rows=len(train_df), extra_rows=len(extra), warnings=list(result.warnings),
        )
        atomic_write_text(tmp / SUMMARY_NAME, json.dumps(
            summary.to_dict() | {"temperature": config.distill.temperature, "alpha": config.distill.alpha,
                                 "speed_texts": len(speed_texts), "device": "cpu",
                                 "torch_threads": torch.get_num_threads()}, indent=2))
    shutil.rmtree(work_dir, ignore_errors=True)
    return summary


def _side(metrics: dict, speed: tuple[float, float], model, name: str) -> dict:
    inner = getattr(model, "model", None)
    layers = getattr(getattr(inner, "config", None), "num_hidden_layers", None)
    return {"model": name, "accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"],
            "texts_per_s": speed[0], "texts_per_cpu_s": speed[1], "parameters": _parameters(model), "layers": layers}
