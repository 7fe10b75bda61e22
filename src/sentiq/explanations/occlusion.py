"""Occlusion, the explanation any model can give: delete one word, see how the prediction moves.

A word's weight is log p(class | text) - log p(class | text without the word), so a
positive weight means the word supported the class. Costs one prediction per word.
"""

from __future__ import annotations

import numpy as np

from sentiq.explanations.words import split_words

_FLOOR = 1e-12


def _without(text: str, start: int, end: int) -> str:
    # Keep one space where the word was, so its neighbours do not fuse into a new word.
    return (text[:start].rstrip() + " " + text[end:].lstrip()).strip()


def explain_occlusion(
    model, text: str, target: int, *, language: str = "en", max_words: int = 400, batch_size: int = 64
) -> tuple[list, dict]:
    spans = split_words(text, language)
    occluded = spans[:max_words]
    variants = [text] + [_without(text, s.start, s.end) for s in occluded]
    proba = np.asarray(model.predict_proba(variants, batch_size=batch_size), dtype=np.float64)
    logp = np.log(np.clip(proba[:, target], _FLOOR, 1.0))
    weights = list(logp[0] - logp[1:]) + [0.0] * (len(spans) - len(occluded))
    return (
        [(s.word, s.start, s.end, float(w)) for s, w in zip(spans, weights)],
        {"log_probability": float(logp[0]), "occluded_words": len(occluded), "truncated": len(spans) > len(occluded)},
    )
