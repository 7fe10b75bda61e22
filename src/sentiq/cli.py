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
def pretrain(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML or JSON config file (model, pretrain section)."),
    output: Path = typer.Option(Path("runs/encoder"), "--output", "-o", help="Encoder folder to write."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Override a config key: pretrain.max_texts=4000 (repeatable)."),
    overwrite: bool = typer.Option(False, help="Replace an existing output folder."),
) -> None:
    """Domain-adaptive pre-training: masked-LM training of `model` on unlabeled text; train from it with model=FOLDER."""
    from sentiq.config import load_config
    from sentiq.training import pretrain as run_pretrain

    cfg = load_config(config, set_)
    with _progress() as progress:
        result = run_pretrain(cfg, output, overwrite=overwrite, progress=progress)
    table = Table(title=f"{cfg.model} pre-trained on {cfg.pretrain.source}")
    for column in ("texts", "held out", "steps", "whole-word mask", "MLM loss before", "MLM loss after", "seconds"):
        table.add_column(column, justify="right")
    loss = lambda v: "n/a" if v is None else f"{v:.4f}"  # noqa: E731
    table.add_row(str(result.train_texts), str(result.eval_texts), str(result.steps), str(result.whole_word_mask),
                  loss(result.eval_loss_before), loss(result.eval_loss_after), f"{result.seconds:.0f}")
    out.print(table)
    if result.initialised_head:
        out.print(f"note: {cfg.model} shipped without a masked-LM head; it was initialised "
                  f"({len(result.initialised_head)} weights, decoder tied to the word embeddings) and trained")
    out.print(f"encoder: {result.output_dir}  (fine-tune it with --set model={result.output_dir})")


@app.command()
@_friendly_errors
def distill(
    teacher: Path = typer.Option(..., "--teacher", "-t", help="A trained sentiq model directory (the teacher)."),
    student: Optional[str] = typer.Option(None, "--student", help="layers:N, a student config.json, or an encoder "
                                          "name/folder (default: distill.student, layers:3)."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Config sections laid over the teacher's config."),
    output: Path = typer.Option(Path("runs/student"), "--output", "-o", help="Model directory to write."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Override a key: distill.temperature=3, training.epochs=1."),
    overwrite: bool = typer.Option(False, help="Replace an existing output directory."),
) -> None:
    """Train a smaller student on a teacher's soft labels; compare accuracy and CPU speed with the teacher."""
    from sentiq.training import distill as run_distill
    from sentiq.training.distillation import teacher_config

    overrides = list(set_) + ([f"distill.student={student}"] if student else [])
    cfg = teacher_config(teacher, path=config, overrides=overrides)
    with _progress() as progress:
        result = run_distill(teacher, output, config=cfg, overwrite=overwrite, progress=progress)
    for warning in result.warnings:
        err.print(f"warning {warning}", style="yellow", highlight=False, markup=False, soft_wrap=True)
    table = Table(title=f"distillation on {cfg.data.source}: test split")
    for column in ("model", "layers", "parameters", "accuracy", "macro-F1", "CPU texts/s"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for side in (result.teacher, result.student):
        table.add_row(side["model"], str(side["layers"] or "-"), f"{side['parameters'] or 0:,}", f"{side['accuracy']:.4f}",
                      f"{side['macro_f1']:.4f}", f"{side['texts_per_s']:.0f}")
    out.print(table)
    out.print(f"accuracy kept {result.accuracy_kept:.1%}, {result.speedup:.2f}x faster on the CPU "
              f"({result.speedup_cpu:.2f}x in CPU time), "
              f"agreement with the teacher {result.agreement:.1%}")
    out.print(f"model: {result.output_dir}")


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
    fairness: Optional[bool] = typer.Option(None, "--fairness/--no-fairness",
                                            help="Run the template fairness check (default: the model's evaluation.fairness)."),
    important_words: Optional[bool] = typer.Option(None, "--important-words/--no-important-words",
                                                   help="Find each class's most important words (default: the model's config)."),
    behaviour: Optional[Path] = typer.Option(None, help="Behaviour test file (CSV text,expected): pass/fail per sentence "
                                             "instead of a dataset split."),
) -> None:
    """Score a model on a dataset split (or a behaviour test file); write report.html and metrics.json
    (with calibration, slices, fairness and important words)."""
    from sentiq.workflows import evaluate as run_evaluate

    if behaviour is not None:
        if data is not None:
            raise SentiqError("give --data or --behaviour, not both (run evaluate twice for both)")
        _evaluate_behaviour(model_dir, behaviour, report)
        return

    with _progress() as progress:
        metrics, report_dir = run_evaluate(model_dir, data=data, split=split, report_dir=report,
                                           text_column=text_column, label_column=label_column,
                                           label_map=_parse_label_map(label_map), fairness=fairness,
                                           important_words=important_words, progress=progress)
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
    max_chars: int = typer.Option(100_000, min=1, help="Longest text in characters; a longer one is an error "
                                  "naming its line (or is cut with --truncate)."),
    truncate: bool = typer.Option(False, help="Cut texts over --max-chars instead of refusing them."),
) -> None:
    """Print one JSON line per text: {"text", "label", "score", "scores"} (+ "language" for routed models)."""
    from sentiq.inference import Predictor
    from sentiq.workflows import check_text_lengths, predict_to_file, read_texts

    if bool(texts) == bool(input):
        raise SentiqError("give texts as arguments or --input FILE (one of the two)")
    if texts:
        items = check_text_lengths(texts, max_chars=max_chars, truncate=truncate, where=lambda i: f"text #{i + 1}")
    else:
        items = read_texts(input, text_column=text_column, max_chars=max_chars, truncate=truncate)
    predictor = Predictor.load(model_dir)
    if output:
        with _progress() as progress:
            n = predict_to_file(predictor, items, output, progress=progress)
        err.print(f"wrote {n} predictions to {output}")
        return
    for text, pred in zip(items, predictor.predict(items)):
        sys.stdout.write(json.dumps({"text": text, **pred.to_dict()}, ensure_ascii=False) + "\n")


@app.command()
@_friendly_errors
def serve(
    model_dir: Path = typer.Argument(..., help="A sentiq model directory."),
    host: Optional[str] = typer.Option(None, help="Interface to listen on (env SENTIQ_HOST; default 127.0.0.1)."),
    port: Optional[int] = typer.Option(None, help="TCP port (env SENTIQ_PORT; default 8000)."),
    workers: Optional[int] = typer.Option(None, help="Worker processes, each loading the model (env SENTIQ_WORKERS; default 1)."),
    batching: Optional[bool] = typer.Option(None, "--batching/--no-batching", help="Gather concurrent requests (env SENTIQ_BATCHING)."),
    request_log: Optional[Path] = typer.Option(None, help="JSON-lines request log file (env SENTIQ_REQUEST_LOG)."),
) -> None:
    """Serve a model over HTTP: POST /v1/predict, /health, /ready, /metrics, a try-it page at /, docs at /docs.

    Every other setting is an environment variable (SENTIQ_API_KEY, SENTIQ_MAX_TEXTS, ...; see the README).
    """
    from sentiq.serving import ServeSettings, run

    run(ServeSettings.from_env(model_dir=model_dir, host=host, port=port, workers=workers, batching=batching,
                               request_log=request_log))


def _export_table(report: dict, title: str) -> Table:
    table = Table(title=title)
    for column in ("check", "PyTorch", "ONNX", "change"):
        table.add_column(column, justify="left" if column == "check" else "right")
    if "accuracy_pytorch" in report:
        table.add_row(f"accuracy ({report['labelled_rows']} labelled rows)", f"{report['accuracy_pytorch']:.4f}",
                      f"{report['accuracy_onnx']:.4f}", f"{report['accuracy_change_points']:+.2f} pt")
    table.add_row(f"label agreement ({report['texts']} texts)", "", "", f"{100 * report['label_agreement']:.2f}%")
    table.add_row("max probability difference", "", "", f"{report['max_prob_diff']:.2e}")
    table.add_row("mean probability difference", "", "", f"{report['mean_prob_diff']:.2e}")
    table.add_row("result", "", "", "passed" if report["passed"] else "FAILED")
    return table


@app.command("export")
@_friendly_errors
def export_cmd(
    model_dir: Path = typer.Argument(..., help="A fine-tuned (approach finetune) sentiq model directory."),
    output: Path = typer.Option(..., "--output", "-o", help="Directory to write the exported model to."),
    format_: str = typer.Option("onnx", "--format", help="Export format (onnx)."),
    quantize: Optional[str] = typer.Option(None, help="int8: dynamic int8 quantization (smaller, faster on CPU)."),
    data: Optional[str] = typer.Option(None, help="Labelled data for the accuracy check (default: the training "
                                                   "data's test split; 'none' skips it)."),
    split: str = typer.Option("test", help="Split of --data to check on."),
    eval_rows: int = typer.Option(500, help="Labelled rows to check accuracy on (a seeded sample)."),
    min_eval_rows: int = typer.Option(100, help="Refuse the export when the accuracy check has fewer labelled rows."),
    max_accuracy_drop: float = typer.Option(0.5, help="Fail when the export loses more accuracy points than this."),
    overwrite: bool = typer.Option(False, help="Replace an existing output directory."),
) -> None:
    """Export to ONNX (served without torch); check parity with PyTorch before writing anything."""
    from sentiq.errors import ConfigError, ExportError
    from sentiq.export import export_onnx

    if format_ != "onnx":
        raise ConfigError(f"--format must be onnx (got {format_!r})")
    try:
        with _progress() as progress:
            result = export_onnx(model_dir, output, quantize=quantize, data=data, split=split, eval_rows=eval_rows,
                                 min_eval_rows=min_eval_rows, max_accuracy_drop=max_accuracy_drop, overwrite=overwrite, progress=progress)
    except ExportError as exc:
        if exc.report:
            out.print(_export_table(exc.report, f"{model_dir.name} -> ONNX {quantize or 'fp32'}: parity"))
        raise
    out.print(_export_table(result.report, f"{model_dir.name} -> ONNX {quantize or 'fp32'}: parity"))
    out.print(f"model: {result.output_dir} (serve with Predictor.load; needs onnxruntime, not torch)")


def _coloured(explanation):
    """The text with each word's background coloured by its weight (green for, red against)."""
    from rich.text import Text

    text = Text(explanation.text)
    peak = max((abs(w.weight) for w in explanation.words), default=0.0) or 1.0
    for w in explanation.words:
        strength = abs(w.weight) / peak
        if strength < 0.05:
            continue
        level = int(60 + 150 * strength)
        colour = f"rgb({255 - level},{255},{255 - level})" if w.weight > 0 else f"rgb(255,{255 - level},{255 - level})"
        text.stylize(f"black on {colour}", w.start, w.end)
    return text


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
def explain(
    model_dir: Path = typer.Argument(..., help="A sentiq model directory."),
    text: str = typer.Argument(..., help="The text to explain."),
    method: str = typer.Option("auto", help="auto, linear, lexicon, integrated-gradients or occlusion."),
    target: Optional[str] = typer.Option(None, help="Label to explain (default: the predicted one)."),
    top: int = typer.Option(10, help="Rows of the word table."),
    as_json: bool = typer.Option(False, "--json", help="Print the explanation as JSON."),
) -> None:
    """Which words made the model predict what it did: coloured text and a table of word weights."""
    from sentiq.explain import explain as run_explain

    explanation = run_explain(model_dir, text, method=method, target=target)
    if as_json:
        sys.stdout.write(json.dumps(explanation.to_dict(), ensure_ascii=False) + "\n")
        return
    out.print(f"[bold]{explanation.label}[/] ({explanation.score:.3f}) by {explanation.method}; "
              "[green]green[/] supports it, [red]red[/] speaks against it", highlight=False)
    out.print(_coloured(explanation))
    table = Table(title=f"words weighing for or against {explanation.label}")
    table.add_column("word")
    table.add_column("weight", justify="right")
    for word, weight in explanation.top(top):
        table.add_row(word, f"[{'green' if weight > 0 else 'red'}]{weight:+.4f}[/]")
    out.print(table)
    details = {k: v for k, v in explanation.details.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if details:
        out.print("  ".join(f"{k}={v:.4g}" for k, v in details.items()), style="dim", highlight=False)


@app.command()
@_friendly_errors
def calibrate(
    model_dir: Path = typer.Argument(..., help="A sentiq model directory (its manifest is updated)."),
    data: Optional[str] = typer.Option(None, help="Dataset name or file (default: the training data)."),
    split: str = typer.Option("validation", help="Split to fit on: validation (default), train, test or all."),
) -> None:
    """Fit temperature scaling for an existing model on a held-out split; record it in sentiq.json."""
    from sentiq.workflows import calibrate as run_calibrate

    with _progress() as progress:
        result = run_calibrate(model_dir, data=data, split=split, progress=progress)
    table = Table(title=f"{model_dir.name}: temperature scaling on {result['split']} ({result['n']} texts)")
    for column in ("", "before", "after"):
        table.add_column(column, justify="right")
    for key in ("ece", "log_loss", "mean_confidence"):
        table.add_row(key, f"{result['before'][key]:.4f}", f"{result['after'][key]:.4f}")
    out.print(table)
    t = result["temperature"]
    out.print("temperature: none (no validation error to fit on)" if t is None else f"temperature: {t:.4f}")


@app.command()
@_friendly_errors
def fairness(
    model_dir: Path = typer.Argument(..., help="A sentiq model directory."),
    templates: Optional[Path] = typer.Option(None, help="Your own template JSON (default: shipped en/zh set)."),
    as_json: bool = typer.Option(False, "--json", help="Print the full result as JSON."),
) -> None:
    """Template fairness check: the same sentences with different names or groups; prints the spread."""
    from sentiq.workflows import fairness_check

    result = fairness_check(model_dir, templates=templates)
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
        return
    for item in result["sets"]:
        table = Table(title=f"{item['name']}: spread {item['spread']:.4f} "
                            f"({item['templates_with_label_flips']}/{len(item['templates'])} templates flip the label)")
        table.add_column("group")
        table.add_column(f"mean {result['score']}", justify="right")
        for group, mean in sorted(item["group_means"].items(), key=lambda kv: kv[1]):
            table.add_row(group, f"{mean:.4f}")
        out.print(table)
    out.print(f"largest spread: {result['spread']:.4f}")


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
