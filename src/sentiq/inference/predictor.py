"""Predictor: preprocess -> model -> label names, for any sentiq model directory."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from sentiq.errors import DataError, EmptyTextError, Errors
from sentiq.evaluation.temperature import apply_temperature
from sentiq.models import Manifest, load_model
from sentiq.preprocess import profile_from_spec
from sentiq.preprocess.language import detect_language

log = logging.getLogger(__name__)


ON_EMPTY = ("null", "skip", "error")
EMPTY = "empty text"
EMPTIED = "empty after preprocessing"
# Enough characters to tell a text's script; bounds the check's cost on long reviews (about 0.1 ms a text).
LANGUAGE_CHECK_CHARS = 300
CJK_LANGUAGES = ("zh", "ja", "ko")


@dataclass(frozen=True)
class Prediction:
    """One text's result. ``label``/``score``/``scores`` are None when the text was not scored
    (``note`` says why: empty text, empty after preprocessing, unsupported language)."""

    label: str | None
    score: float | None
    scores: dict[str, float] | None
    language: str | None = None  # the detected language, from models that route by language
    model: str | None = None  # which member answered, for models that route by language
    note: str | None = None
    warning: str | None = None  # a scored text the answer may not hold for (another language than the model's)

    def to_dict(self) -> dict:
        data = asdict(self)
        for key in ("language", "model", "note", "warning"):  # present only when they say something
            if data[key] is None:
                del data[key]
        return data


def _position(i: int, positions: Sequence[str] | None) -> str:
    return positions[i] if positions is not None else f"text {i + 1}"


def validate_texts(
    texts: Sequence[str], *, allow_empty: bool = False, positions: Sequence[str] | None = None
) -> list[str]:
    """Texts must be strings, and non-empty unless ``allow_empty``; the error names the first offender
    as the user counts it (``positions[i]``, default "text 1", "text 2", ...)."""
    if isinstance(texts, str):
        texts = [texts]
    checked = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise DataError(Errors.E244, position=_position(i, positions), type_name=type(text).__name__)
        if not allow_empty and not text.strip():
            raise EmptyTextError(Errors.E203, position=_position(i, positions), reason="empty")
        checked.append(text)
    return checked


def check_on_empty(on_empty: str) -> str:
    if on_empty not in ON_EMPTY + ("keep",):
        raise DataError(Errors.E245, choices=", ".join(ON_EMPTY), on_empty=on_empty)
    return on_empty


class Predictor:
    """Loads a model directory and applies the preprocessing it was trained with."""

    def __init__(self, model, manifest: Manifest, *, batch_size: int = 64, max_batch_tokens: int | None = None):
        self.model = model
        self.manifest = manifest
        self.profile = profile_from_spec(manifest.preprocess)
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens
        self._warned_language = False

    @classmethod
    def load(
        cls, path: str | Path | None = None, *, batch_size: int = 64, max_batch_tokens: int | None = None
    ) -> "Predictor":
        """A model directory, or a built-in model: no ``path`` (or ``"general"``) is the default
        built-in, ``"builtin:NAME"`` a named one (see :mod:`sentiq.models.builtin`).

        ``batch_size`` caps texts per batch; transformer models (PyTorch or ONNX) also cap the padded
        tokens per batch at ``max_batch_tokens`` (default 4096; 2048 on ONNX Runtime, for memory), sorting texts by length first."""
        from sentiq.models.builtin import resolve_model_dir

        path = resolve_model_dir(path)
        manifest = Manifest.load(path)
        return cls(load_model(path, manifest), manifest, batch_size=batch_size, max_batch_tokens=max_batch_tokens)

    @property
    def backend(self) -> str:
        """What runs the model: "pytorch", "onnxruntime" or the approach (tfidf, lexicon, ...)."""
        return self.model.capabilities.backend or self.manifest.approach

    @property
    def labels(self) -> list[str]:
        return list(self.manifest.labels)

    @property
    def temperature(self) -> float | None:
        return self.manifest.temperature

    def clean(self, texts: Sequence[str]) -> list[str]:
        """The texts as the model sees them (validated, then preprocessed with the training profile)."""
        return self.profile.apply(validate_texts(texts))

    def predict_proba(
        self, texts: Sequence[str], *, calibrated: bool = True, progress: Callable[[str, int, int], None] | None = None
    ) -> np.ndarray:
        """Probabilities, columns in the order of ``labels``, rows in input order.

        With ``calibrated`` (the default) the model's temperature, when it has one, is applied.
        """
        # Every text is scored here, even one preprocessing empties; predict() applies the empty-text policy.
        options = {"batch_size": self.batch_size, "progress": progress}
        if self.max_batch_tokens and self.model.capabilities.token_budget:
            options["max_batch_tokens"] = self.max_batch_tokens
        proba = self.model.predict_proba(self.clean(texts), **options)
        return apply_temperature(proba, self.temperature) if calibrated else proba

    def explain(self, text: str, **options):
        """Word importances for one text's predicted class: see :func:`sentiq.explanations.explain`."""
        from sentiq.explanations import explain

        return explain(self, text, **options)

    def empty_reasons(self, texts: Sequence[str]) -> list[str | None]:
        """Per text: ``"empty text"``, ``"empty after preprocessing"`` (a bare URL or @mention, say) or None.

        A routed model asks the member that would answer each text."""
        texts = validate_texts(texts, allow_empty=True)
        own = getattr(self.model, "empty_reasons", None)
        if own is not None:
            return own(texts)
        cleaned = self.profile.apply(texts)
        return [EMPTY if not t.strip() else EMPTIED if not c.strip() else None for t, c in zip(texts, cleaned)]

    def predict(
        self, texts: str | Sequence[str], *, on_empty: str = "null", positions: Sequence[str] | None = None, **kwargs
    ) -> list[Prediction]:
        """One prediction per text, in input order.

        Empty texts, and texts the model's preprocessing empties (``//@张三:``, a bare URL),
        are never scored: ``on_empty="null"`` (default) gives them a result with ``label=None``
        and a ``note``; ``"skip"`` leaves them out of the list; ``"error"`` raises
        :class:`~sentiq.errors.EmptyTextError` naming the first (``positions[i]`` or "text N",
        1-based). (``"keep"`` scores them as the model sees them: the service's contract.)
        """
        check_on_empty(on_empty)
        texts = validate_texts(texts, allow_empty=True, positions=positions)
        if on_empty == "keep":
            reasons = [None] * len(texts)
            validate_texts(texts, positions=positions)
        else:
            reasons = self.empty_reasons(texts)
        if on_empty == "error":
            first = next((i for i, r in enumerate(reasons) if r), None)
            if first is not None:
                raise EmptyTextError(
                    Errors.E203,
                    position=_position(first, positions),
                    reason="empty" if reasons[first] == EMPTY else reasons[first],
                )
        scored = [i for i, r in enumerate(reasons) if r is None]
        proba = self.predict_proba([texts[i] for i in scored], **kwargs) if scored else np.zeros((0, len(self.labels)))
        labels = self.labels
        languages = self.languages(texts)
        answered = self.answering_models(texts)
        warnings = self.language_warnings([texts[i] for i in scored])
        self._log_language_warnings([i for i, w in zip(scored, warnings) if w], len(scored), positions)
        results: list[Prediction | None] = [None] * len(texts)
        for i, row, warning in zip(scored, proba, warnings):
            results[i] = Prediction(
                labels[int(row.argmax())],
                float(row.max()),
                {name: float(p) for name, p in zip(labels, row)},
                languages[i],
                answered[i],
                warning=warning,
            )
        out = []
        for i, result in enumerate(results):
            if result is not None:
                out.append(result)
            elif on_empty == "null":
                out.append(Prediction(None, None, None, languages[i], answered[i], note=reasons[i]))
        return out

    def language_warnings(self, texts: Sequence[str]) -> list[str | None]:
        """Per text: a warning when its script is not the one a single-language model was trained on, else
        None (an English model reads Chinese as rare or unknown tokens; its answer, even a confident one, means
        little). Multilingual and language-routed models get no warnings. A model's language is recorded as zh
        (Chinese characters) or en (any other script), so only that line is checked: CJK text (zh, ja, ko) for
        an en model, other scripts for a zh model (:mod:`sentiq.preprocess.language` on the first
        ``LANGUAGE_CHECK_CHARS`` characters); texts with no letters pass."""
        trained_on = self.manifest.language
        if trained_on not in ("en", "zh"):
            return [None] * len(texts)
        out = []
        for text in texts:
            seen = detect_language(text[:LANGUAGE_CHECK_CHARS])
            mismatch = seen != "unknown" and (seen in CJK_LANGUAGES) != (trained_on == "zh")
            out.append(
                f"language mismatch: the model was trained on {trained_on} text; this looks {seen}"
                if mismatch
                else None
            )
        return out

    def _log_language_warnings(self, found: Sequence[int], n_scored: int, positions: Sequence[str] | None) -> None:
        """One log line for the texts (input indices ``found``) with a language warning, once per Predictor:
        a server would otherwise repeat it on every request."""
        if found and not self._warned_language:
            self._warned_language = True
            log.warning(
                "%d of %d texts look like another language than the model's (%s), e.g. %s: its answers on them "
                "mean little, however confident (each prediction's warning says so)",
                len(found),
                n_scored,
                self.manifest.language,
                ", ".join(_position(i, positions) for i in found[:3]),
            )

    def languages(self, texts: str | Sequence[str]) -> list[str | None]:
        """Each text's detected language for a routed model; ``None`` for single-language models."""
        texts = validate_texts(texts, allow_empty=True)
        return self.model.languages(texts)

    def answering_models(self, texts: Sequence[str]) -> list[str | None]:
        """For a routed model, which member (or ``"unsupported"``) answers each text; None otherwise."""
        answer = getattr(self.model, "answering", None)
        return answer(list(texts)) if answer else [None] * len(texts)
