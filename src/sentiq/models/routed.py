"""A multilingual model: one member model per language, each text routed by its script.

``detect_language`` (script counts, after NFKC) picks the member; a text whose language has
no member (Japanese, no letters at all, ...) goes to the fallback: a member language chosen at
``sentiq route``, or ``unsupported`` (no label; the prediction says "unsupported language"). Members keep
their own preprocessing (each is a full Predictor), so the routed model receives raw text,
and their directories are copied inside, so the routed directory is self-contained.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from sentiq.atomic import atomic_write_text
from sentiq.errors import Errors, ModelError
from sentiq.labels import LabelSet
from sentiq.models.base import Capabilities, SentimentModel
from sentiq.models.members import load_members
from sentiq.preprocess.language import LANGUAGES, detect_language

MEMBERS = "members"
STATE = "routed.json"
UNSUPPORTED = "unsupported"  # a fallback: texts of other languages get no label


def _load_members(paths: Mapping[str, str | Path]) -> dict:
    if not paths:
        raise ModelError(Errors.E375)
    unknown = sorted(set(paths) - set(LANGUAGES))
    if unknown:
        raise ModelError(Errors.E376, unknown=unknown, known=list(LANGUAGES))
    return load_members(paths, kind="routed")


class RoutedClassifier(SentimentModel):
    """Routes each text to the member model of its detected language."""

    approach = "routed"
    # members apply their own profiles; built by `sentiq route`, not trained
    capabilities = Capabilities(explain="occlusion", train="none", own_preprocessing=True, languages=True)

    def __init__(self, members: dict, labels: LabelSet, *, fallback: str, sources: dict[str, str]):
        if fallback not in members and fallback != UNSUPPORTED:
            raise ModelError(
                Errors.E377, fallback=fallback, members=", ".join(sorted(members)), unsupported=UNSUPPORTED
            )
        self.members = members
        self.labels = labels
        self.fallback = fallback
        self.sources = sources

    @classmethod
    def from_directories(cls, paths: Mapping[str, str | Path], *, fallback: str | None = None) -> "RoutedClassifier":
        members = _load_members(paths)
        fallback = fallback or UNSUPPORTED
        labels = LabelSet(tuple(next(iter(members.values())).labels))
        return cls(members, labels, fallback=fallback, sources={k: str(v) for k, v in paths.items()})

    def languages(self, texts: Sequence[str]) -> list[str]:
        """The detected language of each text (what a prediction reports)."""
        return [detect_language(t) for t in texts]

    def route(self, language: str) -> str:
        """The member language that serves texts of ``language`` (or ``unsupported``)."""
        return language if language in self.members else self.fallback

    def answering(self, texts: Sequence[str]) -> list[str]:
        """Which member answers each text: ``"zh"`` (its own model), ``"en (fallback)"`` or ``"unsupported"``."""
        out = []
        for language in self.languages(texts):
            member = self.route(language)
            out.append(member if member == language or member == UNSUPPORTED else f"{member} (fallback)")
        return out

    def empty_reasons(self, texts: Sequence[str]) -> list[str | None]:
        """Why each text gets no label (None: it is scored): empty, emptied by its member's preprocessing,
        or in a language without a member when the fallback is ``unsupported``."""
        reasons: list[str | None] = []
        for text, language in zip(texts, self.languages(texts)):
            member = self.route(language)
            if member == UNSUPPORTED:
                reasons.append("empty text" if not text.strip() else f"unsupported language ({language})")
            else:
                reasons.append(self.members[member].empty_reasons([text])[0])
        return reasons

    def predict_proba(self, texts: Sequence[str], *, batch_size: int | None = None, progress=None) -> np.ndarray:
        """Rows in input order; a text of an unsupported language gets uniform probabilities here
        (``Predictor.predict`` gives it no label)."""
        texts = list(texts)
        routes = np.array([self.route(lang) for lang in self.languages(texts)], dtype=object)
        proba = np.full((len(texts), len(self.labels)), 1.0 / len(self.labels), dtype=np.float32)
        for lang, member in self.members.items():
            idx = np.flatnonzero(routes == lang)
            if len(idx):  # each member sees its texts in one batch; rows go back to input order
                proba[idx] = member.predict_proba([texts[i] for i in idx])
        if progress:
            progress("predict", len(texts), len(texts))
        return proba

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        for lang, source in self.sources.items():
            shutil.copytree(source, directory / MEMBERS / lang)
        state = {"fallback": self.fallback, "languages": list(self.sources), "sources": self.sources}
        atomic_write_text(directory / STATE, json.dumps(state, indent=2))

    @classmethod
    def load(cls, directory: Path, manifest) -> "RoutedClassifier":
        directory = Path(directory)
        if not (directory / STATE).is_file():
            raise ModelError(Errors.E309, directory=directory, missing=STATE, approach="routed")
        state = json.loads((directory / STATE).read_text(encoding="utf-8"))
        paths = {lang: directory / MEMBERS / lang for lang in state["languages"]}
        members = _load_members(paths)
        return cls(members, LabelSet(tuple(manifest.labels)), fallback=state["fallback"], sources=state["sources"])
