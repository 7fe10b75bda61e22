"""Template-based fairness check: one sentence, different names or groups, same sentiment?

Each template is filled with every member of every group; the model scores each sentence
(the probability of the positive class). A fair model gives every group the same mean
score; the *spread* is the largest difference between two groups' means. Per template, the
spread and whether the predicted label flips between fillers point at the sentences that
expose a bias. Shipped template sets: ``en`` and ``zh`` (``fairness_templates/*.json``);
pass your own as a dict or JSON file of the same shape.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from sentiq.errors import ConfigError, DataError, Errors

log = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).with_name("fairness_templates")  # package data
POSITIVE_NAMES = ("positive", "pos", "积极", "正面")


def shipped_languages() -> list[str]:
    return sorted(p.stem for p in TEMPLATE_DIR.glob("*.json"))


def load_templates(source: str | Path | Mapping | None = None, *, language: str = "en") -> dict:
    """A template set: a mapping as is, a JSON file, or the shipped set for ``language``."""
    if isinstance(source, Mapping):
        data = dict(source)
    elif source is not None:
        path = Path(source)
        if not path.is_file():
            raise ConfigError(Errors.E121, path=path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(Errors.E122, path=path, detail=exc) from None
    else:
        if language not in shipped_languages():
            raise ConfigError(Errors.E123, language=language, languages=shipped_languages())
        data = json.loads((TEMPLATE_DIR / f"{language}.json").read_text(encoding="utf-8"))
    _validate(data)
    return data


def _validate(data: Mapping) -> None:
    sets = data.get("sets")
    if not isinstance(sets, list) or not sets:
        raise ConfigError(Errors.E124)
    for i, item in enumerate(sets):
        name = item.get("name", f"set #{i}")
        placeholder, groups, templates = item.get("placeholder"), item.get("groups"), item.get("templates")
        if not isinstance(placeholder, str) or not placeholder:
            raise ConfigError(Errors.E125, name=name)
        if (
            not isinstance(groups, dict)
            or len(groups) < 2
            or not all(isinstance(v, list) and v for v in groups.values())
        ):
            raise ConfigError(Errors.E126, name=name)
        if not isinstance(templates, list) or not templates:
            raise ConfigError(Errors.E127, name=name)
        missing = [t for t in templates if placeholder not in t]
        if missing:
            raise ConfigError(Errors.E128, name=name, missing=missing[0], placeholder=placeholder)


def positive_column(labels: Sequence[str]) -> int:
    """The column scored: a label named positive (or 积极/正面), else the last label."""
    lowered = [str(label).lower() for label in labels]
    for name in POSITIVE_NAMES:
        if name in lowered:
            return lowered.index(name)
    return len(labels) - 1


def _check_set(item: Mapping, predict_proba: Callable, column: int) -> dict:
    placeholder, groups, templates = item["placeholder"], item["groups"], item["templates"]
    cells = [(t, g, f) for t in templates for g, fillers in groups.items() for f in fillers]
    proba = np.asarray(predict_proba([t.replace(placeholder, f) for t, _, f in cells]))
    if proba.ndim != 2 or len(proba) != len(cells) or proba.shape[1] <= column:
        raise DataError(Errors.E221, shape=proba.shape, n_sentences=len(cells))
    scores = proba[:, column]
    predicted = proba.argmax(axis=1)
    by_group = {g: float(np.mean([s for (_, cg, _), s in zip(cells, scores) if cg == g])) for g in groups}
    rows = []
    for template in templates:
        idx = [i for i, (t, _, _) in enumerate(cells) if t == template]
        means = {g: float(np.mean([scores[i] for i in idx if cells[i][1] == g])) for g in groups}
        rows.append(
            {
                "template": template,
                "spread": max(means.values()) - min(means.values()),
                "label_flips": bool(len(set(predicted[idx].tolist())) > 1),
                "lowest": min(means, key=means.get),
                "highest": max(means, key=means.get),
                "group_means": means,
            }
        )
    rows.sort(key=lambda r: -r["spread"])
    return {
        "name": item.get("name", placeholder),
        "placeholder": placeholder,
        "sentences": len(cells),
        "group_means": by_group,
        "spread": max(by_group.values()) - min(by_group.values()),
        "lowest": min(by_group, key=by_group.get),
        "highest": max(by_group, key=by_group.get),
        "templates_with_label_flips": sum(r["label_flips"] for r in rows),
        "templates": rows,
    }


def template_fairness_check(
    predict_proba: Callable[[list[str]], np.ndarray],
    labels: Sequence[str],
    *,
    templates: str | Path | Mapping | None = None,
    language: str = "en",
) -> dict:
    """Score every filled template; return the spread of mean scores across groups per set.

    ``predict_proba`` takes a list of texts and returns probabilities whose columns follow
    ``labels``. The result's ``spread`` is the largest spread of any set (0 = every group
    scored alike on average); ``score`` names the class whose probability is compared.
    """
    data = load_templates(templates, language=language)
    column = positive_column(labels)
    sets = [_check_set(item, predict_proba, column) for item in data["sets"]]
    result = {
        "language": data.get("language", language),
        "score": f"P({labels[column]})",
        "spread": max(s["spread"] for s in sets),
        "sets": sets,
    }
    log.info("fairness check: largest spread of group mean %s is %.4f", result["score"], result["spread"])
    return result
