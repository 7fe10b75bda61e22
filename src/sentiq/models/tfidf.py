"""TF-IDF word and character n-grams + logistic regression: the strong classical baseline.

``weighting: nb`` swaps TF-IDF values for NBSVM-style features (Wang & Manning, 2012):
binary n-gram presence scaled by the naive-Bayes log-count ratio, which beats TF-IDF on
long reviews (IMDB: 91.3% vs 90.7%, docs/benchmarks.md).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import joblib
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import FeatureUnion, Pipeline

from sentiq.errors import Errors, ModelError
from sentiq.labels import LabelSet
from sentiq.models._sklearn import aligned_proba
from sentiq.models.base import Capabilities, SentimentModel

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
        raise ModelError(Errors.E378)
    return settings


class NBWeighting(TransformerMixin, BaseEstimator):
    """Binarise n-gram counts and scale each by its naive-Bayes log-count ratio.

    With more than two classes the scale is the largest one-vs-rest ratio in magnitude. The
    sign can be dropped: flipping a feature only flips its weight under an L2 penalty.
    """

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def fit(self, X, y):
        present, y = (X > 0).astype(np.float32), np.asarray(y)
        totals = np.asarray(present.sum(axis=0)).ravel()
        ratios = []
        for label in np.unique(y):
            inside = np.asarray(present[y == label].sum(axis=0)).ravel() + self.alpha
            outside = totals - inside + 2 * self.alpha
            ratios.append(np.abs(np.log((inside / inside.sum()) / (outside / outside.sum()))))
        self.scale_ = np.max(ratios, axis=0).astype(np.float32)
        return self

    def transform(self, X):
        return (X > 0).astype(np.float32).multiply(self.scale_).tocsr()


class ScaledSGD(SGDClassifier):
    """Logistic regression by SGD with LogisticRegression's C: sklearn's ``alpha`` is 1 / (C * rows),
    known only at fit time. Five passes with averaging reach lbfgs' accuracy on tweets within a point
    (docs/benchmarks.md); the explanations read ``coef_`` / ``intercept_`` like any linear model."""

    def __init__(self, C: float = 1.0, seed: int = 42, max_iter: int = 5):
        self.C, self.seed = C, seed
        super().__init__(loss="log_loss", alpha=1.0, max_iter=max_iter, tol=None, average=True, random_state=seed)

    def fit(self, X, y, **kwargs):
        self.alpha = 1.0 / (self.C * X.shape[0])
        return super().fit(X, y, **kwargs)


def ngram_head(params, seed: int, *, weighting: str) -> Pipeline:
    """The classifier on the n-gram features: logistic regression, after NB scaling if asked."""
    # Measured defaults on IMDB: TF-IDF values want little regularisation, NB features more.
    C = params.C if params.C is not None else (1.0 if weighting == "nb" else 16.0)
    if getattr(params, "solver", "lbfgs") == "sgd":
        classifier = ("classifier", ScaledSGD(C=C, seed=seed))
    else:
        classifier = ("classifier", LogisticRegression(C=C, max_iter=params.max_iter, random_state=seed))
    return Pipeline([("nb", NBWeighting()), classifier] if weighting == "nb" else [classifier])


def build_features(params, language: str) -> FeatureUnion:
    return FeatureUnion(_vectorizers(params, language))


def build_pipeline(params, language: str, seed: int) -> Pipeline:
    head = ngram_head(params, seed, weighting=params.weighting)
    return Pipeline([("features", build_features(params, language)), *head.steps])


def _vectorizers(params, language: str) -> list:
    return [
        (
            name,
            TfidfVectorizer(
                analyzer=analyzer,
                ngram_range=ngrams,
                min_df=params.min_df,
                sublinear_tf=True,
                max_features=params.max_features,
                lowercase=True,
                dtype=np.float32,
            ),
        )
        for name, analyzer, ngrams in _ngram_settings(params, language)
    ]


class TfidfClassifier(SentimentModel):
    """``predict_proba`` columns follow ``labels`` (the pipeline is fitted on label ids)."""

    approach = "tfidf"
    capabilities = Capabilities(explain="linear")

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
            raise ModelError(Errors.E309, directory=directory, missing=WEIGHTS, approach="tfidf")
        try:
            pipeline = joblib.load(path)  # a pickle: load model directories you trust
        except Exception as exc:
            raise ModelError(Errors.E379, path=path, detail=exc) from None
        return cls(pipeline, LabelSet(tuple(manifest.labels)))
