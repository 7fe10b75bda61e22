"""HTML pages: the evaluation report, plus the pieces the comparison and drift pages share (CSS, fmt, context_table).

One file per page, inline CSS, base64 images, no links.
"""

from __future__ import annotations

import json
from html import escape

MAX_TEXT_CHARS = 400

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC",sans-serif;
margin:0;background:#f6f7f9;color:#1d2330;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:24px 28px 48px;background:#fff;min-height:100vh}
h1{font-size:1.7em;margin:0 0 4px}
h3{font-size:1em;margin:18px 0 6px}
h2{font-size:1.2em;margin:32px 0 10px;padding-bottom:4px;border-bottom:2px solid #e3e6ec}
.muted{color:#6b7280;font-size:.9em}
table{border-collapse:collapse;margin:8px 0;font-size:.92em}
th,td{border:1px solid #e3e6ec;padding:5px 10px;text-align:left;vertical-align:top}
th{background:#f1f3f7;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.avg td{background:#fafbfc;font-style:italic}
table.kv th{width:1%;white-space:nowrap}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0}
.card{border:1px solid #e3e6ec;border-radius:8px;padding:10px 16px;min-width:120px;background:#fafbfc}
.card .v{font-size:1.5em;font-weight:600;font-variant-numeric:tabular-nums}
.card .k{color:#6b7280;font-size:.85em}
img{max-width:100%;height:auto;display:block;margin:8px 0}
td.text{max-width:620px;white-space:pre-wrap;word-break:break-word}
details summary{cursor:pointer;color:#374151}
.row{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.row figure{margin:0;flex:1 1 420px}
figcaption{color:#6b7280;font-size:.9em}
td.neg{color:#b91c1c}
td.pos{color:#15803d}
tr.few td{color:#9ca3af}
"""


def fmt(value, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return escape(str(value))


def _truncate(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def _image(images: dict, name: str, alt: str) -> str:
    if name not in images:
        return ""
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{images[name]}">'


def context_table(context: dict) -> str:
    if not context:
        return ""
    rows = []
    for key, value in context.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        rows.append(f"<tr><th>{escape(str(key))}</th><td>{escape(shown)}</td></tr>")
    return f'<table class="kv">{"".join(rows)}</table>'


def _headline(metrics: dict) -> str:
    items = [
        ("Accuracy", fmt(metrics["accuracy"])),
        ("Macro-F1", fmt(metrics["macro_f1"])),
        ("ROC-AUC", fmt(metrics["roc_auc"])),
        ("Log-loss", fmt(metrics["log_loss"])),
        ("ECE", fmt(metrics["ece"])),
        ("n", fmt(metrics["n"])),
        ("Majority prediction share", fmt(metrics["majority_prediction_share"], 3)),
    ]
    cards = "".join(f'<div class="card"><div class="v">{v}</div><div class="k">{k}</div></div>' for k, v in items)
    rows = "".join(f'<tr><th>{k}</th><td class="num">{v}</td></tr>' for k, v in items)
    return (
        f'<div class="cards">{cards}</div><details><summary>as a table</summary>'
        f'<table class="kv headline">{rows}</table></details>'
    )


def _per_class(metrics: dict, labels: list[str]) -> str:
    head = "<tr><th>label</th><th>precision</th><th>recall</th><th>F1</th><th>support</th><th>predicted share</th></tr>"
    rows = []
    for label in labels:
        c = metrics["per_class"][label]
        rows.append(
            f'<tr><td>{escape(label)}</td><td class="num">{fmt(c["precision"])}</td>'
            f'<td class="num">{fmt(c["recall"])}</td><td class="num">{fmt(c["f1"])}</td>'
            f'<td class="num">{c["support"]}</td>'
            f'<td class="num">{fmt(metrics["predicted_share"][label], 3)}</td></tr>'
        )
    for kind in ("macro", "weighted"):
        rows.append(
            f'<tr class="avg"><td>{kind} avg</td>'
            f'<td class="num">{fmt(metrics[kind + "_precision"])}</td>'
            f'<td class="num">{fmt(metrics[kind + "_recall"])}</td>'
            f'<td class="num">{fmt(metrics[kind + "_f1"])}</td>'
            f'<td class="num">{metrics["n"]}</td><td></td></tr>'
        )
    return f'<table class="per-class">{head}{"".join(rows)}</table>'


def _confusion_table(cm: list[list[int]], labels: list[str]) -> str:
    head = "<tr><th>true \\ predicted</th>" + "".join(f"<th>{escape(name)}</th>" for name in labels) + "</tr>"
    rows = "".join(
        f"<tr><th>{escape(label)}</th>" + "".join(f'<td class="num">{v}</td>' for v in row) + "</tr>"
        for label, row in zip(labels, cm)
    )
    return f"<details><summary>as a table</summary><table>{head}{rows}</table></details>"


def _buckets_table(buckets: list[dict], unit: str) -> str:
    rows = "".join(
        f'<tr><td>{escape(b["bucket"])}</td><td class="num">{b["n"]}</td><td class="num">{fmt(b["accuracy"])}</td></tr>'
        for b in buckets
    )
    return (
        f"<details><summary>as a table</summary><table><tr><th>length ({escape(unit)})</th>"
        f"<th>n</th><th>accuracy</th></tr>{rows}</table></details>"
    )


def _errors_table(errors: list[dict]) -> str:
    if not errors:
        return '<p class="muted">No misclassified examples.</p>'
    rows = "".join(
        f'<tr><td class="num">{e["index"]}</td><td class="text">{escape(_truncate(e["text"]))}</td>'
        f"<td>{escape(e['true'])}</td><td>{escape(e['predicted'])}</td>"
        f'<td class="num">{fmt(e["confidence"], 3)}</td></tr>'
        for e in errors
    )
    return (
        '<table class="errors"><tr><th>#</th><th>text</th><th>true</th><th>predicted</th>'
        f"<th>confidence</th></tr>{rows}</table>"
    )


def _calibration(calibration: dict | None, images: dict) -> str:
    if not calibration:
        return (
            '<p class="muted">No temperature scaling for this model (trained without a validation split '
            "or with evaluation.calibrate off).</p>" + _image(images, "reliability_diagram", "reliability diagram")
        )
    before, after = calibration["before"], calibration["after"]
    rows = "".join(
        f'<tr><th>{name}</th><td class="num">{fmt(before[key])}</td><td class="num">{fmt(after[key])}</td></tr>'
        for name, key in (("ECE", "ece"), ("log-loss", "log_loss"), ("mean confidence", "mean_confidence"))
    )
    table = (
        f'<table class="calibration"><tr><th></th><th>before</th><th>after (T = {fmt(calibration["temperature"], 3)})'
        f"</th></tr>{rows}</table>"
    )
    figures = (
        f'<div class="row"><figure>{_image(images, "reliability_before", "reliability before scaling")}'
        f"<figcaption>before temperature scaling</figcaption></figure>"
        f"<figure>{_image(images, 'reliability_diagram', 'reliability after scaling')}"
        f"<figcaption>after temperature scaling (what the model now returns)</figcaption></figure></div>"
    )
    note = (
        '<p class="muted">Temperature scaling divides the log-probabilities by T, fitted on the validation '
        "split; T &gt; 1 softens an over-confident model. It never changes the predicted class.</p>"
    )
    return table + note + figures


def _slices(slices: list[dict] | None) -> str:
    if not slices:
        return ""
    rows = []
    for r in slices:
        delta = r["delta_accuracy"]
        cls = "" if delta is None or abs(delta) < 0.005 else (" neg" if delta < 0 else " pos")
        few = "" if r["reliable"] else ' class="few"'
        rows.append(
            f'<tr{few}><td>{escape(r["slice"])}</td><td class="num">{r["n"]}</td>'
            f'<td class="num">{fmt(r["share"], 3)}</td><td class="num">{fmt(r["accuracy"])}</td>'
            f'<td class="num{cls}">{"" if delta is None else f"{delta:+.4f}"}</td>'
            f'<td class="num">{fmt(r["macro_f1"])}</td><td class="num">{fmt(r["ece"])}</td></tr>'
        )
    return (
        '<table class="slices"><tr><th>slice</th><th>n</th><th>share</th><th>accuracy</th>'
        "<th>vs all</th><th>macro-F1</th><th>ECE</th></tr>" + "".join(rows) + "</table>"
        '<p class="muted">Slices overlap. Grey rows hold fewer than 30 examples: their figures are noisy. '
        "Macro-F1 averages the classes present in the slice.</p>"
    )


def _important_words(important: dict | None, labels: list[str]) -> str:
    if not important:
        return ""
    columns = []
    for label in labels:
        words = important["classes"].get(label, [])
        rows = "".join(
            f'<tr><td>{escape(w["word"])}</td><td class="num">{w["weight"]:.3g}</td>'
            f'<td class="num">{"" if w.get("count") is None else w["count"]}</td></tr>'
            for w in words
        )
        body = (
            f'<table class="words"><tr><th>word</th><th>weight</th><th>texts</th></tr>{rows}</table>'
            if words
            else '<p class="muted">no word pushes towards this class in the sample</p>'
        )
        columns.append(f"<figure><figcaption>towards <b>{escape(label)}</b></figcaption>{body}</figure>")
    return (
        f'<p class="muted">Method: {escape(important["method"])}; from {escape(important["source"])}.</p>'
        f'<div class="row">{"".join(columns)}</div>'
    )


def _extremes(row: dict) -> str:
    # With (almost) no spread, which group is "lowest" is noise: say so instead.
    return "all alike" if row["spread"] < 1e-4 else f"{escape(row['lowest'])} / {escape(row['highest'])}"


def _fairness(fairness: dict | None) -> str:
    if not fairness:
        return ""
    parts = [
        f"<p>Largest spread of group means of {escape(fairness['score'])}: "
        f"<b>{fmt(fairness['spread'])}</b> (0 = every group scored alike).</p>"
    ]
    for item in fairness["sets"]:
        groups = "".join(
            f'<tr><td>{escape(g)}</td><td class="num">{fmt(m)}</td></tr>'
            for g, m in sorted(item["group_means"].items(), key=lambda kv: kv[1])
        )
        worst = "".join(
            f'<tr><td>{escape(t["template"])}</td><td class="num">{fmt(t["spread"])}</td>'
            f"<td>{_extremes(t)}</td><td>{'yes' if t['label_flips'] else ''}</td></tr>"
            for t in item["templates"][:5]
        )
        parts.append(
            f"<h3>{escape(item['name'])}: spread {fmt(item['spread'])}, {item['sentences']} sentences, "
            f"{item['templates_with_label_flips']} of {len(item['templates'])} templates flip the label</h3>"
            f'<div class="row"><figure><table><tr><th>group</th><th>mean {escape(fairness["score"])}</th></tr>{groups}'
            f"</table></figure><figure><table><tr><th>template (largest spreads)</th><th>spread</th>"
            f"<th>lowest / highest</th><th>label flips</th></tr>{worst}</table></figure></div>"
        )
    return "".join(parts)


def _behaviour_table(cases: list[dict]) -> str:
    passed = sum(c["passed"] for c in cases)
    ordered = sorted(cases, key=lambda c: c["passed"])  # failures first
    rows = "".join(
        f"<tr><td>{'pass' if c['passed'] else '<strong>FAIL</strong>'}</td>"
        f'<td class="text">{escape(_truncate(c["text"]))}</td><td>{escape(c["expected"])}</td>'
        f'<td>{escape(c["predicted"])}</td><td class="num">{fmt(c["confidence"], 3)}</td></tr>'
        for c in ordered
    )
    from sentiq.evaluation.behaviour import capability_summary

    summary = capability_summary(cases)
    per_capability = (
        ""
        if set(summary) == {""}
        else (
            "<table><tr><th>capability</th><th>passed</th><th>pass rate</th></tr>"
            + "".join(
                f'<tr><td>{escape(name)}</td><td class="num">{row["passed"]}/{row["total"]}</td>'
                f'<td class="num">{100 * row["pass_rate"]:.1f}%</td></tr>'
                for name, row in summary.items()
            )
            + "</table>"
        )
    )
    return (
        f'<p>{passed} of {len(cases)} sentences pass.</p>{per_capability}<table class="errors"><tr><th>result</th>'
        f"<th>text</th><th>expected</th><th>predicted</th><th>confidence</th></tr>{rows}</table>"
    )


def render_html(
    *,
    title: str,
    context: dict,
    metrics: dict,
    labels: list[str],
    images: dict,
    buckets: list[dict],
    errors: list[dict],
    length_unit: str,
    generated: str,
    calibration: dict | None = None,
    slices: list[dict] | None = None,
    fairness: dict | None = None,
    important_words: dict | None = None,
    behaviour: list[dict] | None = None,
) -> str:
    """The complete report page as a string."""
    sections = [
        f'<h1>{escape(title)}</h1><p class="muted">generated {escape(generated)}</p>',
        context_table(context),
    ]
    if behaviour is not None:
        sections += ["<h2>Behaviour tests</h2>", _behaviour_table(behaviour)]
    sections += [
        "<h2>Headline metrics</h2>",
        _headline(metrics),
        "<h2>Per-class metrics</h2>",
        _per_class(metrics, labels),
        "<h2>Confusion matrix</h2>",
        _image(images, "confusion_matrix", "confusion matrix"),
        _confusion_table(metrics["confusion_matrix"], labels),
    ]
    if "training_curves" in images:
        sections += ["<h2>Training curves</h2>", _image(images, "training_curves", "training curves")]
    sections += [
        "<h2>Confidence</h2>",
        _image(images, "confidence_histogram", "confidence histogram"),
        "<h2>Calibration</h2>",
        _calibration(calibration, images),
        "<h2>Accuracy by length</h2>",
        _image(images, "accuracy_by_length", "accuracy by length"),
        _buckets_table(buckets, length_unit),
        "<h2>Slices</h2>" if slices else "",
        _slices(slices),
        "<h2>Important words</h2>" if important_words else "",
        _important_words(important_words, labels),
        "<h2>Fairness (template check)</h2>" if fairness else "",
        _fairness(fairness),
        f"<h2>Most confident errors (top {len(errors)})</h2>",
        _errors_table(errors),
    ]
    body = "\n".join(s for s in sections if s)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>\n"
        f"<body><main>\n{body}\n</main></body></html>\n"
    )
