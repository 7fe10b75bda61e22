"""The `sentiq` command: a thin shell over :mod:`sentiq.workflows`."""

from __future__ import annotations

import functools
import json
import logging
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from sentiq.errors import SentiqError

app = typer.Typer(help="sentiq: train, evaluate and ship sentiment models.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
data_app = typer.Typer(help="Look at datasets before training on them.", no_args_is_help=True)
app.add_typer(data_app, name="data")
runs_app = typer.Typer(help="Recorded train, evaluate and compare runs.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
out = Console()
err = Console(stderr=True)


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s",
                        handlers=[RichHandler(console=err, show_path=False, show_time=False)], force=True)
    for noisy in ("httpx", "urllib3", "filelock"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    try:  # transformers keeps its own handler and progress bars; our bars replace them
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:
        pass


def _friendly_errors(fn):
    """Known errors become one red line and exit code 1; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SentiqError as exc:
            # markup off: messages quote user input such as "[E300]" or "[哈哈]"
            err.print(f"error {exc}", style="bold red", highlight=False, markup=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None

    return wrapper


@contextmanager
def _progress() -> Iterator:
    """A rich progress bar per phase (train, predict), fed by the library's progress callbacks."""
    bars = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=err, transient=False)
    tasks: dict[str, int] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bars.add_task(phase, total=total)
        bars.update(tasks[phase], completed=done, total=total)

    with bars:
        yield update


def _metrics_table(metrics: dict, title: str) -> Table:
    table = Table(title=title)
    for column in ("metric", "value"):
        table.add_column(column)
    for key in ("n", "accuracy", "macro_f1", "weighted_f1", "roc_auc", "log_loss", "ece"):
        value = metrics.get(key)
        if value is not None:
            table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    for label, row in metrics.get("per_class", {}).items():
        table.add_row(f"{label} P/R/F1", f"{row['precision']:.3f} / {row['recall']:.3f} / {row['f1']:.3f}")
    return table


def _parse_label_map(text: Optional[str]) -> Optional[dict[str, str]]:
    if not text:
        return None
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    if any(len(p) != 2 for p in pairs):
        raise SentiqError("--label-map must look like 0=negative,1=positive")
    return {k.strip(): v.strip() for k, v in pairs}


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details.")) -> None:
    _setup_logging(verbose)


@app.command()
@_friendly_errors
def train(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML or JSON config file."),
    output: Path = typer.Option(Path("runs/model"), "--output", "-o", help="Model directory to write."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Override a config key: training.epochs=2 (repeatable)."),
    overwrite: bool = typer.Option(False, help="Replace an existing output directory."),
    resume: bool = typer.Option(False, help="Continue from the last checkpoint of an interrupted run."),
) -> None:
    """Train a model (any approach) from a config; write a model directory with its report."""
    from sentiq.config import load_config
    from sentiq.workflows import train as run_train

    cfg = load_config(config, set_)
    with _progress() as progress:
        result = run_train(cfg, output, overwrite=overwrite, resume=resume, progress=progress)
    for warning in result.warnings:
        err.print(f"warning {warning}", style="yellow", highlight=False, markup=False, soft_wrap=True)
    out.print(_metrics_table(result.metrics, f"{cfg.name}: test split"))
    out.print(f"model: {result.output_dir}\nreport: {result.output_dir / 'report' / 'report.html'}")


@app.command()
@_friendly_errors
def compare(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML or JSON config file."),
    output: Path = typer.Option(Path("runs/compare"), "--output", "-o", help="Directory for models and the page."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Override a config key (compare.approaches=[tfidf, lexicon])."),
    overwrite: bool = typer.Option(False, help="Replace an existing output directory."),
) -> None:
    """Train several approaches on the same split; print one table, write comparison.html."""
    from sentiq.config import load_config
    from sentiq.workflows import compare as run_compare

    cfg = load_config(config, set_)
    with _progress() as progress:
        rows = run_compare(cfg, output, overwrite=overwrite, progress=progress)
    table = Table(title=f"{cfg.name}: approaches on {cfg.data.source}")
    for column in ("approach", "accuracy", "macro-F1", "ROC-AUC", "train s", "predict texts/s"):
        table.add_column(column, justify="left" if column == "approach" else "right")
    for r in rows:
        table.add_row(r["approach"], *(f"{r[k]:.4f}" if r[k] is not None else "n/a" for k in ("accuracy", "macro_f1", "roc_auc")),
                      f"{r['train_seconds']:.1f}", f"{r['predict_texts_per_s']:.0f}")
    out.print(table)
    out.print(f"page: {output / 'comparison.html'}")


@app.command()
@_friendly_errors
def evaluate(
    model_dir: Path = typer.Argument(..., help="A sentiq model directory."),
    data: Optional[str] = typer.Option(None, help="Dataset name or file (default: the training data)."),
    split: str = typer.Option("test", help="train, validation, test or all."),
    report: Optional[Path] = typer.Option(None, help="Report directory (default: MODEL_DIR/evaluations/...)."),
    text_column: Optional[str] = typer.Option(None, help="Text column of a data file."),
    label_column: Optional[str] = typer.Option(None, help="Label column of a data file."),
    label_map: Optional[str] = typer.Option(None, help="Raw label to name, e.g. 0=negative,1=positive."),
    behaviour: Optional[Path] = typer.Option(None, help="Behaviour test file (CSV text,expected): pass/fail per sentence "
                                             "instead of a dataset split."),
) -> None:
    """Score a model on a dataset split (or a behaviour test file); write report.html and metrics.json."""
    from sentiq.workflows import evaluate as run_evaluate

    if behaviour is not None:
        if data is not None:
            raise SentiqError("give --data or --behaviour, not both (run evaluate twice for both)")
        _evaluate_behaviour(model_dir, behaviour, report)
        return

    with _progress() as progress:
        metrics, report_dir = run_evaluate(model_dir, data=data, split=split, report_dir=report,
                                           text_column=text_column, label_column=label_column,
                                           label_map=_parse_label_map(label_map), progress=progress)
    out.print(_metrics_table(metrics, f"{model_dir.name} on {data or 'training data'} ({split})"))
    out.print(f"report: {report_dir / 'report.html'}")


def _evaluate_behaviour(model_dir: Path, behaviour: Path, report: Optional[Path]) -> None:
    from sentiq.workflows import evaluate_behaviour

    result = evaluate_behaviour(model_dir, behaviour, report_dir=report)
    table = Table(title=f"{model_dir.name}: behaviour tests {behaviour.name}")
    for column in ("result", "text", "expected", "predicted", "confidence"):
        table.add_column(column, justify="right" if column == "confidence" else "left")
    for case in result.cases:
        mark = "[green]pass[/]" if case.passed else "[bold red]FAIL[/]"
        table.add_row(mark, escape(case.text), case.expected, case.predicted, f"{case.confidence:.3f}")
    out.print(table)
    passed = len(result.cases) - len(result.failures)
    out.print(f"{passed}/{len(result.cases)} passed", style="green" if not result.failures else "bold red",
              highlight=False)
    out.print(f"report: {result.report_dir / 'report.html'}")


@app.command("route")
@_friendly_errors
def route_cmd(
    model: list[str] = typer.Option(..., "--model", "-m", help="LANG=MODEL_DIR, e.g. zh=runs/weibo (repeatable)."),
    output: Path = typer.Option(..., "--output", "-o", help="Routed model directory to write."),
    fallback: Optional[str] = typer.Option(None, help="Language whose model takes texts of any other language "
                                            "(default: en when given, else the first)."),
    overwrite: bool = typer.Option(False, help="Replace an existing output directory."),
) -> None:
    """Combine per-language model directories into one that routes each text by its script."""
    from sentiq.workflows import route

    routes: dict[str, str] = {}
    for item in model:
        lang, sep, path = item.partition("=")
        if not sep or not lang.strip() or not path.strip():
            raise SentiqError(f"--model {item!r} must look like LANG=MODEL_DIR (e.g. zh=runs/chnsenticorp)")
        if lang.strip() in routes:
            raise SentiqError(f"--model gives language {lang.strip()!r} twice")
        routes[lang.strip()] = path.strip()
    from sentiq.models import Manifest

    written = route(routes, output, fallback=fallback, overwrite=overwrite)
    chosen = Manifest.load(written).config["fallback"]
    out.print(f"routed model: {written} ({', '.join(f'{k} -> {v}' for k, v in routes.items())}; fallback {chosen})",
              highlight=False)


@app.command()
@_friendly_errors
def predict(
    model_dir: Path = typer.Argument(..., help="A sentiq model directory."),
    texts: Optional[list[str]] = typer.Argument(None, help="Texts to classify."),
    input: Optional[Path] = typer.Option(None, "--input", "-i", help="File of texts (.txt lines, .csv/.jsonl/.parquet)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write JSON lines here instead of stdout."),
    text_column: str = typer.Option("text", help="Text column of a table input."),
) -> None:
    """Print one JSON line per text: {"text", "label", "score", "scores"} (+ "language" for routed models)."""
    from sentiq.inference import Predictor
    from sentiq.workflows import predict_to_file, read_texts

    if bool(texts) == bool(input):
        raise SentiqError("give texts as arguments or --input FILE (one of the two)")
    items = list(texts) if texts else read_texts(input, text_column=text_column)
    predictor = Predictor.load(model_dir)
    if output:
        with _progress() as progress:
            n = predict_to_file(predictor, items, output, progress=progress)
        err.print(f"wrote {n} predictions to {output}")
        return
    for text, pred in zip(items, predictor.predict(items)):
        sys.stdout.write(json.dumps({"text": text, **pred.to_dict()}, ensure_ascii=False) + "\n")


def _drift_table(result) -> Table:
    colours = {"ok": "green", "warn": "yellow", "drift": "bold red", "skipped": "dim"}
    table = Table(title=f"drift: {result.current.source} vs {result.reference.source}")
    for column in ("check", "status", "test", "statistic", "p-value", "PSI / AUC"):
        table.add_column(column, justify="left" if column in ("check", "status", "test") else "right")
    for c in result.checks:
        effect = c.auc if c.auc is not None else c.psi
        table.add_row(c.name, f"[{colours.get(c.status, 'white')}]{c.status}[/]", c.test,
                      "" if c.statistic is None else f"{c.statistic:.4f}",
                      "" if c.p_value is None else f"{c.p_value:.3g}", "" if effect is None else f"{effect:.4f}")
    return table


@app.command()
@_friendly_errors
def monitor(
    reference: str = typer.Option(..., "--reference", "-r", help="Training data: a built-in dataset, a data file, "
                                  "a model directory (its training data, predicted by it) or an earlier request log."),
    current: str = typer.Option(..., "--current", "-c", help="Live data: the service's request log (JSON lines) "
                                "or a .txt/.csv/.jsonl/.parquet file of texts."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="Model that predicts texts without predictions "
                                         "(default: the reference, when it is a model directory)."),
    output: Path = typer.Option(Path("drift-report"), "--output", "-o", help="Directory for drift.json and drift.html."),
    max_texts: int = typer.Option(2000, min=20, help="Rows sampled from each side (seeded)."),
    embeddings: bool = typer.Option(True, help="Run the embedding check (needs texts on both sides and torch)."),
    encoder: str = typer.Option("minilm", help="Sentence encoder of the embedding check."),
    embedding_texts: int = typer.Option(500, min=20, help="Texts per side for the embedding check."),
    text_column: str = typer.Option("text", help="Text column of a data file."),
    alpha: float = typer.Option(0.01, min=0.0, max=1.0, help="Significance level of the tests."),
    psi_threshold: float = typer.Option(0.2, min=0.0, help="PSI at or above which a significant shift is drift."),
    auc_threshold: float = typer.Option(0.6, min=0.5, max=1.0, help="Embedding-classifier AUC that counts as drift."),
    seed: int = typer.Option(42, help="Seed for sampling and cross-validation."),
) -> None:
    """Compare live inputs and predictions with the training data. Exit 0: no drift, 3: drift, 1: error."""
    from sentiq.monitoring import DRIFT_EXIT_CODE, Thresholds
    from sentiq.monitoring import monitor as run_monitor

    thresholds = Thresholds(alpha=alpha, psi_warn=min(0.1, psi_threshold), psi_drift=psi_threshold,
                            auc_warn=min(0.55, auc_threshold), auc_drift=auc_threshold)
    with _progress() as progress:
        result = run_monitor(reference, current, model=str(model) if model else None, output_dir=output,
                             max_texts=max_texts, embeddings=embeddings, encoder=encoder,
                             embedding_texts=embedding_texts, thresholds=thresholds, seed=seed,
                             text_column=text_column, progress=progress)
    out.print(_drift_table(result))
    out.print(f"overall: {result.status}\nreport: {output / 'drift.html'}")
    if result.drift:
        raise typer.Exit(DRIFT_EXIT_CODE)


@data_app.command("inspect")
@_friendly_errors
def data_inspect(
    source: str = typer.Argument(..., help="Built-in name (imdb, sentiment140, chnsenticorp, waimai, weibo_senti_100k) or file."),
    text_column: Optional[str] = typer.Option(None, help="Text column of a data file."),
    label_column: Optional[str] = typer.Option(None, help="Label column of a data file."),
    label_map: Optional[str] = typer.Option(None, help="Raw label to name, e.g. 0=negative,1=positive."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Counts per class and split, dropped rows, duplicates and train/test overlap."""
    from sentiq.workflows import inspect_data

    report = inspect_data(source, text_column=text_column, label_column=label_column,
                          label_map=_parse_label_map(label_map))
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"{report.source} ({report.language})")
    table.add_column("split")
    for label in report.labels:
        table.add_column(label, justify="right")
    table.add_column("duplicates", justify="right")
    table.add_column("overlap with train", justify="right")
    for split, counts in report.counts.items():
        overlap = report.overlap.get(f"train/{split}", "")
        table.add_row(split, *[str(counts.get(lab, 0)) for lab in report.labels],
                      str(report.duplicates.get(split, 0)), str(overlap))
    out.print(table)
    out.print(f"dropped: {report.dropped_empty} empty texts, {report.dropped_missing_label} rows without a label")
    for warning in report.warnings:
        out.print(f"warning {warning}", style="yellow", highlight=False, markup=False, soft_wrap=True)


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1e4 else f"{value:.1f}"
    return str(value)


@runs_app.command("list")
@_friendly_errors
def runs_list(
    runs_dir: Optional[Path] = typer.Option(None, help="Runs root (default: $SENTIQ_RUNS_DIR, else runs/)."),
    limit: int = typer.Option(20, min=1, help="Show the newest N runs."),
) -> None:
    """Recorded runs, newest first: command, name, status, duration and headline metrics."""
    from sentiq.tracking import load_runs, runs_root
    from sentiq.tracking.runs import duration

    root = runs_dir or runs_root()
    records = load_runs(root)
    table = Table(title=f"runs in {root} ({len(records)})")
    for column in ("run", "command", "name", "status", "started", "took", "accuracy", "macro-F1", "model"):
        table.add_column(column, justify="right" if column in ("took", "accuracy", "macro-F1") else "left")
    for r in records[:limit]:
        metrics = r.get("metrics") or {}
        status = r.get("status", "?")
        table.add_row(r.get("id", "?"), r.get("command", "?"), r.get("name", ""),
                      status if status == "finished" else f"[red]{status}[/]", r.get("started", ""),
                      duration(r.get("duration_s")), _cell(metrics.get("accuracy")), _cell(metrics.get("macro_f1")),
                      r.get("model_path") or "-")
    out.print(table)


@runs_app.command("compare")
@_friendly_errors
def runs_compare(
    a: str = typer.Argument(..., help="Run id, unique id prefix or run folder."),
    b: str = typer.Argument(..., help="Run id, unique id prefix or run folder."),
    runs_dir: Optional[Path] = typer.Option(None, help="Runs root (default: $SENTIQ_RUNS_DIR, else runs/)."),
    only_diff: bool = typer.Option(False, "--only-diff", help="Show only params and metrics that differ."),
) -> None:
    """Params and metrics of two runs side by side; differences highlighted."""
    from sentiq.tracking import compare_runs, find_run

    left, right = find_run(a, runs_dir), find_run(b, runs_dir)
    table = Table(title=f"{left['id']} vs {right['id']}")
    for column in ("", "key", left["id"], right["id"]):
        table.add_column(column, overflow="fold")
    rows = compare_runs(left, right)
    for section, key, va, vb, differs in rows:
        if only_diff and not differs:
            continue
        shown = (_cell(va), _cell(vb)) if section == "metrics" else ("-" if va is None else str(va), "-" if vb is None else str(vb))
        table.add_row(section, key, *shown, style="bold yellow" if differs else None)
    out.print(table)
    changed = sum(1 for row in rows if row[4])
    out.print(f"{changed} of {len(rows)} params and metrics differ")


@app.command("config")
@_friendly_errors
def config_cmd(
    config: Optional[Path] = typer.Argument(None, help="A config to validate and print in full."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Override a key: training.epochs=2."),
) -> None:
    """Without FILE: every config key with its default and meaning. With FILE: the validated config."""
    import yaml

    from sentiq.config import describe_fields, load_config

    if config is None and not set_:
        table = Table(title="sentiq config keys")
        for column in ("key", "default", "meaning"):
            table.add_column(column)
        for key, default, description in describe_fields():
            table.add_row(key, default, description)
        out.print(table)
        return
    sys.stdout.write(yaml.safe_dump(load_config(config, set_).to_dict(), sort_keys=False, allow_unicode=True))


if __name__ == "__main__":
    app()
