"""Exact explanations of TF-IDF + logistic regression: contribution = feature value x coefficient
(the tf-idf value, or the NB-scaled presence under ``tfidf.weighting: nb``).

The logit of class t is ``intercept_t + sum_f x_f * coef_tf`` over the n-gram features f of
the text. Each feature's contribution is shared equally among its occurrences in the text
and, within an occurrence, among its words (word n-grams) or characters (character
n-grams); characters then count for the word that holds them. Word weights therefore sum
to ``logit - intercept`` (up to contributions of features outside any word, reported as
``unassigned``).
"""

from __future__ import annotations

import re

import numpy as np

from sentiq.errors import Errors, ModelError
from sentiq.explanations.words import Span, unit_of_position


def _parts(model):
    pipeline = getattr(model, "pipeline", None)
    if pipeline is None or "features" not in pipeline.named_steps:
        raise ModelError(Errors.E303)
    return pipeline.named_steps["features"], pipeline.named_steps["classifier"]


def _feature_values(model, text: str):
    """The classifier's input for ``text``: tf-idf values, or NB-scaled presence with ``weighting: nb``
    (every step before the classifier keeps the feature columns of the vectorizers)."""
    return model.pipeline[:-1].transform([text]).tocsr()


def _feature_names(vectorizer) -> np.ndarray:
    # Cached on the fitted vectorizer: building the name array of a large vocabulary takes a while.
    names = getattr(vectorizer, "_sentiq_feature_names", None)
    if names is None:
        names = vectorizer.get_feature_names_out()
        vectorizer._sentiq_feature_names = names
    return names


def class_coefficients(classifier, target: int) -> tuple[np.ndarray, float]:
    """Coefficients and intercept of ``target``'s logit (binary models: the sign follows the class)."""
    classes = list(classifier.classes_)
    if target not in classes:
        return np.zeros(classifier.coef_.shape[1]), 0.0
    if len(classes) == 2:
        sign = 1.0 if target == classes[1] else -1.0
        return sign * classifier.coef_[0], sign * float(classifier.intercept_[0])
    row = classes.index(target)
    return classifier.coef_[row], float(classifier.intercept_[row])


def _units(text: str, vectorizers: list) -> tuple[list[Span], str]:
    """The words explanations are given for, from the primary analyzer's own view of the text."""
    kinds = {v.analyzer: v for v in vectorizers}
    if "word" in kinds:
        pattern = re.compile(kinds["word"].token_pattern)
        return [Span(m.group(), m.start(), m.end()) for m in pattern.finditer(text)], "word"
    if "char_wb" in kinds:
        return [Span(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", text)], "char_wb"
    return [Span(c, i, i + 1) for i, c in enumerate(text) if not c.isspace()], "char"


def _word_occurrences(term: str, units: list[Span]) -> list[list[int]]:
    """Occurrences of a word n-gram as lists of unit indices."""
    grams = term.split(" ")
    tokens = [u.word.lower() for u in units]
    n = len(grams)
    return [list(range(i, i + n)) for i in range(len(tokens) - n + 1) if tokens[i : i + n] == grams]


def _char_wb_occurrences(term: str, text: str) -> list[list[int]]:
    """Occurrences of a char_wb n-gram (words padded with spaces) as lists of character positions."""
    out = []
    for m in re.finditer(r"\S+", text):
        padded = f" {m.group().lower()} "
        for i in range(len(padded) - len(term) + 1):
            if padded[i : i + len(term)] == term:
                # padded index j is text position m.start() + j - 1; padding spaces hold no word
                out.append([m.start() + j - 1 for j in range(i, i + len(term)) if 0 < j < len(padded) - 1])
    return out


def _char_occurrences(term: str, text: str) -> list[list[int]]:
    """Occurrences of a char n-gram; sklearn turns runs of 2+ white-space characters into one space
    first, so positions are mapped back to the original text."""
    positions, normalised = [], []
    for m in re.finditer(r"\s\s+|.", text, flags=re.S):
        positions.append(m.start())
        normalised.append(" " if len(m.group()) > 1 else m.group().lower())
    flat = "".join(normalised)
    return [
        [positions[j] for j in range(i, i + len(term)) if not flat[j].isspace()]
        for i in range(len(flat) - len(term) + 1)
        if flat[i : i + len(term)] == term
    ]


def explain_linear(model, text: str, target: int, *, language: str = "en") -> tuple[list, dict]:
    features, classifier = _parts(model)
    vectorizers = [v for _, v in features.transformer_list]
    coef, intercept = class_coefficients(classifier, target)
    x = _feature_values(model, text)
    units, unit_kind = _units(text, vectorizers)
    owner = unit_of_position(units, len(text))
    weights = np.zeros(len(units))
    unassigned, offset = 0.0, 0
    for vectorizer in vectorizers:
        names = _feature_names(vectorizer)
        size = len(names)
        row = x[:, offset : offset + size]
        for index, value in zip(row.indices, row.data):
            contribution = float(value) * float(coef[offset + index])
            term = str(names[index])
            if vectorizer.analyzer == "word":
                groups = (
                    [[units[u].start for u in occ] for occ in _word_occurrences(term, units)]
                    if unit_kind == "word"
                    else []
                )
            elif vectorizer.analyzer == "char_wb":
                groups = _char_wb_occurrences(term, text)
            else:
                groups = _char_occurrences(term, text)
            groups = [g for g in groups if g]
            if not groups:
                unassigned += contribution
                continue
            for positions in groups:
                share = contribution / len(groups) / len(positions)
                for pos in positions:
                    if owner[pos] >= 0:
                        weights[owner[pos]] += share
                    else:
                        unassigned += share
        offset += size
    logit = intercept + float((x @ coef)[0])
    details = {
        "logit": logit,
        "intercept": intercept,
        "unassigned": unassigned,
        "note": "weights + intercept + unassigned = logit of the explained class",
    }
    return [(u.word, u.start, u.end, float(w)) for u, w in zip(units, weights)], details


def top_coefficients(model, labels: list[str], *, top: int = 15) -> dict[str, list[dict]]:
    """Per class, the n-grams with the largest coefficients towards it."""
    features, classifier = _parts(model)
    names = np.concatenate([_feature_names(v) for _, v in features.transformer_list])
    out = {}
    for target, label in enumerate(labels):
        coef, _ = class_coefficients(classifier, target)
        order = np.argsort(-coef)[:top]
        out[label] = [{"word": str(names[i]), "weight": float(coef[i]), "count": None} for i in order if coef[i] > 0]
    return out
