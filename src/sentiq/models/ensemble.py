"""Ensembles of already-trained model directories: soft voting or stacking.

Members keep their own preprocessing (each is a full Predictor), so the ensemble itself
receives raw text. The member directories are copied inside the ensemble's directory,
which therefore stays self-contained.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Sequence

import joblib
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from sentiq.atomic import atomic_write_text
from sentiq.errors import Errors, ModelError
from sentiq.labels import LabelSet
from sentiq.models.base import Capabilities, SentimentModel
from sentiq.models.cache import MEMBER_PROBA, cached_features
from sentiq.models.integrity import prediction_key
from sentiq.models.members import load_members

MEMBERS = "members"
STATE = "ensemble.json"
STACKER = "stacker.joblib"
# What the stacker reads: members' log-probabilities (the logit-averaging family, where a member's 0.999
# and 0.99 differ as much as 0.9 and 0.5 do), or raw probabilities (directories saved before that choice).
LOG_PROBA, PROBA = "log_proba", "proba"


def _load_members(paths: Sequence[str | Path]):
    if len(paths) < 2:
        raise ModelError(Errors.E320)
    return list(load_members({f"member {i}": path for i, path in enumerate(paths)}, kind="ensemble").values())


class EnsembleClassifier(SentimentModel):
    approach = "ensemble"
    capabilities = Capabilities(explain="occlusion", own_preprocessing=True)  # members apply their own profiles

    def __init__(self, members, labels: LabelSet, *, method: str, weights: list[float] | None, sources: list[str]):
        self.members = members
        self.labels = labels
        self.method = method
        self.weights = np.asarray(weights if weights else [1.0] * len(members), dtype=np.float64)
        self.sources = sources
        self.stacker: LogisticRegression | None = None
        self.stack_features = LOG_PROBA

    @classmethod
    def from_config(cls, config, labels: LabelSet, *, language: str = "en") -> "EnsembleClassifier":
        params = config.ensemble
        members = _load_members(params.members)
        member_labels = LabelSet(tuple(members[0].labels))
        if member_labels != labels:
            raise ModelError(Errors.E321, member_labels=list(member_labels), labels=list(labels))
        if params.weights and len(params.weights) != len(members):
            raise ModelError(Errors.E322, n_weights=len(params.weights), n_members=len(members))
        return cls(
            members, labels, method=params.method, weights=params.weights, sources=[str(p) for p in params.members]
        )

    def member_proba(self, texts: Sequence[str], progress=None) -> np.ndarray:
        """(members, texts, classes); each member's own progress is reported as "<phase> (member i/n)".

        Inside :func:`~sentiq.models.cache.feature_cache` (training, evaluation) a member's probabilities
        for the same texts come from the cache: the ones it gave its own test split when it was trained,
        or an earlier run's."""
        texts, n = list(texts), len(self.members)

        def proba(i: int) -> np.ndarray:
            member, key = self.members[i], prediction_key(self.members[i].manifest)

            def tagged(phase: str, done: int, total: int) -> None:
                progress(f"{phase} (member {i + 1}/{n})", done, total)

            def compute() -> np.ndarray:
                return member.predict_proba(texts, progress=tagged if progress else None)

            return compute() if key is None else cached_features(MEMBER_PROBA, key, texts, compute)

        return np.stack([proba(i) for i in range(n)])

    def fit(self, train: pd.DataFrame, validation: pd.DataFrame | None = None):
        if self.method == "stacking":
            # Fitted on validation: members have seen the training rows and are over-confident there.
            frame = validation if validation is not None and len(validation) else train
            features = self._stack_features(self.member_proba(frame["text"].tolist()))
            self.stacker = LogisticRegression(max_iter=1000).fit(features, self.labels.encode(frame["label"].tolist()))
        return None

    def _stack_features(self, stacked: np.ndarray) -> np.ndarray:
        features = np.concatenate(list(stacked), axis=1).astype(np.float64)
        return np.log(np.clip(features, 1e-7, 1.0)) if self.stack_features == LOG_PROBA else features

    def predict_proba(self, texts: Sequence[str], *, batch_size: int | None = None, progress=None) -> np.ndarray:
        proba = self.combine(self.member_proba(texts, progress))
        if progress:
            progress("predict", len(texts), len(texts))
        return proba

    def combine(self, stacked: np.ndarray) -> np.ndarray:
        """The ensemble's probabilities from its members' (``member_proba``'s (members, texts, classes))."""
        if self.method == "stacking":
            proba = np.zeros(stacked.shape[1:], dtype=np.float32)
            proba[:, self.stacker.classes_] = self.stacker.predict_proba(self._stack_features(stacked))
            return proba
        return np.tensordot(self.weights / self.weights.sum(), stacked, axes=1).astype(np.float32)

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        for i, source in enumerate(self.sources):
            shutil.copytree(source, directory / MEMBERS / str(i))
        if self.stacker is not None:
            joblib.dump(self.stacker, directory / STACKER)
        state = {
            "method": self.method,
            "weights": self.weights.tolist(),
            "stack_features": self.stack_features,
            "members": len(self.sources),
            "sources": self.sources,
        }
        atomic_write_text(directory / STATE, json.dumps(state, indent=2))

    @classmethod
    def load(cls, directory: Path, manifest) -> "EnsembleClassifier":
        directory = Path(directory)
        if not (directory / STATE).is_file():
            raise ModelError(Errors.E309, directory=directory, missing=STATE, approach="ensemble")
        state = json.loads((directory / STATE).read_text())
        paths = [directory / MEMBERS / str(i) for i in range(state["members"])]
        model = cls(
            _load_members(paths),
            LabelSet(tuple(manifest.labels)),
            method=state["method"],
            weights=state["weights"],
            sources=state["sources"],
        )
        if state["method"] == "stacking":
            model.stacker = joblib.load(directory / STACKER)
            model.stack_features = state.get("stack_features", PROBA)
        return model
