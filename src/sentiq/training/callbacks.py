"""Trainer callbacks: the collapse guard and a progress bridge for the CLI."""

from __future__ import annotations

import logging
from typing import Callable

from transformers import TrainerCallback

log = logging.getLogger(__name__)

COLLAPSE_CAUSES = (
    "learning rate too high (try 2e-5 to 5e-5)",
    "no or too short warm-up (try training.warmup_ratio=0.1)",
    "a wrong label mapping (check data.label_map and the data report)",
    "class imbalance (try training.class_weights=balanced)",
)


def collapse_message(share: float, label: str, step: int) -> str:
    causes = "; ".join(COLLAPSE_CAUSES)
    return (
        f"collapse guard: at step {step} the model predicts {label!r} for {share:.0%} of the validation set, "
        f"which holds several classes. Likely causes: {causes}"
    )


def final_collapse_warning(metrics: dict, *, threshold: float, split: str = "test") -> str | None:
    """A warning when the finished model gives one class to (almost) all of a mixed split."""
    true_share = max(row["support"] for row in metrics["per_class"].values()) / max(metrics["n"], 1)
    share = metrics.get("majority_prediction_share", 0.0)
    if share < threshold or true_share >= threshold:
        return None
    label = max(metrics["predicted_share"], key=metrics["predicted_share"].get)
    return (
        f"collapse guard: the final model predicts {label!r} for {share:.0%} of the {split} split. "
        f"Likely causes: {'; '.join(COLLAPSE_CAUSES)}"
    )


class CollapseGuard(TrainerCallback):
    """Warns (or stops training) when validation predictions pile onto one class."""

    def __init__(self, *, threshold: float, patience: int, stop: bool, true_majority_share: float, labels: list[str]):
        self.threshold = threshold
        self.patience = patience  # consecutive collapsed evaluations before firing: early evals may be lopsided
        self.streak = 0
        self.stop = stop
        # A validation set that is itself ~all one class cannot show collapse.
        self.active = true_majority_share < threshold
        self.labels = labels
        self.events: list[str] = []

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if not self.active or not metrics:
            return
        share = metrics.get("eval_majority_prediction_share")
        if share is None or share < self.threshold:
            self.streak = 0
            return
        self.streak += 1
        if self.streak < self.patience:
            log.info("validation predictions are %.0f%% one class at step %d", 100 * share, state.global_step)
            return
        label = self.labels[int(metrics.get("eval_majority_prediction_id", 0))]
        message = collapse_message(share, label, state.global_step)
        log.warning(message)
        self.events.append(message)
        if self.stop:
            control.should_training_stop = True


class ProgressBridge(TrainerCallback):
    """Calls ``progress("train", step, total)`` so a CLI can draw a bar without knowing the Trainer; a
    progress function with a ``log_values(phase, dict)`` method also gets the training loss and the samples
    per step (for plain log lines with loss and samples/s)."""

    def __init__(self, progress: Callable[[str, int, int], None]):
        self.progress = progress

    def on_step_end(self, args, state, control, **kwargs):
        self.progress("train", state.global_step, state.max_steps)

    def on_log(self, args, state, control, logs=None, **kwargs):
        report = getattr(self.progress, "log_values", None)
        if report and logs and "loss" in logs:
            report(
                "train",
                {
                    "loss": float(logs["loss"]),
                    "samples_per_step": args.train_batch_size * args.gradient_accumulation_steps,
                },
            )
        if logs:
            log.info(
                "step %d: %s",
                state.global_step,
                {k: float(f"{v:.4g}") for k, v in logs.items() if isinstance(v, float)},
            )


class SameDecisionOnEveryRank(TrainerCallback):
    """Under several processes, training stops when any process's callbacks asked it to (early stopping, the
    collapse guard): one all-reduced flag after each evaluation, so no process trains on alone while the
    others wait for it in the next gradient all-reduce. Every process computes the same gathered validation
    metrics, so the flags agree anyway; this makes it a guarantee rather than a float-for-float coincidence.
    Added after every callback that may stop; a no-op in one process."""

    def on_evaluate(self, args, state, control, **kwargs):
        from sentiq.training.distributed import any_rank

        control.should_training_stop = any_rank(bool(control.should_training_stop))
