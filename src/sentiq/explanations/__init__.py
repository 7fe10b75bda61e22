"""Why did the model say that? Per-word importances for one prediction, for every approach.

Methods (chosen by the model's approach unless ``method`` is given):

- ``linear`` (tfidf): exact. Each n-gram contributes tf-idf value x coefficient to the
  predicted class's logit; an n-gram's contribution is shared equally among its words.
  Word weights plus the intercept sum to the logit.
- ``lexicon`` (lexicon): each word's lexicon valence through the fitted head: the head's
  logit for the word alone minus its logit for a neutral word. Context-free (negation is
  not attributed); ``method="occlusion"`` gives a context-aware view.
- ``integrated-gradients`` (finetune): integrated gradients on the word embeddings (captum),
  from an all-padding baseline; attributions sum to logit(text) - logit(baseline)
  up to the reported convergence delta. Sub-word tokens are summed into words.
- ``occlusion`` (embedding, hybrid, ensemble, or any model on request): a word's weight is
  how much the predicted class's log-probability drops when the word is deleted.

Weights are in logit (log-odds) units of the uncalibrated model; positive pushes towards
the explained class. Explanations work on the text as the model sees it (preprocessed).
The default method is the one a model type declares (``capabilities.explain``); a type that
declares ``"model"`` explains itself through ``explain(text, target, language=..., **options)``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from sentiq.errors import ConfigError, Errors

log = logging.getLogger(__name__)

# method -> "module:function"; lazy so that explaining a TF-IDF model never imports torch.
_METHODS = {
    "linear": "sentiq.explanations.linear:explain_linear",
    "lexicon": "sentiq.explanations.lexicon:explain_lexicon",
    "integrated-gradients": "sentiq.explanations.gradients:explain_integrated_gradients",
    "occlusion": "sentiq.explanations.occlusion:explain_occlusion",
}
# Cheaper settings when many texts are explained for the report (both are documented there).
_AGGREGATE_OPTIONS = {"integrated-gradients": {"n_steps": 20}, "occlusion": {"max_words": 60}}
# Global word importances straight from the model where it has them (linear coefficients).
_GLOBAL = {"linear": "sentiq.explanations.linear:top_coefficients"}


@dataclass
class WordWeight:
    word: str
    start: int
    end: int
    weight: float


@dataclass
class Explanation:
    """Word importances for one text, towards ``label`` (the predicted class unless asked otherwise)."""

    text: str  # as the model saw it (after preprocessing)
    label: str
    score: float  # the model's (calibrated) probability of ``label``
    method: str
    words: list[WordWeight]
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def pairs(self) -> list[tuple[str, float]]:
        """(word, weight) per word of the text, in text order."""
        return [(w.word, w.weight) for w in self.words]

    def top(self, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` words with the largest absolute weight (repeated words summed), largest first."""
        totals: dict[str, float] = defaultdict(float)
        for w in self.words:
            totals[w.word.lower()] += w.weight
        return sorted(totals.items(), key=lambda item: -abs(item[1]))[:k]

    def to_dict(self) -> dict:
        data = asdict(self)
        data["words"] = [{"word": w.word, "start": w.start, "end": w.end, "weight": w.weight} for w in self.words]
        return data


def methods() -> list[str]:
    return sorted(_METHODS)


def default_method(approach: str) -> str:
    """The explanation method the model type of ``approach`` declares."""
    from sentiq.models import model_type

    return model_type(approach).capabilities.explain


def _function(table: dict, name: str):
    module, fn = table[name].split(":")
    return getattr(import_module(module), fn)


def _predictor(model):
    from sentiq.inference.predictor import Predictor

    return model if isinstance(model, Predictor) else Predictor.load(model)


def _target_index(target, labels: list[str], proba: np.ndarray) -> int:
    if target is None:
        return int(np.argmax(proba))
    if isinstance(target, str):
        if target not in labels:
            raise ConfigError(Errors.E133, target=target, labels=labels)
        return labels.index(target)
    if not 0 <= int(target) < len(labels):
        raise ConfigError(Errors.E134, target=target, max_index=len(labels) - 1)
    return int(target)


