"""Hybrid: lexicon scores stacked with the predictions of n-gram and/or embedding models.

Each learned part (TF-IDF n-grams, NB-weighted n-grams, sentence embeddings) gets its own
classifier; a final logistic regression combines the lexicon's scores with the parts'
out-of-fold log-probabilities on the training split (stacking). Joining all raw features
under one regularisation strength was measured worse than TF-IDF alone on IMDB: the blocks
differ too much in scale and size. The two n-gram parts share one vectorizer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import joblib
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.preprocessing import StandardScaler

from sentiq.errors import Errors, ModelError
from sentiq.labels import LabelSet
from sentiq.models._sklearn import aligned_proba
from sentiq.models.base import Capabilities, SentimentModel, require_fields
from sentiq.models.embedding import ENCODER_DIR, SentenceEncoder, build_head, cached_encode
from sentiq.models.lexicon import choose_lexicon, lexicon_features
from sentiq.models.tfidf import build_features, ngram_head

STATE = "hybrid.joblib"
_FOLDS = 5
NGRAM_PARTS = ("tfidf", "nb")


def _log_proba(head, features) -> np.ndarray:
    return np.log(np.clip(head.predict_proba(features), 1e-6, 1.0))


class HybridClassifier(SentimentModel):
    approach = "hybrid"
    capabilities = Capabilities(explain="occlusion")

    def __init__(
        self,
        labels: LabelSet,
        *,
        lexicon: str,
        heads: dict,
        vectorizer=None,
        encoder: SentenceEncoder | None = None,
        C: float = 1.0,
        seed: int = 42,
    ):
        self.labels = labels
        self.lexicon = lexicon
        self.heads = heads  # part name -> classifier on that part's features
        self.vectorizer = vectorizer  # n-gram features (a FeatureUnion) shared by the tfidf and nb parts
        self.encoder = encoder
        self.seed = seed
        self.scaler = StandardScaler()
        self.meta = LogisticRegression(C=C, max_iter=1000, random_state=seed)
        self.base_model = None

    @property
    def parts(self) -> list[str]:
        return ["lexicon", *self.heads]

    @classmethod
    def from_config(cls, config, labels: LabelSet, *, language: str = "en") -> "HybridClassifier":
        parts = list(dict.fromkeys(config.hybrid.parts))
        if "lexicon" not in parts or len(parts) < 2:
            raise ModelError(Errors.E334)
        heads, encoder = {}, None
        for part in parts:
            if part in NGRAM_PARTS:
                heads[part] = ngram_head(config.tfidf, config.seed, weighting=part)
            elif part == "embedding":
                heads[part] = build_head(config.embedding, config.seed)
                e = config.embedding
                encoder = SentenceEncoder(e.encoder, max_length=e.max_length, batch_size=e.batch_size)
        vectorizer = build_features(config.tfidf, language) if set(heads) & set(NGRAM_PARTS) else None
        model = cls(
            labels,
            lexicon=choose_lexicon(config.lexicon.lexicon, language),
            heads=heads,
            vectorizer=vectorizer,
            encoder=encoder,
            C=config.hybrid.C,
            seed=config.seed,
        )
        model.base_model = config.embedding.encoder if encoder else None
        return model

    def _part_features(self, texts: Sequence[str], *, fit: bool = False) -> dict:
        """Features per learned part, each computed once (the n-gram parts share theirs)."""
        ngrams = None
        if self.vectorizer is not None:
            ngrams = self.vectorizer.fit_transform(texts) if fit else self.vectorizer.transform(texts)
        embeddings = cached_encode(self.encoder, texts) if self.encoder is not None else None
        return {part: ngrams if part in NGRAM_PARTS else embeddings for part in self.heads}

    def fit(self, train: pd.DataFrame, validation: pd.DataFrame | None = None):
        texts, y = train["text"].tolist(), np.asarray(self.labels.encode(train["label"].tolist()))
        blocks = [self.scaler.fit_transform(lexicon_features(self.lexicon, texts))]
        folds = StratifiedKFold(_FOLDS, shuffle=True, random_state=self.seed)
        for name, features in self._part_features(texts, fit=True).items():
            head = self.heads[name]
            out_of_fold = cross_val_predict(clone(head), features, y, cv=folds, method="predict_proba")
            blocks.append(np.log(np.clip(out_of_fold, 1e-6, 1.0)))
            head.fit(features, y)
        self.meta.fit(np.hstack(blocks), y)
        return None

    def _meta_features(self, texts: list[str]) -> np.ndarray:
        blocks = [self.scaler.transform(lexicon_features(self.lexicon, texts))]
        blocks += [_log_proba(self.heads[name], f) for name, f in self._part_features(texts).items()]
        return np.hstack(blocks)

    def predict_proba(self, texts: Sequence[str], *, batch_size: int | None = None, progress=None) -> np.ndarray:
        texts = list(texts)
        return aligned_proba(self.meta, lambda: self._meta_features(texts), len(texts), len(self.labels), progress)

    def save(self, directory: Path) -> None:
        state = {
            "version": 2,
            "lexicon": self.lexicon,
            "vectorizer": self.vectorizer,
            "scaler": self.scaler,
            "heads": self.heads,
            "meta": self.meta,
        }
        joblib.dump(state, Path(directory) / STATE, compress=3)
        if self.encoder is not None:
            self.encoder.save(Path(directory) / ENCODER_DIR)

    @classmethod
    def load(cls, directory: Path, manifest) -> "HybridClassifier":
        directory = Path(directory)
        if not (directory / STATE).is_file():
            raise ModelError(Errors.E309, directory=directory, missing=STATE, approach="hybrid")
        state = joblib.load(directory / STATE)  # a pickle: load model directories you trust
        if state.get("version") != 2:
            raise ModelError(Errors.E335, directory=directory)
        encoder = None
        if "embedding" in state["heads"]:
            require_fields(manifest, directory, "max_length")
            encoder = SentenceEncoder(str(directory / ENCODER_DIR), max_length=manifest.max_length)
        model = cls(
            LabelSet(tuple(manifest.labels)),
            lexicon=state["lexicon"],
            heads=state["heads"],
            vectorizer=state["vectorizer"],
            encoder=encoder,
        )
        model.scaler, model.meta = state["scaler"], state["meta"]
        model.base_model = manifest.base_model
        return model

    def manifest_fields(self) -> dict:
        if self.encoder is None:
            return {}
        return {"max_length": self.encoder.max_length, "base_model": self.base_model}
