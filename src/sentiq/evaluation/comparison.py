"""The `sentiq compare` page: one table and two charts over several approaches."""

from __future__ import annotations

import datetime as _dt
import json
from html import escape
from pathlib import Path

from sentiq.atomic import atomic_write_text
from sentiq.evaluation.html import CSS, context_table, fmt
from sentiq.evaluation.plots import new_figure, png_base64
from sentiq.evaluation.report import jsonable

COLUMNS = ("approach", "accuracy", "macro_f1", "roc_auc", "train_seconds", "predict_texts_per_s")


def plot_comparison(rows: list[dict]):
    fig = new_figure(11, 3.6)
    left, right = fig.subplots(1, 2)
    names = [r["approach"] for r in rows]
    x = range(len(rows))
    for offset, key in ((-0.2, "accuracy"), (0.2, "macro_f1")):
        left.bar([i + offset for i in x], [r.get(key) or 0 for r in rows], width=0.4, label=key)
    left.set_xticks(list(x), names)
    low = min((r.get("accuracy") or 0) for r in rows)
    left.set_ylim(max(0.0, low - 0.1), 1.0)
    left.set_title("Quality on the test split")
    left.legend(loc="lower right")
    right.bar(list(x), [r["predict_texts_per_s"] for r in rows], color="#4b8bbe")
    right.set_xticks(list(x), names)
    right.set_yscale("log")
    right.set_title("Prediction speed (texts/s, log scale)")
    return fig


def _paired_table(rows: list[dict], reference: str) -> str:
    """Each approach against the most accurate one on the same test rows (``significance.against_reference``)."""

    def cell(r: dict) -> str:
        if r.get("vs_best_diff") is None:
            return "<td>reference</td><td></td><td></td><td></td>"
        return (
            f'<td class="num">{100 * r["vs_best_diff"]:+.2f}</td>'
            f'<td class="num">[{100 * r["vs_best_ci_low"]:+.2f}, {100 * r["vs_best_ci_high"]:+.2f}]</td>'
            f'<td class="num">{r["bootstrap_p"]:.3g}</td><td class="num">{r["mcnemar_p"]:.3g}</td>'
        )

    body = "".join(f"<tr><td>{escape(r['approach'])}</td>{cell(r)}</tr>" for r in rows)
    return (
        f"<h2>Paired tests against {escape(reference)}</h2><table><tr><th>approach</th>"
        "<th>accuracy difference (points)</th><th>95% paired bootstrap interval</th><th>bootstrap p</th>"
        f"<th>McNemar p</th></tr>{body}</table>"
        '<p class="muted">Same test rows for every approach. An interval that contains 0 (or p &ge; 0.05) '
        "means the gap may be chance.</p>"
    )


def write_comparison(
    out_dir: Path, rows: list[dict], *, title: str, context: dict, reference: str | None = None
) -> None:
    """Write ``comparison.json`` and ``comparison.html`` into an existing directory; with ``reference`` (rows then
    hold ``vs_best_*`` and p-value keys) the page adds the paired tests against it."""
    out_dir = Path(out_dir)
    atomic_write_text(
        out_dir / "comparison.json",
        json.dumps(jsonable({"title": title, "context": context, "reference": reference, "rows": rows}), indent=2),
    )
    header = "".join(f"<th>{escape(c)}</th>" for c in COLUMNS)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{fmt(r.get(c), 4 if c in ("accuracy", "macro_f1", "roc_auc") else 1)}</td>'
            if c != "approach"
            else f"<td>{escape(r[c])}</td>"
            for c in COLUMNS
        )
        + "</tr>"
        for r in rows
    )
    chart = png_base64(plot_comparison(rows))
    generated = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    html = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body><main><h1>{escape(title)}</h1>"
        f'<p class="muted">generated {generated}</p>{context_table(context)}'
        f"<h2>Approaches on the same split</h2><table><tr>{header}</tr>{body}</table>"
        f'<img alt="comparison" src="data:image/png;base64,{chart}">'
        f"{_paired_table(rows, reference) if reference else ''}"
        '<p class="muted">Each approach has its own full report under models/&lt;approach&gt;/report/.</p>'
        "</main></body></html>\n"
    )
    atomic_write_text(out_dir / "comparison.html", html)
