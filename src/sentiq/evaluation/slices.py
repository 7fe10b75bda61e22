"""Metrics broken down by slices of the data: length, negation, contrast, emoji, questions, caps,
plus slices the user defines (a regex over the text or a boolean-ish column of the data).

A slice is a boolean mask over the evaluated rows; slices may overlap. Each slice gets
the same metrics as the whole set, computed on its rows only, so a weak spot (sarcasm
in questions, negated reviews) shows up as a row well below the overall accuracy.
"""

from __future__ import annotations

import re
from typing import Mapping, Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from sentiq.errors import ConfigError, DataError, Errors
from sentiq.evaluation.buckets import length_buckets, text_lengths
from sentiq.evaluation.metrics import check_inputs, expected_calibration_error

# English words are matched on word boundaries; Chinese markers anywhere (no spaces to split on).
_NEGATION = re.compile(r"\b(?:not|no|never|nothing|nobody|nor|neither|cannot|without)\b|n't|[不没別别]|沒", re.I)
_CONTRAST = re.compile(r"\b(?:but|however|although|though|yet|whereas|nevertheless)\b|但是|可是|不过|然而|却", re.I)
# Western emoticons with eyes first (":)", ";-P", "=D"), "xD" and "<3"; not "8)" (a rating) or "do:".
_EMOTICON = re.compile(r"(?:^|(?<=\s))(?:[:;=][-o^']?[)(\]\[dDpP/\\|*3]|[xX]D|<3)(?=\s|$|[.,!?])")
_QUESTION = re.compile(r"[?？]")
_CAPS_WORD = re.compile(r"\b[A-Z]{2,}\b")
_WORD = re.compile(r"\b[A-Za-z]{2,}\b")

# Below this many rows a slice's metrics are shown but flagged as noisy.
MIN_RELIABLE = 30


def _has_emoji(text: str) -> bool:
    import emoji

    return emoji.emoji_count(text) > 0 or bool(_EMOTICON.search(text))


def _all_caps(text: str) -> bool:
    """Shouting: at least three letters-only words and most of them in capitals."""
    words = _WORD.findall(text)
    return len(words) >= 3 and len(_CAPS_WORD.findall(text)) / len(words) >= 0.6


BUILT_IN = {
    "negation": lambda t: bool(_NEGATION.search(t)),
    "contrast": lambda t: bool(_CONTRAST.search(t)),
    "emoji or emoticon": _has_emoji,
    "question": lambda t: bool(_QUESTION.search(t)),
    "all caps": _all_caps,
}


def _truthy(values) -> np.ndarray:
    """A column as a mask: booleans, 0/1, or strings such as yes/true/1."""
    out = []
    for value in values:
        if isinstance(value, str):
            out.append(value.strip().lower() in {"1", "true", "yes", "y", "t"})
        else:
            try:
                out.append(bool(value) and value == value)  # NaN is not a member
            except (TypeError, ValueError):
                out.append(False)
    return np.asarray(out, dtype=bool)


def slice_masks(
    texts: Sequence[str],
    *,
    length_unit: str = "words",
    regexes: Mapping[str, str] | None = None,
    columns: Mapping[str, Sequence] | None = None,
    lengths: bool = True,
) -> dict[str, np.ndarray]:
    """Name -> boolean mask for the built-in slices, length buckets and user slices.

    ``regexes`` maps a slice name to a regular expression searched in each text
    (case-insensitive); ``columns`` maps a slice name to a column of values (true, 1, yes
    are members). For a categorical column, pass one mask per value yourself.
    """
    texts = [str(t) for t in texts]
    masks = {
        name: np.fromiter((test(t) for t in texts), dtype=bool, count=len(texts)) for name, test in BUILT_IN.items()
    }
    if lengths and texts:
        n = text_lengths(texts, length_unit)
        for bucket in length_buckets(n, np.zeros(len(n)), np.zeros(len(n))):
            lo, hi = (int(x) for x in bucket["bucket"].split("-"))
            masks[f"length {bucket['bucket']} {length_unit}"] = (n >= lo) & (n <= hi)
    for name, pattern in (regexes or {}).items():
        try:
            compiled = re.compile(pattern, re.I)
        except re.error as exc:
            raise ConfigError(Errors.E132, name=name, pattern=pattern, detail=exc) from None
        masks[name] = np.fromiter((bool(compiled.search(t)) for t in texts), dtype=bool, count=len(texts))
    for name, values in (columns or {}).items():
        if len(values) != len(texts):
            raise DataError(Errors.E238, name=name, n_values=len(values), n_texts=len(texts))
        masks[name] = _truthy(values)
    return masks


def slice_metrics(masks: Mapping[str, np.ndarray], y_true, proba, labels: Sequence[str]) -> list[dict]:
    """One row per slice: ``{"slice", "n", "share", "accuracy", "macro_f1", "ece", "delta_accuracy",
    "reliable"}``; the first row is the whole set. Empty slices are kept with n = 0 and no metrics."""
    y, p = check_inputs(y_true, proba, n_labels=len(labels))
    pred = p.argmax(axis=1)
    overall = float(accuracy_score(y, pred))
    rows = []
    for name, mask in {"all": np.ones(len(y), dtype=bool), **masks}.items():
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != y.shape:
            raise DataError(Errors.E239, name=name, n_entries=mask.size, n_examples=len(y))
        n = int(mask.sum())
        row = {
            "slice": name,
            "n": n,
            "share": n / len(y),
            "accuracy": None,
            "macro_f1": None,
            "ece": None,
            "delta_accuracy": None,
            "reliable": n >= MIN_RELIABLE,
        }
        if n:
            accuracy = float(accuracy_score(y[mask], pred[mask]))
            row.update(
                accuracy=accuracy,
                delta_accuracy=accuracy - overall,
                # macro over the classes present in the slice (true or predicted), so a slice
                # holding one class is not dragged down by an undefined F1 of the others
                macro_f1=float(
                    f1_score(
                        y[mask], pred[mask], labels=np.union1d(y[mask], pred[mask]), average="macro", zero_division=0
                    )
                ),
                ece=expected_calibration_error(y[mask], p[mask]),
            )
        rows.append(row)
    return rows
