"""The model contract, checked the same way for every approach and model kind (like scikit-learn's
``check_estimator``): save -> load gives identical probabilities, batches equal one-by-one, columns
follow ``labels``, the Predictor equals the model, declared explanations run, bad input gives the
documented error, and loading needs nothing but the manifest.

Each kind is built once per module, on first use, at toy sizes (``-k tfidf`` builds only tfidf).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import toy_frame
from sentiq.config import build_config
from sentiq.errors import DataError, EmptyTextError, ModelError
from sentiq.inference import Predictor
from sentiq.models import Manifest, SentimentModel, load_model, model_type
from sentiq.models.directory import manifest_for, write_model_directory

TEXTS = [
    "great wonderful film, i love it",
    "awful boring plot, i hate it",
    "the acting was superb :)",
    "i disliked the story and the show was dull",
    "fun",
]
KINDS = [
    "finetune",
    "tfidf",
    "tfidf-nb",
    "lexicon",
    "embedding",
    "hybrid",
    "ensemble",
    "routed",
    "onnx-fp32",
    "onnx-int8",
    "distilled",
    "pretrained",
]
# Kinds that learn the toy classes (the shared tiny BERT and what comes from it stay near chance).
LEARNED = {"tfidf", "tfidf-nb", "lexicon", "hybrid", "ensemble", "routed"}
# Dynamic int8 quantization scales activations per batch: a text's probabilities depend a little on its
# batch-mates. Every other kind computes each row on its own (up to float rounding).
BATCH_TOLERANCE = {"onnx-int8": 0.05}


class _Kinds:
    def __init__(self, root: Path, tiny_bert: Path, trained_model: Path):
        self.root, self.tiny_bert, self.trained_model = root, tiny_bert, trained_model
        self.dirs: dict[str, Path] = {}
        self.csv = root / "toy.csv"
        toy_frame(120).to_csv(self.csv, index=False)

    def config(self, **settings):
        base = {
            "name": "contract",
            "preprocess": "review",
            "data": {"source": str(self.csv), "validation_size": 0.2, "test_size": 0.2},
            "tfidf": {"min_df": 1},
            "embedding": {"encoder": str(self.tiny_bert), "max_length": 32},
            "evaluation": {"important_words": 0},
        }
        return build_config({**base, **settings})

    def train(self, name: str, **settings) -> Path:
        from sentiq.workflows import train

        return train(self.config(**settings), self.root / name).output_dir

    def __getitem__(self, kind: str) -> Path:
        if kind not in self.dirs:
            self.dirs[kind] = self._build(kind)
        return self.dirs[kind]

    def _build(self, kind: str) -> Path:
        if kind == "finetune":
            return self.trained_model
        if kind in ("tfidf", "tfidf-nb"):
            return self.train(
                kind, approach="tfidf", tfidf={"min_df": 1, "weighting": "nb" if kind == "tfidf-nb" else "tfidf"}
            )
        if kind in ("lexicon", "embedding"):
            return self.train(kind, approach=kind)
        if kind == "hybrid":
            return self.train(kind, approach="hybrid", hybrid={"parts": ["lexicon", "tfidf", "embedding"]})
        if kind == "ensemble":
            members = [str(self["tfidf"]), str(self["lexicon"])]
            return self.train(
                kind, approach="ensemble", preprocess="none", ensemble={"members": members, "method": "stacking"}
            )
        if kind == "routed":
            from sentiq.workflows import route

            return route({"en": self["tfidf"], "zh": self["tfidf-nb"]}, self.root / kind)
        if kind.startswith("onnx-"):
            from sentiq.export import export_onnx

            quantize = None if kind == "onnx-fp32" else "int8"
            return export_onnx(self.trained_model, self.root / kind, quantize=quantize, data="none").output_dir
        if kind == "distilled":
            from sentiq.training.distillation import distill, teacher_config

            cfg = teacher_config(
                self.trained_model,
                overrides=[
                    "distill.student=layers:1",
                    "training.epochs=1",
                    "distill.speed_texts=8",
                    "evaluation.important_words=2",
                ],
            )
            distill(self.trained_model, self.root / kind, config=cfg)
            return self.root / kind
        if kind == "pretrained":  # the built-in's model type, on the tiny encoder with a random head
            from sentiq.models.directory import manifest_for, write_model_directory
            from sentiq.preprocess import NoneProfile
            from test_pretrained import tiny_pretrained_model

            model = tiny_pretrained_model(self.tiny_bert, classes="binary")
            write_model_directory(
                self.root / kind, save=model.save, manifest=manifest_for(model, preprocess=NoneProfile().spec())
            )
            return self.root / kind
        raise AssertionError(kind)


@pytest.fixture(scope="module")
def kinds(tmp_path_factory, tiny_bert, trained_model) -> _Kinds:
    return _Kinds(tmp_path_factory.mktemp("contract"), tiny_bert, trained_model)


def _resave(directory: Path, target: Path, *, drop_config: bool = False) -> Path:
    """Load a directory and write it again through the model-directory writer, from what the model
    declares (manifest_fields) plus the manifest's shared fields."""
    manifest = Manifest.load(directory)
    model = load_model(directory, manifest)
    fresh = manifest_for(
        model,
        preprocess=manifest.preprocess,
        language=manifest.language,
        config={} if drop_config else manifest.config,
        temperature=manifest.temperature,
    )
    write_model_directory(target, manifest=fresh, save=model.save)
    return target


