"""Hybrid: lexicon scores stacked beside TF-IDF n-grams and/or sentence embeddings,
one logistic regression over the joined features."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import joblib
import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from sentiq.errors import ModelError
from sentiq.labels import LabelSet
from sentiq.models._sklearn import aligned_proba
from sentiq.models.embedding import ENCODER_DIR, SentenceEncoder, cached_encode
from sentiq.models.lexicon import choose_lexicon, lexicon_features
from sentiq.models.tfidf import build_pipeline

STATE = "hybrid.joblib"


class HybridClassifier:
    approach = "hybrid"

    def __init__(self, labels: LabelSet, *, parts: list[str], lexicon: str | None, vectorizer=None,
                 encoder: SentenceEncoder | None = None, C: float = 8.0, seed: int = 42):
        self.labels = labels
        self.parts = parts
        self.lexicon = lexicon
        self.vectorizer = vectorizer  # the fitted FeatureUnion of a TF-IDF pipeline
        self.encoder = encoder
        self.scaler = StandardScaler()
        self.head = LogisticRegression(C=C, max_iter=3000, random_state=seed)
        self.max_length = encoder.max_length if encoder else None
        self.base_model = None

    @classmethod
    def from_config(cls, config, labels: LabelSet, *, language: str = "en") -> "HybridClassifier":
        parts = list(dict.fromkeys(config.hybrid.parts))
        if "lexicon" not in parts or len(parts) < 2:
            raise ModelError("hybrid.parts must hold lexicon and at least one of tfidf, embedding")
        vectorizer = build_pipeline(config.tfidf, language, config.seed).named_steps["features"] if "tfidf" in parts else None
        encoder = None
        if "embedding" in parts:
            e = config.embedding
            encoder = SentenceEncoder(e.encoder, max_length=e.max_length, batch_size=e.batch_size)
        model = cls(labels, parts=parts, lexicon=choose_lexicon(config.lexicon.lexicon, language),
                    vectorizer=vectorizer, encoder=encoder, C=config.hybrid.C, seed=config.seed)
        model.base_model = config.embedding.encoder if encoder else None
        return model

    def _features(self, texts: Sequence[str], *, fit: bool = False):
        lex = lexicon_features(self.lexicon, texts)
        blocks = [sparse.csr_matrix(self.scaler.fit_transform(lex) if fit else self.scaler.transform(lex))]
        if self.vectorizer is not None:
            blocks.append(self.vectorizer.fit_transform(texts) if fit else self.vectorizer.transform(texts))
        if self.encoder is not None:
            vectors = cached_encode(self.encoder, texts)
            blocks.append(sparse.csr_matrix(vectors))
        return sparse.hstack(blocks).tocsr()

    def fit(self, train: pd.DataFrame, validation: pd.DataFrame | None = None):
        texts = train["text"].tolist()
        self.head.fit(self._features(texts, fit=True), self.labels.encode(train["label"].tolist()))
        return None

    def predict_proba(self, texts: Sequence[str], *, batch_size: int | None = None, progress=None) -> np.ndarray:
        return aligned_proba(self.head, lambda: self._features(list(texts)), len(texts), len(self.labels), progress)

    def save(self, directory: Path) -> None:
        state = {"parts": self.parts, "lexicon": self.lexicon, "vectorizer": self.vectorizer,
                 "scaler": self.scaler, "head": self.head}
        joblib.dump(state, Path(directory) / STATE, compress=3)
        if self.encoder is not None:
            self.encoder.save(Path(directory) / ENCODER_DIR)

    @classmethod
    def load(cls, directory: Path, manifest) -> "HybridClassifier":
        directory = Path(directory)
        if not (directory / STATE).is_file():
            raise ModelError(f"{directory} has no {STATE}: not a hybrid model directory")
        state = joblib.load(directory / STATE)
        encoder = None
        if "embedding" in state["parts"]:
            encoder = SentenceEncoder(str(directory / ENCODER_DIR), max_length=manifest.max_length or 256)
        model = cls(LabelSet(tuple(manifest.labels)), parts=state["parts"], lexicon=state["lexicon"],
                    vectorizer=state["vectorizer"], encoder=encoder)
        model.scaler, model.head = state["scaler"], state["head"]
        return model
