"""A multilingual model: one member model per language, each text routed by its script.

``detect_language`` (script counts) picks the member; a text whose language has no member
(Japanese, no letters at all, ...) goes to the fallback language's member. Members keep
their own preprocessing (each is a full Predictor), so the routed model receives raw text,
and their directories are copied inside, so the routed directory is self-contained.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from sentiq.errors import ModelError
from sentiq.atomic import atomic_write_text
from sentiq.labels import LabelSet
from sentiq.models.base import Capabilities, SentimentModel
from sentiq.models.members import load_members
from sentiq.preprocess.language import LANGUAGES, detect_language

MEMBERS = "members"
STATE = "routed.json"


def _load_members(paths: Mapping[str, str | Path]) -> dict:
    if not paths:
        raise ModelError("a routed model needs at least one member: --model LANG=DIR")
    unknown = sorted(set(paths) - set(LANGUAGES))
    if unknown:
        raise ModelError(f"unknown language code(s) {unknown}; routing knows {list(LANGUAGES)}")
    return load_members(paths, kind="routed")


class RoutedClassifier(SentimentModel):
    """Routes each text to the member model of its detected language."""

    approach = "routed"
    # members apply their own profiles; built by `sentiq route`, not trained
    capabilities = Capabilities(explain="occlusion", train="none", own_preprocessing=True, languages=True)

    def __init__(self, members: dict, labels: LabelSet, *, fallback: str, sources: dict[str, str]):
        if fallback not in members:
            raise ModelError(f"the fallback language {fallback!r} has no member model; members: {sorted(members)}")
        self.members = members
        self.labels = labels
        self.fallback = fallback
        self.sources = sources

    @classmethod
    def from_directories(cls, paths: Mapping[str, str | Path], *, fallback: str | None = None) -> "RoutedClassifier":
        members = _load_members(paths)
        fallback = fallback or ("en" if "en" in members else next(iter(members)))
        labels = LabelSet(tuple(next(iter(members.values())).labels))
        return cls(members, labels, fallback=fallback, sources={k: str(v) for k, v in paths.items()})

    def languages(self, texts: Sequence[str]) -> list[str]:
        """The detected language of each text (what a prediction reports)."""
        return [detect_language(t) for t in texts]

    def route(self, language: str) -> str:
        """The member language that serves texts of ``language``."""
        return language if language in self.members else self.fallback

    def predict_proba(self, texts: Sequence[str], *, batch_size: int | None = None, progress=None) -> np.ndarray:
        texts = list(texts)
        routes = np.array([self.route(lang) for lang in self.languages(texts)], dtype=object)
        proba = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
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
            raise ModelError(f"{directory} has no {STATE}: not a routed model directory")
        state = json.loads((directory / STATE).read_text(encoding="utf-8"))
        paths = {lang: directory / MEMBERS / lang for lang in state["languages"]}
        members = _load_members(paths)
        return cls(members, LabelSet(tuple(manifest.labels)), fallback=state["fallback"], sources=state["sources"])
