"""``drift.json`` and a self-contained ``drift.html`` (same look as the evaluation report)."""

from __future__ import annotations

import json
from collections import Counter
from html import escape
from pathlib import Path

import numpy as np

from sentiq.atomic import atomic_directory, atomic_write_text
from sentiq.errors import ConfigError, Errors
from sentiq.evaluation.html import CSS, context_table, fmt
from sentiq.evaluation.plots import new_figure, png_base64, with_fonts
from sentiq.evaluation.report import jsonable

DRIFT_FILES = frozenset({"drift.json", "drift.html"})
_COLOURS = {"ok": "#1a7f37", "warn": "#b26b00", "drift": "#c62828", "skipped": "#6b7280"}


@with_fonts
def plot_distributions(reference, current):
    """Length and confidence histograms, language and label bars: reference vs current."""
    panels = [
        ("text length (chars)", reference.lengths, current.lengths, "hist"),
        ("language", reference.languages, current.languages, "bar"),
    ]
    if reference.labels is not None and current.labels is not None:
        panels.append(("label", reference.labels, current.labels, "bar"))
    if reference.scores is not None and current.scores is not None:
        panels.append(("confidence", reference.scores, current.scores, "hist"))
    fig = new_figure(3.6 * len(panels), 3.2)
    for ax, (title, ref, cur, kind) in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels):
        if kind == "hist":
            ref, cur = np.asarray(ref, float), np.asarray(cur, float)
            top = np.quantile(np.r_[ref, cur], 0.99)
            bins = np.linspace(min(ref.min(), cur.min()), top if top > 0 else 1.0, 30)
            ax.hist(np.clip(ref, None, bins[-1]), bins=bins, density=True, alpha=0.55, label="reference")
            ax.hist(np.clip(cur, None, bins[-1]), bins=bins, density=True, alpha=0.55, label="current")
        else:
            r, c = Counter(map(str, ref)), Counter(map(str, cur))
            names = sorted(r.keys() | c.keys())
            x = np.arange(len(names))
            ax.bar(x - 0.2, [r[n] / len(ref) for n in names], width=0.4, label="reference")
            ax.bar(x + 0.2, [c[n] / len(cur) for n in names], width=0.4, label="current")
            ax.set_xticks(list(x), names, rotation=30 if len(names) > 3 else 0)
        ax.set_title(title)
        ax.legend(fontsize=8)
    return fig


def _checks_table(checks) -> str:
    head = (
        "<tr><th>check</th><th>status</th><th>test</th><th>statistic</th><th>p-value</th>"
        "<th>PSI</th><th>AUC</th><th>reference</th><th>current</th><th>note</th></tr>"
    )
    rows = []
    for c in checks:
        colour = _COLOURS.get(c.status, "#1d2330")
        rows.append(
            f'<tr><td>{escape(c.name)}</td><td style="color:{colour};font-weight:600">{escape(c.status)}</td>'
            f'<td>{escape(c.test)}</td><td class="num">{fmt(c.statistic)}</td>'
            f'<td class="num">{_p(c.p_value)}</td><td class="num">{fmt(c.psi)}</td>'
            f'<td class="num">{fmt(c.auc)}</td><td>{_summary(c.reference)}</td><td>{_summary(c.current)}</td>'
            f"<td>{escape(c.note)}</td></tr>"
        )
    return f'<table class="checks">{head}{"".join(rows)}</table>'


def _p(value) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _summary(values: dict) -> str:
    return escape(", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in values.items()))


def render_drift_html(result) -> str:
    status = result.status
    title = f"Drift: {Path(result.current.source).name} vs {Path(result.reference.source).name}"
    context = {
        "reference": result.reference.summary(),
        "current": result.current.summary(),
        "model": result.model or "-",
        "thresholds": jsonable(result.to_dict()["thresholds"]),
    }
    chart = png_base64(plot_distributions(result.reference, result.current))
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body><main><h1>{escape(title)}</h1>"
        f'<p class="muted">generated {escape(result.generated)}</p>'
        f'<div class="cards"><div class="card"><div class="v" style="color:{_COLOURS.get(status)}">'
        f'{escape(status)}</div><div class="k">overall</div></div></div>{context_table(context)}'
        f"<h2>Checks</h2>{_checks_table(result.checks)}"
        '<p class="muted">A check flags drift when its test rejects equal distributions (p &lt; alpha) and '
        "the effect is large (PSI or embedding AUC at or above the drift threshold).</p>"
        f'<h2>Distributions</h2><img alt="distributions" src="data:image/png;base64,{chart}">'
        "</main></body></html>\n"
    )


def write_drift_report(out_dir: Path, result) -> None:
    """Write ``drift.json`` and ``drift.html``; the directory appears complete or not at all."""
    out_dir = Path(out_dir)
    if out_dir.exists():
        if not out_dir.is_dir():
            raise ConfigError(Errors.E130, out_dir=out_dir)
        foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in DRIFT_FILES)
        if foreign:
            raise ConfigError(Errors.E131, out_dir=out_dir, foreign=", ".join(foreign[:5]))
    with atomic_directory(out_dir, overwrite=True) as tmp:
        atomic_write_text(tmp / "drift.json", json.dumps(jsonable(result.to_dict()), indent=2, ensure_ascii=False))
        atomic_write_text(tmp / "drift.html", render_drift_html(result))
