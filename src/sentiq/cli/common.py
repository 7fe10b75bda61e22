"""What every command shares: consoles, logging set-up, friendly errors, progress bars, tables."""

from __future__ import annotations

import functools
import logging
import os
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from sentiq.errors import Errors, SentiqError, UsageError

# Outside a terminal rich would cut every table to 80 columns: piped output gets room instead.
out = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 240)
err = Console(stderr=True)

# Options several commands take, spelled once.
ConfigFile = Annotated[Optional[Path], typer.Option("--config", "-c", help="YAML or JSON config file.")]
Overwrite = Annotated[bool, typer.Option(help="Replace an existing output directory.")]


def setup_logging(verbose: bool) -> None:
    from sentiq.training.distributed import is_main_process, rank

    # Under torchrun/accelerate launch rank 0 speaks for the run; the other ranks log errors only, or
    # everything with their rank in front under --verbose.
    main = is_main_process()
    level = logging.INFO if verbose else (logging.WARNING if main else logging.ERROR)
    logging.basicConfig(
        level=level,
        format="%(message)s" if main else f"rank {rank()}: %(message)s",
        handlers=[RichHandler(console=err, show_path=False, show_time=False)],
        force=True,
    )
    for noisy in ("httpx", "urllib3", "filelock", "ray", "ray.data"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    try:  # transformers keeps its own handler and progress bars; our bars replace them
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:
        pass


def friendly_errors(fn):
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


PROGRESS_EVERY_ENV = "SENTIQ_PROGRESS_EVERY"


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
    )


class _PlainProgress:
    """Progress as plain log lines on stderr, for output that is not a terminal (a log file, CI): a line
    per phase at its start and end and every SENTIQ_PROGRESS_EVERY seconds (default 30) between:
    step, loss, samples/s and ETA. (A rich bar only renders when it ends there.)"""

    def __init__(self, every: float):
        self.every = every
        self.started: dict[str, float] = {}
        self.last_line: dict[str, float] = {}
        self.values: dict[str, dict] = {}

    def log_values(self, phase: str, values: dict) -> None:  # training loss, samples per step (ProgressBridge)
        self.values.setdefault(phase, {}).update(values)

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        start = self.started.setdefault(phase, now)
        finished = total and done >= total
        if not finished and done and now - self.last_line.get(phase, -1e9) < self.every:
            return
        self.last_line[phase] = now
        elapsed = now - start
        parts = [f"{phase}: {done}/{total}" + (f" ({done / total:.0%})" if total else "")]
        values = self.values.get(phase, {})
        if "loss" in values:
            parts.append(f"loss {values['loss']:.4f}")
        if done and elapsed > 0:
            rate = done / elapsed
            per_step = values.get("samples_per_step")
            unit = phase.split(" (")[0]  # "predict (member 1/2)" counts predict items
            parts.append(f"{rate * per_step:.1f} samples/s" if per_step else f"{rate:.2f} {unit} items/s")
            if total and not finished:
                parts.append(f"ETA {_clock((total - done) / rate)}")
        parts.append(f"elapsed {_clock(elapsed)}")
        err.print(", ".join(parts), highlight=False, markup=False, soft_wrap=True)


# Config keys that error messages name, and the flags of the data-reading commands that set them.
DATA_FLAGS = {
    "data.text_column": "--text-column",
    "data.label_column": "--label-column",
    "data.label_map": "--label-map",
    "data.header=true": "--header",
    "data.header": "--header/--no-header",
}


def speaks_flags(flags: dict[str, str]):
    """Errors of a command that sets data options by flags name its flags, not the config keys."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except SentiqError as exc:
                for key, flag in flags.items():
                    exc.message = exc.message.replace(key, flag)
                raise

        return wrapper

    return decorate


@contextmanager
def progress_bars() -> Iterator:
    """A rich progress bar per phase (train, predict), fed by the library's progress callbacks (rank 0's only,
    under a launcher); plain periodic log lines when stderr is not a terminal."""
    from sentiq.training.distributed import is_main_process

    if not is_main_process():
        yield lambda phase, done, total: None
        return
    if not err.is_terminal:
        yield _PlainProgress(float(os.environ.get(PROGRESS_EVERY_ENV) or 30))
        return
    bars = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )
    tasks: dict[str, int] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bars.add_task(phase, total=total)
        bars.update(tasks[phase], completed=done, total=total)

    with bars:
        yield update


class _RowsPerSecond(ProgressColumn):
    def render(self, task) -> Text:
        return Text(f"{task.speed:,.0f} rows/s" if task.speed else "- rows/s")


@contextmanager
def rows_progress(every_s: float = 10.0) -> Iterator:
    """Rows done, rows/s and ETA: a live bar on a terminal, a plain line every ``every_s`` seconds otherwise."""
    if err.is_terminal:
        bars = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RowsPerSecond(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=False,
        )
        task = bars.add_task("score", total=None)
        with bars:
            yield lambda phase, done, total: bars.update(task, completed=done, total=total)
        return
    started, last, first = time.monotonic(), [0.0], [None]

    def update(phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if first[0] is None:
            first[0] = done  # rows a resumed job had already done are not part of this run's speed
        if now - last[0] < every_s and done < total:
            return
        last[0] = now
        rate = (done - first[0]) / max(now - started, 1e-9)
        eta = f", ETA {timedelta(seconds=round((total - done) / rate))}" if rate > 0 and total > done else ""
        err.print(
            f"{phase}: {done:,} / {total:,} rows ({done / max(total, 1):.1%}), {rate:,.0f} rows/s{eta}",
            highlight=False,
            markup=False,
        )

    yield update


def metrics_table(metrics: dict, title: str) -> Table:
    table = Table(title=title)
    for column in ("metric", "value"):
        table.add_column(column)
    from sentiq.models.directory import HEADLINE_METRICS  # lazy: commands import what they use

    for key in ("n", *HEADLINE_METRICS):
        value = metrics.get(key)
        if value is not None:
            table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    for label, row in metrics.get("per_class", {}).items():
        table.add_row(f"{label} P/R/F1", f"{row['precision']:.3f} / {row['recall']:.3f} / {row['f1']:.3f}")
    return table


def parse_label_map(text: Optional[str]) -> Optional[dict[str, str]]:
    if not text:
        return None
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    if any(len(p) != 2 for p in pairs):
        raise UsageError(Errors.E104)
    return {k.strip(): v.strip() for k, v in pairs}


def cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1e4 else f"{value:.1f}"
    return str(value)