def explain(
    model: "str | Path | Any", text: str, *, method: str = "auto", target: str | int | None = None, **options
) -> Explanation:
    """Explain one prediction of a :class:`~sentiq.inference.Predictor` (or a model directory).

    ``method``: auto (by approach), linear, lexicon, integrated-gradients or occlusion.
    ``target``: the label (name or index) to explain; default the predicted one.
    ``options`` go to the method (``n_steps`` for integrated gradients, ``max_words`` for occlusion).
    """
    predictor = _predictor(model)
    cleaned = predictor.clean([text])[0]
    proba = predictor.predict_proba([text])[0]
    t = _target_index(target, predictor.labels, proba)
    language = predictor.manifest.language
    declared = predictor.model.capabilities.explain
    if method == "auto" and declared == "model":
        name, (words, details) = "model", predictor.model.explain(cleaned, t, language=language, **options)
    else:
        name = default_method(predictor.manifest.approach) if method == "auto" else method
        if name not in _METHODS:
            raise ConfigError(Errors.E135, method=method, methods=methods())
        words, details = _function(_METHODS, name)(predictor.model, cleaned, t, language=language, **options)
    return Explanation(
        text=cleaned,
        label=predictor.labels[t],
        score=float(proba[t]),
        method=name,
        words=[WordWeight(*w) for w in words],
        details=details,
    )


def _aggregate(explanations: Sequence[Explanation], labels: list[str], top: int) -> dict[str, list[dict]]:
    """Per class, words ranked by how much more they push towards the class in texts predicted as it
    than they push towards the prediction in the other texts (both averaged per text).

    The contrast matters: with integrated gradients, frequent words ("the", ".") collect a
    little weight towards whatever is predicted; summing over one class alone ranks them high.
    """
    sums: dict[str, dict[str, float]] = {label: defaultdict(float) for label in labels}
    counts: dict[str, dict[str, int]] = {label: defaultdict(int) for label in labels}
    texts = {label: 0 for label in labels}
    for e in explanations:
        texts[e.label] += 1
        for word, weight in e.top(k=len(e.words)):
            sums[e.label][word] += weight
            counts[e.label][word] += 1
    out = {}
    for label in labels:
        others = [other for other in labels if other != label]
        n_others = sum(texts[o] for o in others)
        scores = {}
        for word, total in sums[label].items():
            elsewhere = sum(sums[o].get(word, 0.0) for o in others)
            scores[word] = total / max(texts[label], 1) - (elsewhere / n_others if n_others else 0.0)
        ranked = sorted(((w, v) for w, v in scores.items() if v > 0), key=lambda item: -item[1])[:top]
        out[label] = [{"word": w, "weight": v, "count": counts[label][w]} for w, v in ranked]
    return out


def important_words(
    model,
    texts: Sequence[str] | None = None,
    *,
    top: int = 15,
    sample: int = 50,
    seed: int = 0,
    method: str = "auto",
    progress=None,
    **options,
) -> dict:
    """The words that matter most for each class.

    Linear models answer from their coefficients (``texts`` are not needed); others explain a
    random ``sample`` of ``texts`` and sum each word's weight towards the predicted class
    (integrated gradients with 20 steps, occlusion of the first 60 words, unless ``options`` say otherwise).
    Returns ``{"method", "source", "classes": {label: [{"word", "weight", "count"}]}}``.
    """
    predictor = _predictor(model)
    name = default_method(predictor.manifest.approach) if method == "auto" else method
    if name in _GLOBAL:
        return {
            "method": name,
            "source": "model coefficients",
            "classes": _function(_GLOBAL, name)(predictor.model, predictor.labels, top=top),
        }
    texts = [t for t in (texts or []) if isinstance(t, str) and t.strip()]
    if not texts:
        raise ConfigError(Errors.E136)
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(len(texts), size=min(sample, len(texts)), replace=False).tolist())
    options = {**_AGGREGATE_OPTIONS.get(name, {}), **options}
    explanations = []
    for done, i in enumerate(chosen, 1):
        explanations.append(explain(predictor, texts[i], method=method, **options))
        if progress:
            progress("explain", done, len(chosen))
    return {
        "method": explanations[0].method,
        "source": f"explanations of {len(chosen)} test texts: mean weight per text predicted as the class, "
        "minus the mean weight towards the prediction in the other texts",
        "classes": _aggregate(explanations, predictor.labels, top),
    }


__all__ = ["Explanation", "WordWeight", "default_method", "explain", "important_words", "methods"]