@pytest.mark.parametrize("kind", KINDS)
def test_contract(kind, kinds, tmp_path):
    directory = kinds[kind]
    predictor = Predictor.load(directory)
    model, manifest = predictor.model, predictor.manifest

    # the declared contract
    assert isinstance(model, SentimentModel) and type(model) is model_type(manifest.approach)
    assert set(model.manifest_fields()) <= set(Manifest.__dataclass_fields__)
    assert model.labels.names == tuple(manifest.labels) == ("negative", "positive")
    declared = model.capabilities
    assert (manifest.max_length is not None) == declared.encoder or kind == "hybrid"  # hybrid: only with embedding
    assert (manifest.truncation is not None) == declared.windows
    assert (predictor.languages(TEXTS)[0] is not None) == declared.languages
    assert predictor.backend == (declared.backend or manifest.approach)

    # save -> load gives identical probabilities; loading reads the manifest, never the training config
    proba = predictor.predict_proba(TEXTS)
    again = Predictor.load(_resave(directory, tmp_path / "copy", drop_config=True)).predict_proba(TEXTS)
    np.testing.assert_array_equal(proba, again)

    # a batch equals one text at a time
    single = np.vstack([predictor.predict_proba([t]) for t in TEXTS])
    np.testing.assert_allclose(proba, single, atol=BATCH_TOLERANCE.get(kind, 1e-5))

    # columns follow labels
    assert proba.shape == (len(TEXTS), 2)
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-5)
    for row, prediction in zip(proba, predictor.predict(TEXTS)):
        assert list(prediction.scores) == predictor.labels
        assert prediction.label == predictor.labels[int(row.argmax())]
    if kind in LEARNED:
        assert [p.label for p in predictor.predict(TEXTS[:2])] == ["positive", "negative"]
        assert manifest.metrics.get("accuracy", 1.0) >= 0.8  # routed keeps its members' metrics per language

    # the Predictor is the model plus the stored preprocessing (and temperature)
    raw = predictor.predict_proba(TEXTS, calibrated=False)
    texts = TEXTS if model.capabilities.own_preprocessing else predictor.profile.apply(TEXTS)
    np.testing.assert_allclose(raw, model.predict_proba(texts), atol=1e-6)

    # explanations run with the declared method
    from sentiq.explanations import explain

    explained = explain(predictor, TEXTS[0])
    assert explained.method == model.capabilities.explain
    assert explained.words and explained.label in predictor.labels

    # bad input gives the documented errors
    with pytest.raises(EmptyTextError, match=r"\[E203\] text 2 is empty"):
        predictor.predict_proba(["fine", "  "])
    with pytest.raises(DataError, match=r"text 1 is a int"):
        predictor.predict_proba([3])

    # the model card carries the headline metrics in its front matter
    from sentiq.models.card import read_front_matter

    card = read_front_matter((directory / "README.md").read_text(encoding="utf-8"))
    assert card["library_name"] == "sentiq" and card["sentiq"]["approach"] == manifest.approach
    if "accuracy" in manifest.metrics:
        values = {m["name"]: m["value"] for m in card["model-index"][0]["results"][0]["metrics"]}
        assert values["Accuracy"] == pytest.approx(manifest.metrics["accuracy"], abs=1e-6)


@pytest.mark.parametrize("kind", ["finetune", "onnx-fp32", "embedding", "pretrained"])
def test_encoder_models_refuse_a_manifest_without_max_length(kind, kinds, tmp_path):
    # Loaders used to guess (512 or 256): a wrong guess changes every long text's prediction silently.
    copy = tmp_path / "m"
    shutil.copytree(kinds[kind], copy)
    data = json.loads((copy / "sentiq.json").read_text())
    data["max_length"] = None
    (copy / "sentiq.json").write_text(json.dumps(data))
    with pytest.raises(ModelError, match=r"lacks \['max_length'\]"):
        Predictor.load(copy)


def test_a_format_1_directory_loads_through_the_compatibility_reader_with_a_warning(kinds, tmp_path, caplog):
    copy = tmp_path / "old"
    shutil.copytree(kinds["finetune"], copy)
    data = json.loads((copy / "sentiq.json").read_text())
    for name in ("max_length", "truncation", "attention", "bf16", "command"):
        data.pop(name)
    data["format_version"] = 1
    (copy / "sentiq.json").write_text(json.dumps(data))
    with caplog.at_level(logging.WARNING, logger="sentiq.models.manifest"):
        old = Predictor.load(copy)
    assert "older sentiq" in caplog.text and "max_length=32" in caplog.text
    assert old.manifest.max_length == 32 and old.manifest.truncation == "head"
    np.testing.assert_array_equal(old.predict_proba(TEXTS), Predictor.load(kinds["finetune"]).predict_proba(TEXTS))


def test_unknown_manifest_keys_survive_a_rewrite(kinds, tmp_path):
    # Other tools (file checksums, say) add keys: loading and saving (as calibrate does) keeps them.
    copy = tmp_path / "m"
    shutil.copytree(kinds["tfidf"], copy)
    data = json.loads((copy / "sentiq.json").read_text())
    data["checksums"] = {"model.joblib": "abc"}
    (copy / "sentiq.json").write_text(json.dumps(data))
    Manifest.load(copy).save(copy)
    assert json.loads((copy / "sentiq.json").read_text())["checksums"] == {"model.joblib": "abc"}


def test_a_model_type_must_declare_its_contract():
    with pytest.raises(TypeError, match="must declare approach"):

        class Undeclared(SentimentModel):  # noqa: F841
            pass
