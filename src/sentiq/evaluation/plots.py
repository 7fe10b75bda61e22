"""Evaluation figures, rendered with the Agg canvas.

Figures are built with ``matplotlib.figure.Figure`` and an explicit Agg canvas rather
than pyplot: nothing is ever shown, no display is needed, pyplot's global backend and
figure registry are left alone (importing sentiq inside a notebook does not switch the
user's backend), and a figure nobody closes is simply garbage-collected.
Callers may still ``plt.close(fig)`` or ``fig.clear()`` when done.
"""

from __future__ import annotations

import base64
import functools
import io
import logging
import math
import warnings

import matplotlib
import numpy as np
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sentiq.errors import DataError, Errors
from sentiq.evaluation.buckets import length_buckets
from sentiq.evaluation.metrics import check_inputs, expected_calibration_error, reliability_bins

logger = logging.getLogger(__name__)

_BLUE, _ORANGE, _GREY = "#1f77b4", "#ff7f0e", "#7f7f7f"

# Fallback fonts for Chinese/Japanese label names, used only when installed.
_CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Heiti SC",
    "Arial Unicode MS",
)


@functools.lru_cache(maxsize=1)
def cjk_fonts() -> tuple[str, ...]:
    """Installed CJK-capable font families, in order of preference."""
    installed = {font.name for font in font_manager.fontManager.ttflist}
    return tuple(name for name in _CJK_FONTS if name in installed)


def with_fonts(plot):
    """Build the figure with installed CJK fonts as fallback after the default family."""

    @functools.wraps(plot)
    def wrapper(*args, **kwargs):
        fallback = cjk_fonts()
        if not fallback:
            return plot(*args, **kwargs)
        families = [*matplotlib.rcParams["font.family"], *fallback]
        with matplotlib.rc_context({"font.family": families}):
            return plot(*args, **kwargs)

    return wrapper


def new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


@with_fonts
def plot_confusion_matrix(cm, labels) -> Figure:
    """Heat map of the row-normalised confusion matrix, annotated with counts and row %."""
    cm = np.asarray(cm, dtype=np.int64)
    labels = [str(label) for label in labels]
    k = len(labels)
    if cm.shape != (k, k):
        raise DataError(Errors.E235, shape=cm.shape, k=k)
    totals = cm.sum(axis=1, keepdims=True)
    rates = np.divide(cm, totals, out=np.zeros(cm.shape, dtype=float), where=totals > 0)
    size = min(2.2 + 0.9 * k, 14.0)
    fig = new_figure(size + 1.2, size)
    ax = fig.add_subplot()
    image = ax.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of true class")
    font = max(6, 11 - k // 3)
    for i in range(k):
        for j in range(k):
            color = "white" if rates[i, j] > 0.55 else "black"
            ax.text(j, i, f"{cm[i, j]}\n{100 * rates[i, j]:.1f}%", ha="center", va="center", color=color, fontsize=font)
    ax.set_xticks(range(k), labels, rotation=45 if k > 4 else 0, ha="right" if k > 4 else "center")
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix (counts and row %)")
    return fig


def _numeric(entry: dict, key: str) -> float | None:
    value = entry.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


@with_fonts
def plot_training_curves(history: list[dict] | None) -> Figure | None:
    """Train/eval loss (left) and eval accuracy / macro-F1 (right) against step.

    ``history`` is a Trainer ``state.log_history``; returns None when it holds nothing
    to plot. Entries without ``step`` use their position in the list.
    """
    if not history:
        return None
    series: dict[str, tuple[list[float], list[float]]] = {
        key: ([], []) for key in ("loss", "eval_loss", "eval_accuracy", "eval_macro_f1")
    }
    for position, entry in enumerate(history):
        if not isinstance(entry, dict):
            continue
        step = _numeric(entry, "step")
        step = float(position) if step is None else step
        for key, (xs, ys) in series.items():
            value = _numeric(entry, key)
            if value is not None:
                xs.append(step)
                ys.append(value)
    if not any(xs for xs, _ in series.values()):
        logger.info("training history has no loss or eval metrics to plot")
        return None
    fig = new_figure(11, 4)
    left, right = fig.subplots(1, 2)
    for key, name, color in (("loss", "train loss", _BLUE), ("eval_loss", "eval loss", _ORANGE)):
        xs, ys = series[key]
        if xs:
            left.plot(xs, ys, marker="o" if len(xs) < 30 else None, ms=3, label=name, color=color)
    left.set(title="Loss", xlabel="step", ylabel="loss")
    for key, name, color in (("eval_accuracy", "accuracy", _BLUE), ("eval_macro_f1", "macro-F1", _ORANGE)):
        xs, ys = series[key]
        if xs:
            right.plot(xs, ys, marker="o", ms=3, label=name, color=color)
    right.set(title="Evaluation metrics", xlabel="step", ylabel="score")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        if ax.has_data():
            ax.legend()
        else:
            ax.text(0.5, 0.5, "not logged", ha="center", va="center", transform=ax.transAxes, color=_GREY)
    return fig


@with_fonts
def plot_confidence_histogram(y_true, proba) -> Figure:
    """Stacked histogram of the max probability, split into correct and wrong predictions."""
    y, p = check_inputs(y_true, proba)
    conf = p.max(axis=1)
    correct = p.argmax(axis=1) == y
    lower = min(1.0 / p.shape[1], float(conf.min()))  # the max probability is >= 1/K
    bins = np.linspace(lower, 1.0, 21)
    fig = new_figure(7, 4)
    ax = fig.add_subplot()
    ax.hist(
        [conf[correct], conf[~correct]],
        bins=bins,
        stacked=True,
        color=[_BLUE, _ORANGE],
        label=[f"correct ({int(correct.sum())})", f"wrong ({int((~correct).sum())})"],
    )
    ax.set(title="Confidence of predictions", xlabel="max predicted probability", ylabel="examples")
    ax.legend()
    ax.grid(alpha=0.3, axis="y")
    return fig


@with_fonts
def plot_accuracy_by_length(y_true, proba, lengths, unit: str = "words") -> Figure:
    """Accuracy per length quantile bucket, each bar annotated with its example count."""
    y, p = check_inputs(y_true, proba)
    pred = p.argmax(axis=1)
    buckets = length_buckets(lengths, y, pred)
    fig = new_figure(7, 4)
    ax = fig.add_subplot()
    xs = np.arange(len(buckets))
    bars = ax.bar(xs, [b["accuracy"] for b in buckets], color=_BLUE, width=0.7)
    for bar, bucket in zip(bars, buckets):
        ax.annotate(
            f"n={bucket['n']}",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            fontsize=8,
            zorder=4,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
        )
    overall = float(np.mean(pred == y))
    ax.axhline(overall, color=_ORANGE, linestyle="--", label=f"overall {overall:.3f}")
    ax.set_xticks(xs, [b["bucket"] for b in buckets])
    ax.set(title="Accuracy by text length", xlabel=f"length ({unit})", ylabel="accuracy", ylim=(0, 1.1))
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3, axis="y")
    return fig


