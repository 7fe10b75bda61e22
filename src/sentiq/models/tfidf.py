"""TF-IDF word and character n-grams + logistic regression: the strong classical baseline."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import joblib
import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from sentiq.errors import ModelError
from sentiq.labels import LabelSet
from sentiq.models._sklearn import aligned_proba

log = logging.getLogger(__name__)
WEIGHTS = "model.joblib"


def _ngram_settings(params, language: str) -> list[tuple[str, str, tuple[int, int]]]:
    """(name, analyzer, range) per active analyzer, with per-language defaults."""
    chinese = language == "zh"
    # Measured on IMDB (docs/benchmarks.md): word 1-3-grams alone beat word 1-2 + char 2-5.
    word = params.word_ngrams if params.word_ngrams is not None else ([] if chinese else [1, 3])
    char = params.char_ngrams if params.char_ngrams is not None else ([1, 3] if chinese else [])
    settings = []
    if word:
        settings.append(("word", "word", tuple(word)))
    if char:
        settings.append(("char", "char" if chinese else "char_wb", tuple(char)))
    if not settings:
        raise ModelError("tfidf needs word_ngrams or char_ngrams; both are off")
    return settings


def build_pipeline(params, language: str, seed: int) -> Pipeline:
    vectorizers = [
        (name, TfidfVectorizer(analyzer=analyzer, ngram_range=ngrams, min_df=params.min_df, sublinear_tf=True,
                               max_features=params.max_features, lowercase=True, dtype=np.float32))
        for name, analyzer, ngrams in _ngram_settings(params, language)
    ]
    classifier = LogisticRegression(C=params.C, max_iter=params.max_iter, random_state=seed)
    return Pipeline([("features", FeatureUnion(vectorizers)), ("classifier", classifier)])


class TfidfClassifier:
    """``predict_proba`` columns follow ``labels`` (the pipeline is fitted on label ids)."""

    approach = "tfidf"

    def __init__(self, pipeline: Pipeline, labels: LabelSet):
        self.pipeline = pipeline
        self.labels = labels

    @classmethod
    def from_config(cls, config, labels: LabelSet, *, language: str = "en") -> "TfidfClassifier":
        return cls(build_pipeline(config.tfidf, language, config.seed), labels)

    def fit(self, train: pd.DataFrame, validation: pd.DataFrame | None = None):
        ids = self.labels.encode(train["label"].tolist())
        self.pipeline.fit(train["text"].tolist(), ids)
        n_features = sum(len(v.vocabulary_) for _, v in self.pipeline.named_steps["features"].transformer_list)
        log.info("tfidf: %d n-gram features from %d texts", n_features, len(ids))
        return None

    def predict_proba(self, texts: Sequence[str], *, batch_size: int | None = None, progress=None) -> np.ndarray:
        return aligned_proba(self.pipeline, lambda: list(texts), len(texts), len(self.labels), progress)

    def save(self, directory: Path) -> None:
        joblib.dump(self.pipeline, Path(directory) / WEIGHTS, compress=3)

    @classmethod
    def load(cls, directory: Path, manifest) -> "TfidfClassifier":
        path = Path(directory) / WEIGHTS
        if not path.is_file():
            raise ModelError(f"{directory} has no {WEIGHTS}: not a tfidf model directory")
        try:
            pipeline = joblib.load(path)  # a pickle: load model directories you trust
        except Exception as exc:
            raise ModelError(f"cannot read {path}: {exc}") from None
        return cls(pipeline, LabelSet(tuple(manifest.labels)))
