"""Trust: explanations, temperature scaling, slices and the template fairness check."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score
from typer.testing import CliRunner

from sentiq.errors import ConfigError
from sentiq.evaluation.calibration import apply_temperature, calibration_summary, fit_temperature
from sentiq.evaluation.fairness import load_templates, shipped_languages, template_fairness_check
from sentiq.evaluation.metrics import expected_calibration_error
from sentiq.evaluation.slices import slice_masks, slice_metrics

TEXT = "the movie was not good but the acting was superb"


@pytest.fixture(scope="module")
def tfidf_model(tmp_path_factory):
    """TF-IDF on word unigrams only, so every feature is one word."""
    from conftest import train_on_toy_corpus

    return train_on_toy_corpus(
        tmp_path_factory.mktemp("tfidf"),
        {"approach": "tfidf", "preprocess": "none", "tfidf": {"min_df": 1, "word_ngrams": [1, 1]}},
    ).output_dir


# --- explanations -------------------------------------------------------------------------


def test_linear_explanation_is_tfidf_times_coefficient(tfidf_model):
    from sentiq.inference import Predictor

    predictor = Predictor.load(tfidf_model)
    explanation = predictor.explain(TEXT)
    pipeline = predictor.model.pipeline
    vectorizer = pipeline.named_steps["features"].transformer_list[0][1]
    classifier = pipeline.named_steps["classifier"]
    x = pipeline.named_steps["features"].transform([TEXT]).toarray()[0]
    sign = 1.0 if predictor.labels.index(explanation.label) == classifier.classes_[1] else -1.0
    counts = {w: TEXT.split().count(w) for w in set(TEXT.split())}
    for word, weight in explanation.pairs:
        column = vectorizer.vocabulary_[word]
        # a repeated word shares its feature's contribution between its occurrences
        assert weight == pytest.approx(sign * x[column] * classifier.coef_[0, column] / counts[word], abs=1e-6)
    logit = sign * float(classifier.decision_function(pipeline.named_steps["features"].transform([TEXT]))[0])
    total = sum(w for _, w in explanation.pairs) + explanation.details["intercept"]
    assert total == pytest.approx(logit, abs=1e-5)
    assert explanation.method == "linear" and explanation.label in predictor.labels


def test_linear_explanation_with_ngrams_sums_to_the_logit(tmp_path, tiny_config):
    from sentiq.inference import Predictor
    from sentiq.workflows import train

    train(tiny_config(**{"approach": "tfidf", "tfidf.min_df": 1, "tfidf.char_ngrams": "[2, 4]"}), tmp_path / "m")
    predictor = Predictor.load(tmp_path / "m")
    explanation = predictor.explain("the film was really good, I loved the acting")
    d = explanation.details
    assert sum(w for _, w in explanation.pairs) + d["intercept"] + d["unassigned"] == pytest.approx(
        d["logit"], abs=1e-5
    )
    proba = predictor.predict_proba(["the film was really good, I loved the acting"], calibrated=False)[0]
    target = predictor.labels.index(explanation.label)
    # binary logistic regression: the explained class's logit is its log-odds
    assert d["logit"] == pytest.approx(np.log(proba[target] / proba[1 - target]), abs=1e-4)


def test_global_words_of_a_linear_model_are_its_largest_coefficients(tfidf_model):
    from sentiq.explanations import important_words
    from sentiq.inference import Predictor

    predictor = Predictor.load(tfidf_model)
    result = important_words(predictor, top=5)
    classifier = predictor.model.pipeline.named_steps["classifier"]
    names = predictor.model.pipeline.named_steps["features"].transformer_list[0][1].get_feature_names_out()
    assert [w["word"] for w in result["classes"]["positive"]] == list(names[np.argsort(-classifier.coef_[0])[:5]])
    assert [w["word"] for w in result["classes"]["negative"]] == list(names[np.argsort(classifier.coef_[0])[:5]])
    assert result["source"] == "model coefficients"


def test_integrated_gradients_sum_to_the_logit_difference(trained_model):
    from sentiq.inference import Predictor

    explanation = Predictor.load(trained_model).explain("the movie was good and the acting superb!", n_steps=64)
    d = explanation.details
    assert explanation.method == "integrated-gradients"
    # completeness: attributions add up to logit(text) - logit(baseline)
    assert d["sum_of_attributions"] == pytest.approx(
        d["logit"] - d["baseline_logit"], abs=1e-3 + 0.02 * abs(d["logit"] - d["baseline_logit"])
    )
    assert d["delta"] < 1e-2
    # every token of the text belongs to a word, so the words carry the whole sum
    assert sum(w for _, w in explanation.pairs) == pytest.approx(d["sum_of_attributions"], abs=1e-5)
    assert [w for w, _ in explanation.pairs] == ["the", "movie", "was", "good", "and", "the", "acting", "superb", "!"]


def test_occlusion_weight_is_the_log_probability_drop(tfidf_model):
    from sentiq.inference import Predictor

    predictor = Predictor.load(tfidf_model)
    explanation = predictor.explain("a great film", method="occlusion")
    target = predictor.labels.index(explanation.label)
    full, without_great = predictor.predict_proba(["a great film", "a film"], calibrated=False)[:, target]
    assert dict(explanation.pairs)["great"] == pytest.approx(np.log(full) - np.log(without_great), abs=1e-5)


def test_lexicon_explanation_gives_lexicon_words_weight(tmp_path, tiny_config):
    from sentiq.inference import Predictor
    from sentiq.workflows import train

    train(tiny_config(approach="lexicon"), tmp_path / "lex")
    explanation = Predictor.load(tmp_path / "lex").explain("the plot was wonderful", target="positive")
    weights = dict(explanation.pairs)
    assert weights["wonderful"] > 0 and weights["the"] == 0 and weights["plot"] == 0


def test_explain_rejects_an_unknown_method_or_target(tfidf_model):
    from sentiq.explanations import explain

    with pytest.raises(ConfigError):
        explain(tfidf_model, TEXT, method="shap")
    with pytest.raises(ConfigError):
        explain(tfidf_model, TEXT, target="neutral")


def test_cli_explain_and_fairness(tfidf_model):
    from sentiq.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["explain", str(tfidf_model), TEXT])
    assert result.exit_code == 0, result.output
    assert "superb" in result.output and "linear" in result.output
    result = runner.invoke(app, ["explain", str(tfidf_model), TEXT, "--json"])
    data = json.loads(result.output)
    assert data["words"][0]["word"] == "the" and data["label"] in ("positive", "negative")
    result = runner.invoke(app, ["fairness", str(tfidf_model), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["spread"] >= 0


# --- calibration --------------------------------------------------------------------------


def _overconfident(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from true probabilities, and a model that reports those logits times 4."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, size=(n, 3))
    true = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array([rng.choice(3, p=p) for p in true])
    sharp = np.exp(4 * logits)
    return y, sharp / sharp.sum(1, keepdims=True)


def test_temperature_scaling_lowers_ece_of_an_overconfident_model():
    y_val, p_val = _overconfident(2000, 0)
    y_test, p_test = _overconfident(2000, 1)
    temperature = fit_temperature(y_val, p_val)
    assert temperature == pytest.approx(4.0, rel=0.15)  # undoes the sharpening
    before = expected_calibration_error(y_test, p_test)
    after = expected_calibration_error(y_test, apply_temperature(p_test, temperature))
    assert after < before / 3
    assert (apply_temperature(p_test, temperature).argmax(1) == p_test.argmax(1)).all()  # same predictions
    summary = calibration_summary(y_test, p_test, temperature)
    assert summary["after"]["ece"] == pytest.approx(after) and summary["before"]["ece"] == pytest.approx(before)


def test_temperature_is_skipped_without_validation_errors():
    assert fit_temperature([0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]]) is None


def test_predictor_applies_the_saved_temperature(trained_model):
    from sentiq.inference import Predictor

    predictor = Predictor.load(trained_model)
    texts = ["good film", "awful boring plot"]
    raw = predictor.predict_proba(texts, calibrated=False)
    if predictor.temperature is None:
        pytest.skip("the tiny model made no validation error, so it has no temperature")
    assert predictor.temperature > 0
    np.testing.assert_allclose(predictor.predict_proba(texts), apply_temperature(raw, predictor.temperature), atol=1e-6)


def test_calibrate_records_a_temperature_for_an_existing_model(tfidf_model, tmp_path):
    import shutil

    from sentiq.models import Manifest
    from sentiq.workflows import calibrate

    copy = tmp_path / "m"
    shutil.copytree(tfidf_model, copy)
    result = calibrate(copy, split="test")
    assert Manifest.load(copy).temperature == result["temperature"]
    assert set(result["before"]) >= {"ece", "log_loss", "bins"}


# --- slices -------------------------------------------------------------------------------


def test_builtin_slices_find_their_texts():
    texts = [
        "I do not like it",
        "It isn't good",
        "Good but long",
        "Love it 😀",
        "great :)",
        "Is it good?",
        "THIS IS THE WORST MOVIE",
        "这部电影不好看",
        "一般，但是还行",
        "plain text here",
    ]
    masks = slice_masks(texts, lengths=False)
    members = {name: [t for t, m in zip(texts, mask) if m] for name, mask in masks.items()}
    assert members["negation"] == ["I do not like it", "It isn't good", "这部电影不好看"]
    assert members["contrast"] == ["Good but long", "一般，但是还行"]
    assert members["emoji or emoticon"] == ["Love it 😀", "great :)"]
    assert members["question"] == ["Is it good?"]
    assert members["all caps"] == ["THIS IS THE WORST MOVIE"]


def test_slice_metrics_match_metrics_recomputed_on_the_subset():
    rng = np.random.default_rng(0)
    texts = [rng.choice(["it is not bad", "great fun", "but why?", "no way, awful"]) + f" {i}" for i in range(200)]
    y = rng.integers(0, 3, 200)
    proba = rng.dirichlet([1, 1, 1], 200)
    masks = slice_masks(texts, regexes={"awful": r"\bawful\b"}, columns={"flag": [i % 3 == 0 for i in range(200)]})
    rows = {r["slice"]: r for r in slice_metrics(masks, y, proba, ["a", "b", "c"])}
    pred = proba.argmax(1)
    for name in ("negation", "question", "awful", "flag"):
        mask = masks[name]
        assert rows[name]["n"] == mask.sum() > 0
        assert rows[name]["accuracy"] == pytest.approx(accuracy_score(y[mask], pred[mask]))
        labels = np.union1d(y[mask], pred[mask])
        assert rows[name]["macro_f1"] == pytest.approx(f1_score(y[mask], pred[mask], labels=labels, average="macro"))
        assert rows[name]["ece"] == pytest.approx(expected_calibration_error(y[mask], proba[mask]))
        assert rows[name]["delta_accuracy"] == pytest.approx(rows[name]["accuracy"] - accuracy_score(y, pred))
    assert rows["all"]["n"] == 200 and any(name.startswith("length ") for name in rows)


def test_a_bad_slice_regex_is_a_config_error():
    with pytest.raises(ConfigError, match="slice 'x'"):
        slice_masks(["text"], regexes={"x": "("})


# --- fairness -----------------------------------------------------------------------------


def test_shipped_templates_load_for_english_and_chinese():
    assert {"en", "zh"} <= set(shipped_languages())
    for language in ("en", "zh"):
        data = load_templates(language=language)
        assert all(len(s["groups"]) >= 2 for s in data["sets"])
    with pytest.raises(ConfigError):
        load_templates(language="xx")


def test_fairness_check_reports_the_spread_between_groups():
    templates = {
        "sets": [
            {
                "name": "names",
                "placeholder": "{p}",
                "groups": {"A": ["Ann", "Amy"], "B": ["Bob"]},
                "templates": ["{p} is here.", "I met {p}."],
            }
        ]
    }

    def biased(texts):  # scores every sentence about Bob 0.3 lower
        pos = np.array([0.4 if "Bob" in t else 0.7 for t in texts])
        return np.column_stack([1 - pos, pos])

    result = template_fairness_check(biased, ["negative", "positive"], templates=templates)
    item = result["sets"][0]
    assert result["spread"] == pytest.approx(0.3) and item["lowest"] == "B" and item["highest"] == "A"
    assert item["group_means"] == pytest.approx({"A": 0.7, "B": 0.4}) and item["sentences"] == 6
    assert item["templates_with_label_flips"] == 2  # 0.4 is negative, 0.7 positive
    fair = template_fairness_check(
        lambda texts: np.tile([0.2, 0.8], (len(texts), 1)), ["neg", "pos"], templates=templates
    )
    assert fair["spread"] == 0


def test_fairness_on_a_real_model(trained_model):
    from sentiq.workflows import fairness_check as check

    result = check(trained_model)
    assert result["score"] == "P(positive)" and len(result["sets"]) == 2
    assert result["spread"] >= 0 and all(len(s["group_means"]) >= 2 for s in result["sets"])


# --- report -------------------------------------------------------------------------------


def test_training_report_shows_calibration_slices_words_and_fairness(trained_model):
    html = (trained_model / "report" / "report.html").read_text(encoding="utf-8")
    for heading in (
        "<h2>Calibration</h2>",
        "<h2>Slices</h2>",
        "<h2>Important words</h2>",
        "<h2>Fairness (template check)</h2>",
    ):
        assert heading in html
    assert "negation" in html and "integrated-gradients" in html
    metrics = json.loads((trained_model / "report" / "metrics.json").read_text())
    assert metrics["slices"][0]["slice"] == "all" and metrics["fairness"]["spread"] >= 0
    assert set(metrics["important_words"]["classes"]) == {"negative", "positive"}


def test_report_compares_calibration_before_and_after(tmp_path):
    from sentiq.evaluation import write_report

    y, proba = _overconfident(300, 2)
    texts = [f"text number {i}" for i in range(300)]
    write_report(
        tmp_path / "r",
        texts=texts,
        y_true=y,
        proba=apply_temperature(proba, 4.0),
        labels=["a", "b", "c"],
        uncalibrated_proba=proba,
        temperature=4.0,
    )
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "before temperature scaling" in html and "T = 4.000" in html
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["calibration"]["after"]["ece"] < metrics["calibration"]["before"]["ece"]


def test_slice_columns_travel_from_the_data_to_the_report(tmp_path, tiny_config):
    from conftest import toy_frame
    from sentiq.workflows import train

    frame = toy_frame(120)
    frame["sarcastic"] = ["yes" if i % 4 == 0 else "no" for i in range(len(frame))]
    frame.to_csv(tmp_path / "toy.csv", index=False)
    cfg = tiny_config(
        **{
            "approach": "tfidf",
            "tfidf.min_df": 1,
            "data.source": str(tmp_path / "toy.csv"),
            "evaluation.slice_columns": "[sarcastic]",
            "evaluation.slices": "{movies: movie}",
        }
    )
    train(cfg, tmp_path / "m")
    metrics = json.loads((tmp_path / "m" / "report" / "metrics.json").read_text())
    rows = {r["slice"]: r for r in metrics["slices"]}
    assert 0 < rows["sarcastic"]["n"] < rows["all"]["n"] and rows["movies"]["n"] > 0


def test_evaluation_and_linear_explanations_stay_torch_free():
    import os
    import subprocess
    import sys

    code = (
        "import sys, sentiq.evaluation.report, sentiq.evaluation.slices, sentiq.evaluation.fairness, "
        "sentiq.evaluation.calibration, sentiq.explanations, sentiq.explanations.linear, sentiq.explanations.lexicon, "
        "sentiq.explanations.occlusion, sentiq.inference.predictor; "
        "bad = [m for m in ('torch', 'transformers', 'captum') if m in sys.modules]; assert not bad, bad"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_important_words_contrast_classes_so_filler_words_cancel():
    from sentiq.explanations import Explanation, WordWeight, _aggregate

    def e(label, words):
        return Explanation(
            text="", label=label, score=0.9, method="x", words=[WordWeight(w, 0, 0, v) for w, v in words]
        )

    explanations = [
        e("pos", [("the", 0.5), ("great", 2.0)]),
        e("pos", [("the", 0.5), ("fun", 1.0)]),
        e("neg", [("the", 0.5), ("awful", 3.0)]),
    ]
    result = _aggregate(explanations, ["neg", "pos"], top=5)
    assert [w["word"] for w in result["pos"]] == ["great", "fun"]  # "the" helps both sides alike
    assert result["pos"][0]["weight"] == pytest.approx(1.0) and result["pos"][0]["count"] == 1
    assert [w["word"] for w in result["neg"]] == ["awful"] and result["neg"][0]["weight"] == pytest.approx(3.0)


def test_linear_explanation_of_nb_weighted_ngrams_sums_to_the_logit(tmp_path, tiny_config):
    from sentiq.inference import Predictor
    from sentiq.workflows import train

    train(tiny_config(**{"approach": "tfidf", "tfidf.min_df": 1, "tfidf.weighting": "nb"}), tmp_path / "m")
    predictor = Predictor.load(tmp_path / "m")
    text = "the film was really good, I loved the acting"
    e = predictor.explain(text)
    d = e.details
    assert sum(w for _, w in e.pairs) + d["intercept"] + d["unassigned"] == pytest.approx(d["logit"], abs=1e-5)
    proba = predictor.predict_proba([text], calibrated=False)[0]
    target = predictor.labels.index(e.label)
    assert d["logit"] == pytest.approx(np.log(proba[target] / proba[1 - target]), abs=1e-4)