@with_fonts
def plot_reliability_diagram(y_true, proba, n_bins: int = 15) -> Figure:
    """Accuracy against mean confidence per confidence bin, with the diagonal for reference."""
    bins = reliability_bins(y_true, proba, n_bins)
    ece = expected_calibration_error(y_true, proba, n_bins)
    edges, count = bins["edges"], bins["count"]
    mask = count > 0
    centers = (edges[:-1] + edges[1:]) / 2
    width = edges[1] - edges[0]
    fig = new_figure(6, 6.5)
    top, bottom = fig.subplots(2, 1, height_ratios=[3, 1], sharex=True)
    top.plot([0, 1], [0, 1], linestyle="--", color=_GREY, label="perfect calibration")
    top.bar(centers[mask], bins["accuracy"][mask], width=width * 0.95, color=_BLUE, edgecolor="white", label="accuracy")
    gap = bins["confidence"][mask] - bins["accuracy"][mask]
    top.bar(
        centers[mask],
        gap,
        bottom=bins["accuracy"][mask],
        width=width * 0.95,
        color=_ORANGE,
        alpha=0.35,
        edgecolor=_ORANGE,
        hatch="//",
        label="gap to mean confidence",
    )
    top.set(title=f"Reliability diagram (ECE = {ece:.4f})", ylabel="accuracy", xlim=(0, 1), ylim=(0, 1.02))
    top.legend(loc="upper left")
    top.grid(alpha=0.3)
    bottom.bar(centers, count, width=width * 0.95, color=_GREY)
    bottom.set(xlabel="confidence (max predicted probability)", ylabel="examples")
    bottom.grid(alpha=0.3, axis="y")
    return fig


def png_base64(fig) -> str:
    """Render a figure to base64 PNG (no metadata) and release it."""
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    finally:
        fig.clear()
    missing = [w for w in caught if "missing from font" in str(w.message)]
    if missing:
        logger.warning(
            "%d glyph(s) missing from the plot fonts (e.g. %s); install a CJK font "
            "such as Noto Sans CJK to render them",
            len(missing),
            missing[0].message,
        )
    for w in caught:
        if w not in missing:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
