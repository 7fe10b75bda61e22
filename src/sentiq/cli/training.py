"""Commands that make a model directory: train, compare, pretrain, distill, route."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from sentiq.cli.common import ConfigFile, Overwrite, err, friendly_errors, metrics_table, out, progress_bars
from sentiq.errors import Errors, UsageError


@friendly_errors
def train(
    config: ConfigFile = None,
    output: Path = typer.Option(Path("runs/model"), "--output", "-o", help="Model directory to write."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Override a config key: training.epochs=2 (repeatable)."),
    overwrite: Overwrite = False,
    resume: bool = typer.Option(
        False, help="Continue from the last checkpoint of an interrupted run (also under another number of processes)."
    ),
) -> None:
    """Train a model (any approach) from a config; write a model directory with its report."""
    from sentiq.config import load_config
    from sentiq.workflows import train as run_train

    cfg = load_config(config, set_)
    with progress_bars() as progress:
        result = run_train(cfg, output, overwrite=overwrite, resume=resume, progress=progress)
    if result is None:  # a rank other than 0 under torchrun/accelerate launch: rank 0 reports
        return
    for warning in result.warnings:
        err.print(f"warning {warning}", style="yellow", highlight=False, markup=False, soft_wrap=True)
    out.print(metrics_table(result.metrics, f"{cfg.name} ({cfg.approach}): test split"))
    out.print(f"model: {result.output_dir}\nreport: {result.output_dir / 'report' / 'report.html'}")


@friendly_errors
def compare(
    config: ConfigFile = None,
    output: Path = typer.Option(Path("runs/compare"), "--output", "-o", help="Directory for models and the page."),
    set_: list[str] = typer.Option(
        [], "--set", "-s", help="Override a config key (compare.approaches=[tfidf, lexicon])."
    ),
    overwrite: Overwrite = False,
) -> None:
    """Train several approaches on the same split; print one table, write comparison.html."""
    from sentiq.config import load_config
    from sentiq.workflows import compare as run_compare

    cfg = load_config(config, set_)
    with progress_bars() as progress:
        rows = run_compare(cfg, output, overwrite=overwrite, progress=progress)
    table = Table(title=f"{cfg.name}: approaches on {cfg.data.source}")
    for column in (
        "approach",
        "accuracy",
        "macro-F1",
        "ROC-AUC",
        "train s",
        "predict texts/s",
        "vs best (pt, 95% CI)",
        "McNemar p",
    ):
        table.add_column(column, justify="left" if column == "approach" else "right")
    for r in rows:
        paired = (
            ("best", "")
            if r.get("vs_best_diff") is None
            else (
                f"{100 * r['vs_best_diff']:+.2f} [{100 * r['vs_best_ci_low']:+.2f}, {100 * r['vs_best_ci_high']:+.2f}]",
                f"{r['mcnemar_p']:.3g}",
            )
        )
        table.add_row(
            r["approach"],
            *(f"{r[k]:.4f}" if r[k] is not None else "n/a" for k in ("accuracy", "macro_f1", "roc_auc")),
            f"{r['train_seconds']:.1f}",
            f"{r['predict_texts_per_s']:.0f}",
            *paired,
        )
    out.print(table)
    out.print(f"page: {output / 'comparison.html'}")


@friendly_errors
def pretrain(
    config: Optional[Path] = typer.Option(
        None, "--config", "-c", help="YAML or JSON config file (model, pretrain section)."
    ),
    output: Path = typer.Option(Path("runs/encoder"), "--output", "-o", help="Encoder folder to write."),
    set_: list[str] = typer.Option(
        [], "--set", "-s", help="Override a config key: pretrain.max_texts=4000 (repeatable)."
    ),
    overwrite: bool = typer.Option(False, help="Replace an existing output folder."),
) -> None:
    """Domain-adaptive pre-training: masked-LM training of `model` on unlabeled text; train from it with model=FOLDER."""
    from sentiq.config import load_config
    from sentiq.training import pretrain as run_pretrain

    cfg = load_config(config, set_)
    with progress_bars() as progress:
        result = run_pretrain(cfg, output, overwrite=overwrite, progress=progress)
    if result is None:  # a rank other than 0 under a launcher
        return
    table = Table(title=f"{cfg.model} pre-trained on {cfg.pretrain.source}")
    for column in ("texts", "held out", "steps", "whole-word mask", "MLM loss before", "MLM loss after", "seconds"):
        table.add_column(column, justify="right")
    loss = lambda v: "n/a" if v is None else f"{v:.4f}"  # noqa: E731
    table.add_row(
        str(result.train_texts),
        str(result.eval_texts),
        str(result.steps),
        str(result.whole_word_mask),
        loss(result.eval_loss_before),
        loss(result.eval_loss_after),
        f"{result.seconds:.0f}",
    )
    out.print(table)
    if result.initialised_head:
        out.print(
            f"note: {cfg.model} shipped without a masked-LM head; it was initialised "
            f"({len(result.initialised_head)} weights, decoder tied to the word embeddings) and trained"
        )
    out.print(f"encoder: {result.output_dir}  (fine-tune it with --set model={result.output_dir})")


@friendly_errors
def distill(
    teacher: Path = typer.Option(..., "--teacher", "-t", help="A trained sentiq model directory (the teacher)."),
    student: Optional[str] = typer.Option(
        None,
        "--student",
        help="layers:N, a student config.json, or an encoder name/folder (default: distill.student, layers:3).",
    ),
    config: Optional[Path] = typer.Option(
        None, "--config", "-c", help="Config sections laid over the teacher's config."
    ),
    output: Path = typer.Option(Path("runs/student"), "--output", "-o", help="Model directory to write."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Override a key: distill.temperature=3, training.epochs=1."),
    overwrite: Overwrite = False,
) -> None:
    """Train a smaller student on a teacher's soft labels; compare accuracy and CPU speed with the teacher."""
    from sentiq.training import distill as run_distill
    from sentiq.training.distillation import teacher_config

    overrides = list(set_) + ([f"distill.student={student}"] if student else [])
    cfg = teacher_config(teacher, path=config, overrides=overrides)
    with progress_bars() as progress:
        result = run_distill(teacher, output, config=cfg, overwrite=overwrite, progress=progress)
    if result is None:  # a rank other than 0 under a launcher
        return
    for warning in result.warnings:
        err.print(f"warning {warning}", style="yellow", highlight=False, markup=False, soft_wrap=True)
    table = Table(title=f"distillation on {cfg.data.source}: test split")
    for column in ("model", "layers", "parameters", "accuracy", "macro-F1", "CPU texts/s"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for side in (result.teacher, result.student):
        table.add_row(
            side["model"],
            str(side["layers"] or "-"),
            f"{side['parameters'] or 0:,}",
            f"{side['accuracy']:.4f}",
            f"{side['macro_f1']:.4f}",
            f"{side['texts_per_s']:.0f}",
        )
    out.print(table)
    out.print(
        f"accuracy kept {result.accuracy_kept:.1%}, {result.speedup:.2f}x faster on the CPU "
        f"({result.speedup_cpu:.2f}x in CPU time), "
        f"agreement with the teacher {result.agreement:.1%}"
    )
    out.print(f"model: {result.output_dir}")


@friendly_errors
def route_cmd(
    model: list[str] = typer.Option(..., "--model", "-m", help="LANG=MODEL_DIR, e.g. zh=runs/weibo (repeatable)."),
    output: Path = typer.Option(..., "--output", "-o", help="Routed model directory to write."),
    fallback: Optional[str] = typer.Option(
        None,
        help="What answers texts of a language without a model (Japanese, "
        "emoji only, ...): a member language such as en, or unsupported (the "
        "default: no label, the prediction says 'unsupported language').",
    ),
    overwrite: Overwrite = False,
) -> None:
    """Combine per-language model directories into one that routes each text by its script; every prediction
    says which model answered ("model": "zh", "en (fallback)" or "unsupported")."""
    from sentiq.workflows import route

    routes: dict[str, str] = {}
    for item in model:
        lang, sep, path = item.partition("=")
        if not sep or not lang.strip() or not path.strip():
            raise UsageError(Errors.E109, item=item)
        if lang.strip() in routes:
            raise UsageError(Errors.E110, language=lang.strip())
        routes[lang.strip()] = path.strip()
    from sentiq.models import Manifest

    written = route(routes, output, fallback=fallback, overwrite=overwrite)
    chosen = Manifest.load(written).config["fallback"]
    out.print(
        f"routed model: {written} ({', '.join(f'{k} -> {v}' for k, v in routes.items())}; fallback {chosen})",
        highlight=False,
    )
